import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add the styles of an exported JSON file.")
        @Argument(help: "File written by `embed export` (- for stdin).") var file: String
        @Flag(help: "Replace styles with the same name.") var overwrite = false
        @OptionGroup var library: LibraryOptions
        func run() throws {
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
            let s = try StyleLibrary(path: library.path).store.importJSON(data, overwrite: overwrite)
            print("imported: \(s.added) added, \(s.replaced) replaced, \(s.skipped) skipped")
        }
    }
}
