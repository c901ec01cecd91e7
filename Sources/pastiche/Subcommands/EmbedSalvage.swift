import ArgumentParser
import Foundation
import PasticheLibrary

extension EmbedCommand {
    struct Salvage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy every readable style of a damaged library into a new library.",
            discussion: """
                Reads the library's file page by page (without LMDB, which trusts the file), copies \
                each record whose pages are intact and that decodes into OUT (a new or empty \
                directory), and names what could not be read. The damaged library is not changed.
                """)
        @Argument(help: ArgumentHelp("The new library directory (or give it as -o).", valueName: "output")) var outputArgument: String?
        @Option(name: .shortAndLong, help: "The new library directory.") var output: String?
        @Flag(help: "Print the report as JSON.") var json = false
        @OptionGroup var library: LibraryOptions

        func validate() throws { _ = try chosenOutput(argument: outputArgument, option: output, name: "OUT") }

        func run() throws {
            let report = try StyleSalvage.run(library: library.path, to: try chosenOutput(argument: outputArgument, option: output, name: "OUT"))
            if json { try Terminal.printJSON(report); return }
            print("salvaged \(report.recovered) style\(report.recovered == 1 ? "" : "s") into \(report.output)")
            if !report.damagedRecords.isEmpty {
                print("damaged records left behind: \(report.damagedRecords.joined(separator: ", "))")
            }
            for page in report.damagedPages { print("skipped: \(page)") }
        }
    }
}
