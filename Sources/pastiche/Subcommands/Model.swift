import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Fetch, import and inspect the pretrained weights.",
        subcommands: [Fetch.self, Import.self, Info.self]
    )
}
