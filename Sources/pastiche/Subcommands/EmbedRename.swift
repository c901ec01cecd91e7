import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a style (blend recipes follow).")
        @Argument var old: String
        @Argument var new: String
        @OptionGroup var library: LibraryOptions
        func run() throws {
            let r = try library.existing().store.rename(old, to: new)
            print("renamed \(old) to \(r.name)")
        }
    }
}
