import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Sheet: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A contact sheet: each style's thumbnail beside that style applied to a photo, labelled.")
        @Option(help: "Photo to stylize with every style (default: thumbnails only).") var photo: String?
        @Option(name: .shortAndLong, help: "Output image (- for stdout).") var output: String
        @Option(help: "Only styles with this tag.") var tag: String?
        @Option(help: "Cell size in pixels.") var cell: Int = 192
        @Option(help: "Columns.") var columns: Int = 4
        @OptionGroup var model: ModelOptions
        @OptionGroup var library: LibraryOptions

        func validate() throws {
            guard (64...1024).contains(cell) else { throw ValidationError("--cell must be in 64...1024") }
            guard (1...32).contains(columns) else { throw ValidationError("--columns must be in 1...32") }
        }

        func run() throws {
            let lib = try StyleLibrary(path: library.path, readOnly: true)
            let records = try lib.store.list(tag: tag)
            if records.isEmpty { throw StyleLibraryError("the library has no styles\(tag.map { " tagged '\($0)'" } ?? ""); add some with `pastiche embed add`") }
            let stylizer = try photo.map { _ in try model.loadStylizer() }
            // The photo is stylized at cell resolution: the sheet is for browsing, not printing.
            let content = try photo.map { try ImageIO.read(path: $0).resizedToFit(maxSide: cell) }
            var entries: [ContactSheet.Entry] = []
            for (i, r) in records.enumerated() {
                Terminal.progress("[\(i + 1)/\(records.count)] \(r.name)")
                let thumb = r.thumbnail.isEmpty ? RGBImage(width: 8, height: 8, fill: (0.8, 0.8, 0.8))
                    : try ImageIO.decode(r.thumbnail, name: "\(r.name) thumbnail")
                var stylized: RGBImage?
                if let stylizer, let content {
                    let e = try lib.embedding(named: r.name, stylizer: stylizer).embedding
                    stylized = stylizer.stylize(content, embedding: e)
                }
                entries.append(ContactSheet.Entry(name: r.name, thumbnail: thumb, stylized: stylized))
            }
            Terminal.endProgress()
            let sheet = ContactSheet.render(entries, cellSize: cell, columns: min(columns, entries.count),
                                            title: "Pastiche style library: \(entries.count) style\(entries.count == 1 ? "" : "s")")
            try writeResult(sheet, to: output)
        }
    }
}
