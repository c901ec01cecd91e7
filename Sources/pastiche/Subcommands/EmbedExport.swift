import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the whole library as portable JSON (bit-exact embeddings), or as a NumPy .npz.",
            discussion: """
                --format npz writes names, embeddings [K, 100] float32, predictor_ids and tags as \
                arrays that numpy.load reads directly, to feed the graphs of `pastiche model export`. \
                The format follows a .npz file name unless given.
                """)
        enum Format: String, ExpressibleByArgument, CaseIterable { case json, npz }

        @Argument(help: ArgumentHelp("Output file, or - for stdout (or give it as -o).", valueName: "file")) var outputArgument: String?
        @Option(name: .shortAndLong, help: "Output file, or - for stdout.") var output: String?
        @Option(help: "json or npz (default: npz for a .npz file name, else json).") var format: Format?
        @OptionGroup var library: LibraryOptions

        var file: String { (try? chosenOutput(argument: outputArgument, option: output, name: "FILE")) ?? "-" }
        var chosenFormat: Format { format ?? (file.lowercased().hasSuffix(".npz") ? .npz : .json) }

        func validate() throws {
            _ = try chosenOutput(argument: outputArgument, option: output, name: "FILE")
            if format == .json && file.lowercased().hasSuffix(".npz") {
                throw ValidationError("\(file) is named .npz but --format is json")
            }
        }

        func run() throws {
            let store = try StyleLibrary(path: library.path, readOnly: true).store
            let (data, damaged) = chosenFormat == .npz ? try store.exportNPZ() : try store.exportJSON()
            if file == "-" {
                FileHandle.standardOutput.write(data)
            } else {
                try AtomicFile.write(data, to: file)
                Terminal.note("exported to \(file)")
            }
            try DamagedRecordsLeftOut.check(damaged)
        }
    }
}
