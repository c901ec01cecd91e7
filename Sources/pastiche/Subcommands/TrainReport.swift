import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

struct TrainReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Draw the loss curves of a training log (train.jsonl) as a PNG.")

    @Argument(help: "The JSON-lines log a training run wrote.") var log: String
    @Option(name: .shortAndLong, help: "Output picture (PNG).") var output: String = "curves.png"
    @Option(help: "Running-mean window in steps.") var window: Int = 10

    func validate() throws {
        if window < 1 { throw ValidationError("--window must be at least 1") }
    }

    func run() throws {
        let records = try TrainingLog.read(log)
        if records.isEmpty { throw ValidationError("\(log) has no steps yet") }
        try ImageIO.write(TrainingLog.plot(records, window: window), to: output)
        Terminal.note("wrote \(output) (\(records.count) steps)")
    }
}
