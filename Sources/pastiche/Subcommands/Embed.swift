import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "The style library: add, browse, rename, tag, compare, export and import styles.",
        subcommands: [Add.self, List.self, Show.self, Remove.self, Rename.self, Tag.self, Nearest.self,
                      Export.self, Import.self, Sheet.self, Salvage.self]
    )
}
