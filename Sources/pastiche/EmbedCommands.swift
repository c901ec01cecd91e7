import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

/// A library record as `--json` prints it.
struct StyleView: Codable {
    let name: String
    let modelID: String
    let source: String
    let width: Int
    let height: Int
    let added: String
    let tags: [String]
    let recipe: [Component]?
    let embedding: [Float]?
    struct Component: Codable { let name: String; let weight: Float }

    init(_ r: StyleRecord, vector: Bool = false) {
        name = r.name; modelID = r.modelID; source = r.sourceFile
        width = r.sourceWidth; height = r.sourceHeight
        added = ISO8601DateFormatter().string(from: r.addedAt)
        tags = r.tags
        recipe = r.recipe?.map { Component(name: $0.name, weight: $0.weight) }
        embedding = vector ? r.embedding : nil
    }
}

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "The style library: add, browse, rename, tag, compare, export and import styles.",
        subcommands: [Add.self, List.self, Show.self, Remove.self, Rename.self, Tag.self, Nearest.self,
                      Export.self, Import.self, Sheet.self]
    )

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Files as given; a folder contributes every PNG/JPEG inside it (recursively, sorted).
    static func expand(_ paths: [String]) throws -> [String] {
        var result: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                throw ImageError(file: p, kind: .notFound, reason: "no such file")
            }
            if !isDir.boolValue { result.append(p); continue }
            let found = (FileManager.default.enumerator(atPath: p)?.allObjects as? [String] ?? [])
                .filter { imageExtensions.contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
                .sorted()
            if found.isEmpty { throw StyleLibraryError("\(p): no PNG or JPEG images in this folder") }
            result += found.map { (p as NSString).appendingPathComponent($0) }
        }
        return result
    }

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
            let files = try EmbedCommand.expand(images)
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

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the styles in the library.")
        @Option(help: "Only styles with this tag.") var tag: String?
        @Flag(help: "Print as JSON.") var json = false
        @OptionGroup var library: LibraryOptions

        func run() throws {
            let records = try StyleLibrary(path: library.path, readOnly: true).store.list(tag: tag)
            if json { try Terminal.printJSON(records.map { StyleView($0) }); return }
            for r in records {
                let kind = r.recipe == nil ? r.sourceFile : "blend of " + r.recipe!.map { "\($0.name)×\($0.weight)" }.joined(separator: " + ")
                print("\(r.name)\t\(kind)\t\(r.tags.joined(separator: ","))")
            }
        }
    }

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
            print("source:    \(view.source) (\(view.width)×\(view.height))")
            print("added:     \(view.added)")
            print("model id:  \(view.modelID)")
            print("tags:      \(view.tags.joined(separator: ", "))")
            if let recipe = view.recipe { print("recipe:    " + recipe.map { "\($0.name) × \($0.weight)" }.joined(separator: " + ")) }
            print("thumbnail: \(r.thumbnail.count) bytes")
            if vector { print("embedding: " + r.embedding.map { String($0) }.joined(separator: " ")) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove styles (all or none).")
        @Argument var names: [String]
        @OptionGroup var library: LibraryOptions
        func validate() throws { if names.isEmpty { throw ValidationError("give at least one name") } }
        func run() throws {
            try StyleLibrary(path: library.path).store.remove(names)
            for n in names { print("removed \(n)") }
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a style (blend recipes follow).")
        @Argument var old: String
        @Argument var new: String
        @OptionGroup var library: LibraryOptions
        func run() throws {
            let r = try StyleLibrary(path: library.path).store.rename(old, to: new)
            print("renamed \(old) to \(r.name)")
        }
    }

    struct Tag: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add (or with --remove, remove) tags.")
        @Argument var name: String
        @Argument var tags: [String]
        @Flag(help: "Remove the tags instead.") var remove = false
        @OptionGroup var library: LibraryOptions
        func validate() throws { if tags.isEmpty { throw ValidationError("give at least one tag") } }
        func run() throws {
            let store = try StyleLibrary(path: library.path).store
            let r = remove ? try store.removeTags(name, tags) : try store.addTags(name, tags)
            print("\(r.name)\t\(r.tags.joined(separator: ","))")
        }
    }

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

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the whole library as portable JSON (bit-exact embeddings).")
        @Argument(help: "Output file, or - for stdout.") var file: String
        @OptionGroup var library: LibraryOptions
        func run() throws {
            let data = try StyleLibrary(path: library.path, readOnly: true).store.exportJSON()
            if file == "-" { FileHandle.standardOutput.write(data); return }
            try AtomicFile.write(data, to: file)
            Terminal.note("exported to \(file)")
        }
    }

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
