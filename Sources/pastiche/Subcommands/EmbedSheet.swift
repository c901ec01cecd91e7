import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Sheet: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A contact sheet: each style's thumbnail beside that style applied to a photo, labelled.",
            discussion: """
                More styles than --per-page make several pages: -o sheet.png writes sheet-1.png, \
                sheet-2.png, … A thumbnail that does not decode is drawn grey, and the sheet goes on.
                """)
        @Option(help: "Photo to stylize with every style (default: thumbnails only).") var photo: String?
        @Option(name: .shortAndLong, help: "Output image (- for stdout).") var output: String
        @Option(help: "Only styles with this tag.") var tag: String?
        @Option(help: "Cell size in pixels.") var cell: Int = 192
        @Option(help: "Columns.") var columns: Int = 4
        @Option(name: .customLong("per-page"), help: "Styles per page (default 48).") var perPage: Int = 48
        @OptionGroup var model: ModelOptions
        @OptionGroup var library: LibraryOptions

        func validate() throws {
            guard (64...1024).contains(cell) else { throw ValidationError("--cell must be in 64...1024") }
            guard (1...32).contains(columns) else { throw ValidationError("--columns must be in 1...32") }
            guard (1...256).contains(perPage) else { throw ValidationError("--per-page must be in 1...256") }
            if let photo, output != "-" { try refuseOverwritingInputs(output: output, inputs: [photo]) }
        }

        /// Page `k` (0-based) of `pages`: the output itself for one page, else NAME-(k+1).EXT.
        func pagePath(_ k: Int, of pages: Int) -> String {
            guard pages > 1 else { return output }
            let ext = (output as NSString).pathExtension
            let stem = (output as NSString).deletingPathExtension
            return "\(stem)-\(k + 1)" + (ext.isEmpty ? "" : ".\(ext)")
        }

        func run() throws {
            let lib = try StyleLibrary(path: library.path, readOnly: true)
            let scan = try lib.store.scan(tag: tag)
            let stylizer = try photo.map { _ in try model.loadStylizer() }
            // With a photo, the sheet shows the styles this model paints: a library holds the
            // styles of several models (Ghiasi, AdaIN, N-style), each usable only with its own.
            var records = scan.records
            if let stylizer {
                records = records.filter { stylizer.weights.owns(styleOf: $0.modelID) }
                let others = scan.records.count - records.count
                if records.isEmpty && others > 0 {
                    throw StyleLibraryError("none of the library's \(others) style\(others == 1 ? "" : "s")\(tag.map { " tagged '\($0)'" } ?? "") belong to this model (\(stylizer.weights.styleOwnerID)); give the --model they were embedded with, or leave out --photo for thumbnails only")
                }
                if others > 0 { Terminal.note("left out \(others) style\(others == 1 ? "" : "s") of other models (give their --model to see them painted)") }
            }
            let pages = (records.count + perPage - 1) / perPage
            if pages > 1 && output == "-" {
                throw ValidationError("\(records.count) styles make \(pages) pages of \(perPage); give -o FILE.png (pages FILE-1.png, …), a larger --per-page or a --tag")
            }
            if records.isEmpty { throw StyleLibraryError("the library has no styles\(tag.map { " tagged '\($0)'" } ?? ""); add some with `pastiche embed add`") }
            // The photo is stylized at cell resolution: the sheet is for browsing, not printing.
            let content = try photo.map { try ImageIO.read(path: $0).resizedToFit(maxSide: cell) }
            var entries: [ContactSheet.Entry] = []
            for (i, r) in records.enumerated() {
                Terminal.progress("[\(i + 1)/\(records.count)] \(r.name)")
                let grey = RGBImage(width: 8, height: 8, fill: (0.8, 0.8, 0.8))
                let thumb = r.thumbnail.isEmpty ? grey : (try? ImageIO.decode(r.thumbnail, name: "\(r.name) thumbnail")) ?? grey
                var stylized: RGBImage?
                if let stylizer, let content {
                    let e = try lib.embedding(named: r.name, stylizer: stylizer).embedding
                    stylized = stylizer.stylize(content, embedding: e)
                }
                entries.append(ContactSheet.Entry(name: r.name, thumbnail: thumb, stylized: stylized))
            }
            Terminal.endProgress()
            for k in 0..<pages {
                let page = Array(entries[(k * perPage)..<min(entries.count, (k + 1) * perPage)])
                let title = "Pastiche style library: \(entries.count) style\(entries.count == 1 ? "" : "s")"
                    + (pages > 1 ? ", page \(k + 1) of \(pages)" : "")
                let sheet = ContactSheet.render(page, cellSize: cell, columns: min(columns, page.count), title: title)
                try writeResult(sheet, to: pagePath(k, of: pages))
            }
            try DamagedRecordsLeftOut.check(scan.damaged)
        }
    }
}
