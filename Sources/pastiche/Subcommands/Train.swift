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
        abstract: "Train the style predictor, transfer networks (one style, N styles, narrower) or AdaIN's decoder on your own images.",
        subcommands: [TrainPredictorCommand.self, TrainDistillCommand.self, TrainTransferCommand.self, TrainAdaINCommand.self,
                      TrainExportCommand.self,
                      TrainReportCommand.self]
    )
}
