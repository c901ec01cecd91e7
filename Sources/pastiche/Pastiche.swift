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
            var line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            if line.isEmpty { line = "\(error)" }
            FileHandle.standardError.write(Data("pastiche: error: \(line)\n".utf8))
            Foundation.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
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
