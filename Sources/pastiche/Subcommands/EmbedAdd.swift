import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Embed style images and store them (reusing the cached embedding of identical pixels).")
        @Argument(help: "Images or folders of images.") var images: [String]
        @Option(help: "Name for the style (one image only). Default: from the file name, made unique.") var name: String?
        @Option(name: .customLong("tag"), help: "Tag to attach (repeatable).") var tags: [String] = []
        @Flag(help: "Print the results as JSON.") var json = false
        @OptionGroup var model: ModelOptions
        @OptionGroup var library: LibraryOptions

        func validate() throws {
            if images.isEmpty { throw ValidationError("give at least one image or folder") }
            if name != nil && images.count > 1 { throw ValidationError("--name needs exactly one image") }
        }

        struct Row: Codable { let name: String; let file: String; let reused: Bool }

        func run() throws {
            let files = try ImageFolder.expand(images)
            if name != nil && files.count > 1 { throw ValidationError("--name needs exactly one image, the folder has \(files.count)") }
            let lib = try StyleLibrary(path: library.path)
            let stylizer = try model.loadStylizer()
            // Decode and embed everything first: a bad file fails before anything is stored.
            var prepared: [StyleLibrary.PreparedStyle] = []
            for (i, file) in files.enumerated() {
                Terminal.progress("[\(i + 1)/\(files.count)] embedding \(file)")
                prepared.append(try lib.prepare(image: try ImageIO.read(path: file), sourceFile: file, stylizer: stylizer))
            }
            Terminal.endProgress()
            var rows: [Row] = []
            for p in prepared {
                let r = try lib.add(p, name: name, tags: tags, stylizer: stylizer)
                rows.append(Row(name: r.record.name, file: p.sourceFile, reused: r.reused))
                if !json { print("\(r.record.name)\t\(r.reused ? "reused" : "new")\t\(p.sourceFile)") }
            }
            if json { try Terminal.printJSON(rows) }
        }
    }
}
