import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What one finished child process produced.
public struct ProcessResult {
    public let executable: String
    public let arguments: [String]
    public let status: Int32
    /// Ended by a signal (`status` is then the signal's number).
    public let signaled: Bool
    /// With `combineOutput`, stdout and stderr interleaved as written.
    public let stdout: Data
    public let stderr: String
    /// From the start to the end of `wait()`.
    public let seconds: Double

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Non-empty stderr lines.
    public var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    /// The command as typed: the executable's file name and the arguments.
    public var command: String { ([(executable as NSString).lastPathComponent] + arguments).joined(separator: " ") }
    public var summary: String { "`\(command)` exited \(status)\(signaled ? " (signal)" : ""); stderr: \(stderr.debugDescription)" }
}

/// A child process started by `ProcessRunner.start`. Its stdout and stderr go to files, not
/// pipes, so a child that writes a lot never blocks on a reader, and what it has written so far
/// can be read while it runs (`stdoutSoFar`).
public final class RunningProcess {
    public let process: Process
    public let executable: String
    public let arguments: [String]
    public let stdoutPath: String
    /// The same file as `stdoutPath` when the output is combined.
    public let stderrPath: String
    public let started: Date
    private var result: ProcessResult?

    init(process: Process, executable: String, arguments: [String], stdoutPath: String, stderrPath: String, started: Date) {
        self.process = process; self.executable = executable; self.arguments = arguments
        self.stdoutPath = stdoutPath; self.stderrPath = stderrPath; self.started = started
    }

    public var pid: pid_t { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` (SIGINT, SIGTERM, SIGKILL …) if the process is still running.
    public func signal(_ signal: Int32) {
        if process.isRunning { kill(pid, signal) }
    }

    /// The stdout written so far.
    public func stdoutSoFar() -> String {
        (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
    }

    /// Waits for the end and returns what the process wrote (its files are then removed).
    /// Calling it again returns the same result.
    public func wait() throws -> ProcessResult {
        if let result { return result }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        let out = try Data(contentsOf: URL(fileURLWithPath: stdoutPath))
        let err = stderrPath == stdoutPath ? Data() : try Data(contentsOf: URL(fileURLWithPath: stderrPath))
        removeFiles()
        let r = ProcessResult(executable: executable, arguments: arguments, status: process.terminationStatus,
                              signaled: process.terminationReason == .uncaughtSignal,
                              stdout: out, stderr: String(decoding: err, as: UTF8.self), seconds: seconds)
        result = r
        return r
    }

    private func removeFiles() {
        try? FileManager.default.removeItem(atPath: stdoutPath)
        if stderrPath != stdoutPath { try? FileManager.default.removeItem(atPath: stderrPath) }
    }

    deinit { if result == nil { removeFiles() } }
}

/// The one way the tests start a child process: the test bundle itself, `pastiche`, mpirun,
/// python3, ffmpeg and other tools.
public enum ProcessRunner {
    /// Starts `executable arguments` (a path, not looked up in $PATH: use /usr/bin/env for that).
    /// - environment: the child's whole environment; nil inherits this process's.
    /// - stdin: a file to read; nil gives /dev/null.
    /// - directory: the working directory; nil keeps this process's.
    /// - outputDirectory: where the stdout and stderr files go (a test's scratch folder, so that
    ///   they go with it); nil: the system's temporary folder.
    /// - combineOutput: stderr into the stdout file, interleaved (`ProcessResult.stderr` is empty).
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                             stdin: String? = nil, directory: String? = nil, outputDirectory: String? = nil,
                             combineOutput: Bool = false) throws -> RunningProcess {
        let folder = outputDirectory ?? NSTemporaryDirectory()
        let id = UUID().uuidString
        let base = folder.hasSuffix("/") ? folder : folder + "/"
        let outPath = base + (combineOutput ? ".output-\(id)" : ".stdout-\(id)")
        let errPath = combineOutput ? outPath : base + ".stderr-\(id)"
        for path in Set([outPath, errPath]) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        p.standardOutput = out
        p.standardError = combineOutput ? out : try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        if let stdin {
            guard let input = FileHandle(forReadingAtPath: stdin) else {
                throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: stdin])
            }
            p.standardInput = input
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        let t0 = Date()
        do {
            try p.run()
        } catch {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
            throw error
        }
        return RunningProcess(process: p, executable: executable, arguments: arguments,
                              stdoutPath: outPath, stderrPath: errPath, started: t0)
    }

    /// `start` and `wait`.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           stdin: String? = nil, directory: String? = nil, outputDirectory: String? = nil,
                           combineOutput: Bool = false) throws -> ProcessResult {
        try start(executable, arguments, environment: environment, stdin: stdin, directory: directory,
                  outputDirectory: outputDirectory, combineOutput: combineOutput).wait()
    }
}
