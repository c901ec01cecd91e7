import ArgumentParser
import Dispatch
import Foundation
import PasticheLibrary
import PasticheStudio

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run Pastiche Studio: browse, mix and render library styles in a web page.",
        discussion: """
            Prints the studio's URL and serves until Ctrl-C (or SIGTERM), then shuts down cleanly. \
            The studio uses the same library as the CLI, so styles added on either side show on \
            the other. It listens on 127.0.0.1 unless --host says otherwise; any other host needs \
            a token, which is made up and printed in the URL (or give --token). Docs: docs/studio.md.
            """
    )

    @Option(help: "Address to listen on (127.0.0.1: this machine only).") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 8750
    @Option(help: "Require this token on every request (made up when --host is not loopback).") var token: String?
    @Flag(help: "Open the studio in the default browser (xdg-open).") var open = false
    @Option(name: .customLong("max-body"), help: "Largest request body in MB (larger: 413).") var maxBody = 64
    @Option(name: .customLong("photo-cache"), help: "Memory for uploaded photos in MB (least recently used dropped first).")
    var photoCache = 768
    @Option(name: .customLong("max-queue"), help: "Renders allowed to wait at once (more: 503).") var maxQueue = 16
    @Option(name: .customLong("idle-timeout"), help: "Close connections silent for this many seconds (idle, or part-way through a request).")
    var idleTimeout = 60
    @Option(name: .customLong("shutdown-grace"), help: "Seconds Ctrl-C / SIGTERM waits for requests in flight before stopping anyway.")
    var shutdownGrace = 5
    @OptionGroup var tiling: TileOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535, got \(port)") }
        guard !host.isEmpty else { throw ValidationError("--host must not be empty") }
        guard (1...4096).contains(maxBody) else { throw ValidationError("--max-body must be from 1 to 4096 MB, got \(maxBody)") }
        guard (16...1 << 20).contains(photoCache) else { throw ValidationError("--photo-cache must be from 16 to 1048576 MB, got \(photoCache)") }
        guard (1...1024).contains(maxQueue) else { throw ValidationError("--max-queue must be from 1 to 1024, got \(maxQueue)") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be from 1 to 3600 seconds, got \(idleTimeout)") }
        guard (0...600).contains(shutdownGrace) else { throw ValidationError("--shutdown-grace must be from 0 to 600 seconds, got \(shutdownGrace)") }
        if let token, token.count < 8 || !token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }) {
            throw ValidationError("--token must be at least 8 letters, digits, '-' or '_'")
        }
    }

    func run() async throws {
        var config = StudioConfiguration()
        config.host = host
        config.port = port
        config.token = token ?? (StudioConfiguration.isLoopback(host) ? nil : StudioServer.makeToken())
        config.maxBodyBytes = maxBody << 20
        config.photoCacheBytes = photoCache << 20
        config.maxQueuedJobs = maxQueue
        config.idleTimeoutSeconds = idleTimeout
        config.shutdownGraceSeconds = shutdownGrace
        let assets = try WebAssets.load()
        let stylizer = try model.loadStylizer(options: tiling.options)
        let studio = Studio(configuration: config, library: try StyleLibrary(path: library.path), stylizer: stylizer)
        let openBrowser = open

        // The last resort after a stop signal: requests in flight are cancelled after the grace
        // period (StudioServer); should anything still hold the process a few seconds later,
        // it exits here. LMDB commits are atomic, so the library is its last committed state.
        let watchdog = StopWatchdog(after: shutdownGrace + 5)
        defer { watchdog.cancel() }
        do {
            try await StudioServer.run(studio: studio, assets: assets) { url in
                print("Pastiche Studio: \(url)")
                fflush(stdout)
                Terminal.note("serving \(studio.configuration.host) until Ctrl-C")
                if openBrowser { Self.openInBrowser(url) }
            }
        } catch {
            throw ServeError(host: host, port: port, underlying: error)
        }
        Terminal.note("studio stopped")
    }

    static func openInBrowser(_ url: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["xdg-open", url]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { Terminal.note("could not open a browser (\(error)); open \(url) by hand") }
    }
}

/// Exits the process a fixed time after the first SIGINT or SIGTERM, if it is still running.
final class StopWatchdog {
    private var sources: [DispatchSourceSignal] = []

    init(after seconds: Int) {
        for sig in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds)) {
                    FileHandle.standardError.write(Data("pastiche: studio stopped; requests still in flight were abandoned\n".utf8))
                    Foundation.exit(0)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() { for s in sources { s.cancel() } }
}

/// A listener that could not start, as one line (NIO's own error text names the errno).
struct ServeError: Error, CustomStringConvertible {
    let host: String, port: Int, underlying: Error
    var description: String {
        let reason = "\(underlying)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(underlying)"
        return "cannot serve on \(host):\(port): \(reason)"
    }
}
