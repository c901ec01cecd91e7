import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Fetch, import, export and inspect the model weights.",
        subcommands: [Fetch.self, Import.self, Export.self, Info.self]
    )
}
