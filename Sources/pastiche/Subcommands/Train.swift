import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

extension PredictorInit: ExpressibleByArgument {}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the style predictor, or a transfer network for one style, on your own images.",
        subcommands: [TrainPredictorCommand.self, TrainDistillCommand.self, TrainTransferCommand.self, TrainReportCommand.self]
    )
}
