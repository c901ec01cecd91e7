import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the whole library as portable JSON (bit-exact embeddings).")
        @Argument(help: "Output file, or - for stdout.") var file: String
        @OptionGroup var library: LibraryOptions
        func run() throws {
            let (data, damaged) = try StyleLibrary(path: library.path, readOnly: true).store.exportJSON()
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
