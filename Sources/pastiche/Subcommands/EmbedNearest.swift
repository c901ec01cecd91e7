import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Nearest: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The styles closest to a style or image (cosine distance of embeddings).")
        @Argument(help: "A library name or an image file.") var style: String
        @Option(name: .short, help: "How many.") var k: Int = 5
        @Flag(help: "Print as JSON.") var json = false
        @OptionGroup var model: ModelOptions
        @OptionGroup var library: LibraryOptions

        func validate() throws { guard k > 0 else { throw ValidationError("-k must be positive") } }

        struct Row: Codable { let name: String; let distance: Float }

        func run() throws {
            let lib = try StyleLibrary(path: library.path, readOnly: true)
            let embedding: Embedding
            var exclude: String?
            if try lib.store.contains(style) {
                embedding = try lib.store.get(style).embedding
                exclude = style
            } else if FileManager.default.fileExists(atPath: style) {
                embedding = try model.loadStylizer().embedding(style: try ImageIO.read(path: style))
            } else {
                _ = try lib.store.get(style)
                return
            }
            let rows = try lib.store.nearest(to: embedding, k: k, excluding: exclude).map { Row(name: $0.record.name, distance: $0.cosineDistance) }
            if json { try Terminal.printJSON(rows); return }
            for r in rows { print(String(format: "%.4f\t", r.distance) + r.name) }
        }
    }
}
