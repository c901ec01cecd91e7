import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove styles (all or none).")
        @Argument var names: [String]
        @OptionGroup var library: LibraryOptions
        func validate() throws { if names.isEmpty { throw ValidationError("give at least one name") } }
        func run() throws {
            try library.existing().store.remove(names)
            for n in names { print("removed \(n)") }
        }
    }
}
