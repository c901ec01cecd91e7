import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Tag: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add (or with --remove, remove) tags.")
        @Argument var name: String
        @Argument var tags: [String]
        @Flag(help: "Remove the tags instead.") var remove = false
        @OptionGroup var library: LibraryOptions
        func validate() throws { if tags.isEmpty { throw ValidationError("give at least one tag") } }
        func run() throws {
            let store = try library.existing().store
            let r = remove ? try store.removeTags(name, tags) : try store.addTags(name, tags)
            print("\(r.name)\t\(r.tags.joined(separator: ","))")
        }
    }
}
