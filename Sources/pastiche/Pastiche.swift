import ArgumentParser
import Foundation
import PasticheCore

/// The `pastiche` command. Each subcommand is one file in Subcommands/ (options several commands
/// share are in Options/, printing helpers in Support/); each only parses arguments,
/// calls the libraries and prints. Errors become one line on stderr and a non-zero exit.
@main
struct Pastiche: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pastiche",
        abstract: "Arbitrary neural style transfer (Ghiasi et al. 2017) with a reusable style library.",
        discussion: """
            Models and the style library live in $PASTICHE_HOME (default ~/.pastiche); every command \
            that uses them takes --model PATH and --library PATH to override. `-o -` writes to stdout.
            """,
        version: PasticheVersion.string,
        subcommands: registeredSubcommands
    )

    static func main() {
        Gemm.useSingleThreadedBLAS()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version: the full text, on stdout.
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            var line = (fileSystemMessage(error) ?? message(for: error)).split(separator: "\n").first.map(String.init) ?? "\(error)"
            if line.isEmpty { line = "\(error)" }
            FileHandle.standardError.write(Data("pastiche: error: \(line)\n".utf8))
            Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}

/// Foundation's file errors as "PATH: reason" (their own text is a dump of the error's domain,
/// code and user info).
func fileSystemMessage(_ error: Error) -> String? {
    guard let e = error as? CocoaError else { return nil }
    let path = e.filePath ?? e.url?.path ?? "file"
    if let posix = e.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
        return "\(path): \(String(cString: strerror(Int32(posix.code))))"
    }
    let reason: String
    switch e.code {
    case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file or directory"
    case .fileWriteFileExists: reason = "already exists"
    case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
    case .fileWriteOutOfSpace: reason = "no space left on the device"
    case .fileWriteVolumeReadOnly: reason = "read-only file system"
    case .fileReadCorruptFile: reason = "cannot be read"
    default: reason = "file operation failed (code \(e.code.rawValue))"
    }
    return "\(path): \(reason)"
}

enum PasticheVersion {
    static let string = "0.1.0"
}

/// Every top-level subcommand, in the order `--help` lists them.
let registeredSubcommands: [ParsableCommand.Type] = [
    StylizeCommand.self,
    BlendCommand.self,
    InterpolateCommand.self,
    EmbedCommand.self,
    ModelCommand.self,
    BenchCommand.self,
    DoctorCommand.self,
    ImageCommand.self,
    TrainCommand.self,
    EvalCommand.self,
    DataCommand.self,
]
