import ArgumentParser
import Foundation
import PasticheCore
import PasticheDistributed
import PasticheLibrary

/// The `pastiche` command. Each subcommand is one file in Subcommands/ (options several commands
/// share are in Options/, printing helpers in Support/); each only parses arguments,
/// calls the libraries and prints. Errors become one line on stderr and a non-zero exit.
@main
struct Pastiche: AsyncParsableCommand {
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

    static func main() async {
        Gemm.useSingleThreadedBLAS()
        do {
            var command = try parseAsRoot()
            // `serve` is async (Hummingbird); every other command is synchronous work.
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version: the full text, on stdout.
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let arguments = Array(CommandLine.arguments.dropFirst())
            var line = (unknownOption(arguments) ?? unknownSubcommand(arguments) ?? fileSystemMessage(error)
                ?? message(for: error)).split(separator: "\n").first.map(String.init) ?? "\(error)"
            if line.isEmpty { line = "\(error)" }
            // One rank of an MPI job: bad arguments are the same on every rank, so rank 0 alone
            // reports them; any other failure is this rank's own, and says which rank it is.
            if let launch = Launch.fromEnvironment(), launch.size > 1 {
                if code == .validationFailure {
                    if launch.rank != 0 { Foundation.exit(code.rawValue) }
                } else {
                    line = "rank \(launch.rank): \(line)"
                }
            }
            FileHandle.standardError.write(Data("pastiche: error: \(line)\n".utf8))
            Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}

extension Pastiche {
    /// ArgumentParser runs a command's `validate()` before it reports options it did not
    /// recognise, so a misspelt flag would surface as some other complaint ("give exactly one of
    /// …"); this finds it first: a `--name` the (sub)command's help does not list.
    static func unknownOption(_ args: [String]) -> String? {
        var command: ParsableCommand.Type = Pastiche.self
        var rest = args[...]
        while let next = rest.first, let sub = command.configuration.subcommands.first(where: { $0._commandName == next }) {
            command = sub
            rest = rest.dropFirst()
        }
        let help = helpMessage(for: command)
        var known: Set<String> = ["--help", "--version", "--experimental-dump-help"]
        var i = help.startIndex
        while let r = help.range(of: "--", range: i..<help.endIndex) {
            var end = r.upperBound
            while end < help.endIndex, help[end].isLetter || help[end].isNumber || help[end] == "-" { end = help.index(after: end) }
            known.insert(String(help[r.lowerBound..<end]))
            i = end
        }
        for arg in rest {
            if arg == "--" { break }
            guard arg.hasPrefix("--"), arg.count > 2 else { continue }
            let name = String(arg.split(separator: "=", maxSplits: 1)[0])
            if known.contains(name) { continue }
            let closest = known.filter { $0.count > 3 }.min { editDistance($0, name) < editDistance($1, name) }
            let hint = closest.map { editDistance($0, name) <= 2 ? " Did you mean '\($0)'?" : "" } ?? ""
            return "Unknown option '\(name)'.\(hint)"
        }
        return nil
    }
}

extension Pastiche {
    /// A word where a command group (`pastiche`, `pastiche embed`, …) expects one of its
    /// subcommands: one line naming it, with the closest subcommand when one is close
    /// (`pastiche stylze` → 'stylize'), where ArgumentParser only says "unexpected arguments".
    static func unknownSubcommand(_ args: [String]) -> String? {
        var subcommands = Pastiche.configuration.subcommands
        var path = "pastiche"
        for arg in args {
            if subcommands.isEmpty || arg.hasPrefix("-") { return nil }
            let names = subcommands.map { $0._commandName }
            if let i = names.firstIndex(of: arg) {
                subcommands = subcommands[i].configuration.subcommands
                path += " " + arg
                continue
            }
            let closest = names.min { editDistance($0, arg) < editDistance($1, arg) }
            let hint = closest.map { editDistance($0, arg) <= 2 ? " Did you mean '\($0)'?" : "" } ?? ""
            return "'\(arg)' is not a command of \(path).\(hint) Commands: \(names.joined(separator: ", "))."
        }
        return nil
    }
}

/// Foundation's file errors as "PATH: reason" (their own text is a dump of the error's domain,
/// code and user info).
func fileSystemMessage(_ error: Error) -> String? {
    guard let e = error as? CocoaError else { return nil }
    let path = e.filePath ?? e.url?.path ?? "file"
    if let posix = e.underlying as? POSIXError {
        return "\(path): \(String(cString: strerror(posix.code.rawValue)))"
    }
    if let underlying = e.underlying.map({ $0 as NSError }), underlying.domain == NSPOSIXErrorDomain {
        return "\(path): \(String(cString: strerror(Int32(underlying.code))))"
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
    OptimizeCommand.self,
    VideoCommand.self,
    EmbedCommand.self,
    ServeCommand.self,
    ModelCommand.self,
    BenchCommand.self,
    DoctorCommand.self,
    ImageCommand.self,
    TrainCommand.self,
    EvalCommand.self,
    DataCommand.self,
]
