import ArgumentParser
import Foundation
import PasticheDistributed
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Embed style images and store them (reusing the cached embedding of identical pixels).",
            discussion: """
                Each style is stored as soon as it is embedded, so a long folder add that is killed \
                keeps what it finished. A file that cannot be read stops the add and removes the \
                styles it had added; with --keep-going it is skipped (one line each on stderr), every \
                readable file is stored, and the command exits non-zero naming what it skipped. Adding \
                pixels that are already stored with --name gives the stored style that name. \
                With --distributed under mpirun, rank r embeds files r, r + N, … and sends them to \
                rank 0, which alone opens the library (it must be on rank 0's machine) and stores \
                them in file order, as one process would.
                """)
        @Argument(help: "Images or folders of images.") var images: [String]
        @Option(help: "Name for the style (one image only; pixels already stored under another name are stored under this one too). Default: from the file name, made unique.")
        var name: String?
        @Option(name: .customLong("tag"), help: "Tag to attach (repeatable).") var tags: [String] = []
        @Flag(name: .customLong("keep-going"), help: "Skip files that cannot be read instead of stopping.") var keepGoing = false
        @Flag(help: "Print the results as JSON.") var json = false
        @OptionGroup var model: ModelOptions
        @OptionGroup var library: LibraryOptions
        @OptionGroup var distribution: DistributedOptions

        func validate() throws {
            if images.isEmpty { throw ValidationError("give at least one image or folder") }
            if name != nil && images.count > 1 { throw ValidationError("--name needs exactly one image") }
            if let name { try StyleName.validate(name) }
            for t in tags { try StyleName.validate(t, what: "tag") }
        }

        struct Row: Codable { let name: String; let file: String; let reused: Bool }

        /// What a rank sends rank 0 for one file: the prepared style, or why it could not be read.
        struct Prepared: Codable {
            var style: StyleLibrary.PreparedStyle?
            var failure: String?
        }
        struct RemoteFailure: Error, CustomStringConvertible { let description: String }
        static let preparedTag = 1

        func run() throws {
            let communicator = try distribution.join()
            let files = try ImageFolder.expand(images)
            if name != nil && files.count > 1 { throw ValidationError("--name needs exactly one image, the folder has \(files.count)") }
            let stylizer = try model.loadStylizer()
            if !communicator.isRoot { return try embedForRoot(files, stylizer: stylizer, communicator) }
            let lib = try StyleLibrary(path: library.path)
            var rows: [Row] = [], added: [String] = [], skipped: [String] = []
            for (i, file) in files.enumerated() {
                Terminal.progress("[\(i + 1)/\(files.count)] embedding \(file)")
                let prepared: StyleLibrary.PreparedStyle
                do {
                    let owner = communicator.owner(of: i)
                    if owner == 0 {
                        prepared = try lib.prepare(image: try ImageIO.read(path: file), sourceFile: file, stylizer: stylizer)
                    } else {
                        let message = try JSONDecoder().decode(Prepared.self, from: Data(communicator.receive(from: owner, tag: Self.preparedTag)))
                        guard let style = message.style else {
                            throw RemoteFailure(description: message.failure ?? "\(file): rank \(owner) sent no style")
                        }
                        prepared = style
                    }
                } catch {
                    Terminal.endProgress()
                    guard keepGoing else {
                        // All or nothing unless --keep-going: take back what this run stored.
                        if !added.isEmpty { try lib.store.remove(added) }
                        throw error
                    }
                    Terminal.note("skipped \(error)")
                    skipped.append(file)
                    continue
                }
                let r = try lib.add(prepared, name: name, tags: tags, stylizer: stylizer)
                if !r.reused { added.append(r.record.name) }
                rows.append(Row(name: r.record.name, file: file, reused: r.reused))
                if !json {
                    Terminal.endProgress()
                    print("\(r.record.name)\t\(r.reused ? "reused" : "new")\t\(file)")
                }
            }
            Terminal.endProgress()
            communicator.finish()
            if json { try Terminal.printJSON(rows) }
            if !skipped.isEmpty {
                throw ValidationFailure("skipped \(skipped.count) of \(files.count) files that could not be read: "
                    + skipped.prefix(3).joined(separator: ", ") + (skipped.count > 3 ? ", …" : ""))
            }
        }

        /// A rank other than 0: embeds its files (no library here, so no cache lookup; rank 0
        /// reuses stored pixels as usual) and sends each to rank 0 in file order.
        func embedForRoot(_ files: [String], stylizer: Stylizer, _ communicator: any Communicator) throws {
            for (i, file) in files.enumerated() where communicator.owner(of: i) == communicator.rank {
                var message = Prepared()
                do {
                    message.style = try StyleLibrary.prepare(image: try ImageIO.read(path: file), sourceFile: file, stylizer: stylizer)
                } catch {
                    message.failure = fileSystemMessage(error) ?? "\(error)"
                }
                communicator.send(Array(try JSONEncoder().encode(message)), to: 0, tag: Self.preparedTag)
            }
            communicator.finish()
        }
    }
}
