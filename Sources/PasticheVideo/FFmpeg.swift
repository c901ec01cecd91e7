import Foundation

/// A video failure, one line: the file and ffmpeg's own reason where ffmpeg gave one.
public struct VideoError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) {
        self.description = description.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}

/// ffmpeg and ffprobe from PATH (Debian's `ffmpeg` package), run as child processes whose
/// video travels through raw RGB pipes: decoding and encoding are ffmpeg's own.
public struct FFmpeg: Sendable {
    public let ffmpeg: String
    public let ffprobe: String

    /// Finds both tools on `PATH`; a missing one is named with the Debian package.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FFmpeg {
        let dirs = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        func find(_ tool: String) throws -> String {
            for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/" + tool) { return d + "/" + tool }
            throw VideoError("\(tool) is not installed (it comes with Debian's ffmpeg package: apt-get install ffmpeg)")
        }
        return FFmpeg(ffmpeg: try find("ffmpeg"), ffprobe: try find("ffprobe"))
    }

    /// Runs a tool to completion and returns its stdout; a failure is its last stderr line.
    func run(_ tool: String, _ arguments: [String], what: String) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Both pipes are drained before waiting, so a chatty child cannot block on a full pipe.
        let errData = Locked(Data())
        let errDone = DispatchSemaphore(value: 0)
        Thread {
            errData.value = err.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }.start()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        errDone.wait()
        guard p.terminationStatus == 0 else {
            throw VideoError("\(what): \(Self.reason(errData.value))")
        }
        return data
    }

    /// The last meaningful line ffmpeg wrote to stderr, without the input path it repeats; a
    /// failed write (a full disk above all) is said as such.
    static func reason(_ stderr: Data) -> String {
        if let failure = writeFailure(stderr) { return failure }
        let lines = String(decoding: stderr, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard var line = lines.last else { return "ffmpeg failed" }
        if line.hasPrefix("Conversion failed"), lines.count > 1 { line = lines[lines.count - 2] }
        return line
    }

    /// What ffmpeg said when it could not write its output. ffmpeg 5.1 exits 0 after "Error
    /// writing trailer of OUT: No space left on device", leaving a file without its index (an
    /// mp4 without its moov atom does not play), so the exit status alone cannot be trusted.
    static func writeFailure(_ stderr: Data) -> String? {
        let lines = String(decoding: stderr, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        if lines.contains(where: { $0.contains("No space left on device") }) {
            return "no space left on device (ffmpeg could not finish writing the video)"
        }
        let markers = ["Error writing trailer", "Error submitting a packet to the muxer", "av_interleaved_write_frame()",
                       "Error closing file", "Error writing"]
        guard let line = lines.last(where: { line in markers.contains { line.contains($0) } }) else { return nil }
        return "ffmpeg could not write the video: " + line.trimmingCharacters(in: .whitespaces)
    }
}

/// A child ffmpeg with one pipe end held by us: frames are read from its stdout (decoder) or
/// written to its stdin (encoder); its stderr is kept for the error message.
final class FFmpegProcess {
    let process = Process()
    private let stdoutPipe = Pipe(), stdinPipe = Pipe(), stderrPipe = Pipe()
    private var stderrData = Data()
    private let stderrLock = NSLock()
    private var stderrReader: Thread?

    init(tool: String, arguments: [String], reading: Bool) throws {
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-hide_banner", "-loglevel", "error", "-nostdin"] + arguments
        if reading {
            process.standardOutput = stdoutPipe
            process.standardInput = FileHandle.nullDevice
        } else {
            process.standardInput = stdinPipe
            process.standardOutput = FileHandle.nullDevice
        }
        process.standardError = stderrPipe
        try process.run()
        let handle = stderrPipe.fileHandleForReading
        stderrReader = Thread { [weak self] in
            let data = handle.readDataToEndOfFile()
            self?.stderrLock.withLock { self?.stderrData = data }
        }
        stderrReader?.start()
    }

    /// Reads exactly `count` bytes; nil at a clean end of stream before any byte.
    func read(count: Int) throws -> [UInt8]? {
        let fd = stdoutPipe.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        if got == 0 { return nil }
        guard got == count else { throw VideoError("ffmpeg ended in the middle of a frame (\(got) of \(count) bytes)") }
        return buffer
    }

    func write(_ bytes: [UInt8]) throws {
        let fd = stdinPipe.fileHandleForWriting.fileDescriptor
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + sent, bytes.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw VideoError("the encoder stopped taking frames: \(finishReason())") }
            sent += n
        }
    }

    func closeInput() { try? stdinPipe.fileHandleForWriting.close() }

    /// Waits for the child; throws ffmpeg's reason when it failed, or when it exited 0 but
    /// said it could not write (`FFmpeg.writeFailure`).
    func finish(what: String) throws {
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw VideoError("\(what): \(finishReason())") }
        if let failure = FFmpeg.writeFailure(allStderr()) { throw VideoError("\(what): \(failure)") }
    }

    func terminate() { if process.isRunning { process.terminate() } }

    private func finishReason() -> String { FFmpeg.reason(allStderr()) }

    /// Everything the child wrote to stderr, once it has exited and the reader has drained it.
    private func allStderr() -> Data {
        process.waitUntilExit()
        while let r = stderrReader, !r.isFinished { usleep(1000) }
        return stderrLock.withLock { stderrData }
    }
}
