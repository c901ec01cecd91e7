import Foundation
import XCTest
import PasticheTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP response, read off a real socket.
struct HTTPReply {
    let status: Int
    let headers: [String: String]   // lower-cased names
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var error: String? { object["error"] as? String }
}

/// A deliberately small HTTP/1.1 client over a POSIX socket: it sends exactly the bytes it is
/// given (so tests can send malformed requests a real client library would refuse to), and
/// reads until the server closes the connection.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// nil when the server closed the connection without answering.
    static func send(port: Int, _ bytes: [UInt8], timeout: Int = 120) throws -> HTTPReply? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw Failure(description: "connect to port \(port): errno \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the server may stop reading an over-long body and answer early
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        return response.isEmpty ? nil : try parse(response)
    }

    static func parse(_ r: [UInt8]) throws -> HTTPReply {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0...(max(0, r.count - 4))).first(where: { Array(r[$0..<min(r.count, $0 + 4)]) == separator }) else {
            throw Failure(description: "no end of headers in \(r.count) bytes")
        }
        let head = String(decoding: r[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(head[0])") }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(r[(end + 4)...])
        if let n = headers["content-length"].flatMap(Int.init), n <= body.count { body = Array(body[0..<n]) }
        return HTTPReply(status: status, headers: headers, body: body)
    }

    static func request(port: Int, _ method: String, _ path: String, headers: [String: String] = [:],
                        body: [UInt8]? = nil, host: String? = nil) throws -> HTTPReply {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        guard let reply = try send(port: port, Array(head.utf8) + (body ?? [])) else {
            throw Failure(description: "\(method) \(path): the server closed the connection without answering")
        }
        return reply
    }
}

/// `pastiche serve` running on a free port for one test; `stop()` sends SIGINT like Ctrl-C.
final class StudioProcess {
    let running: RunningCLI
    let port: Int
    let url: String

    init(_ arguments: [String], scratch: String) throws {
        running = try CLI.start(["serve", "--port", "0"] + arguments, scratch: scratch)
        let deadline = Date().addingTimeInterval(60)
        var found: String?
        while Date() < deadline {
            let out = running.stdoutSoFar()
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("Pastiche Studio: ") }) {
                found = String(line.dropFirst("Pastiche Studio: ".count))
                break
            }
            if !running.isRunning { break }
            usleep(50_000)
        }
        guard let found, let portText = found.split(separator: ":").last?.split(separator: "/").first,
              let port = Int(portText) else {
            running.signal(SIGTERM)
            let r = try running.wait()
            throw RawHTTP.Failure(description: "serve did not print its URL: \(r.summary)")
        }
        self.url = found
        self.port = port
    }

    func request(_ method: String, _ path: String, json: Any? = nil, body: [UInt8]? = nil,
                 headers: [String: String] = [:]) throws -> HTTPReply {
        var h = headers
        var b = body
        if let json {
            b = Array(try JSONSerialization.data(withJSONObject: json))
            h["Content-Type"] = "application/json"
        }
        return try RawHTTP.request(port: port, method, path, headers: h, body: b)
    }

    func get(_ path: String) throws -> HTTPReply { try request("GET", path) }

    var isRunning: Bool { running.isRunning }

    @discardableResult
    func stop() throws -> CLIResult {
        running.signal(SIGINT)
        return try running.wait()
    }

    deinit { running.signal(SIGKILL) }
}
