import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Prepare training data.", subcommands: [DataPackCommand.self])
}
