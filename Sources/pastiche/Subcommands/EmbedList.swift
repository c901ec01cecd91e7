import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

extension EmbedCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the styles in the library.")
        @Option(help: "Only styles with this tag.") var tag: String?
        @Flag(help: "Print as JSON.") var json = false
        @OptionGroup var library: LibraryOptions

        func run() throws {
            // No library yet: nothing stored, an empty list (and no library created).
            let scan = library.notCreatedYet ? StyleScan(records: [], damaged: [])
                                             : try StyleLibrary(path: library.path, readOnly: true).store.scan(tag: tag)
            if json {
                try Terminal.printJSON(scan.records.map { StyleView($0) })
            } else {
                for r in scan.records {
                    let kind = r.recipe == nil ? r.sourceFile : "blend of " + r.recipe!.map { "\($0.name)×\($0.weight)" }.joined(separator: " + ")
                    print("\(r.name)\t\(kind)\t\(r.tags.joined(separator: ","))")
                }
            }
            try DamagedRecordsLeftOut.check(scan.damaged)
        }
    }
}
