import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one style's record.")
        @Argument var name: String
        @Flag(help: "Include the 100 embedding values.") var vector = false
        @Flag(help: "Print as JSON.") var json = false
        @OptionGroup var library: LibraryOptions

        func run() throws {
            let r = try StyleLibrary(path: library.path, readOnly: true).store.get(name)
            let view = StyleView(r, vector: vector)
            if json { try Terminal.printJSON(view); return }
            print("name:      \(view.name)")
            // A blend has no source image: its recipe (below) says what it is made of.
            if view.recipe == nil || view.width > 0 {
                print("source:    \(view.source) (\(view.width)×\(view.height))")
            } else {
                print("source:    a blend of library styles (no image)")
            }
            print("added:     \(view.added)")
            print("model id:  \(view.modelID)")
            print("tags:      \(view.tags.joined(separator: ", "))")
            if let recipe = view.recipe { print("recipe:    " + recipe.map { "\($0.name) × \($0.weight)" }.joined(separator: " + ")) }
            print("thumbnail: \(r.thumbnail.count) bytes")
            if vector { print("embedding: " + r.embedding.map { String($0) }.joined(separator: " ")) }
        }
    }
}
