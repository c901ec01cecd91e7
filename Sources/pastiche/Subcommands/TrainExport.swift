import ArgumentParser
import Foundation
import PasticheModels
import PasticheTraining

struct TrainExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the model a training checkpoint holds: the run as it was at that step.",
        discussion: """
            pastiche train export ckpt/checkpoint-00000400.safetensors -o step400.safetensors

            The model is the one the run writes with -o when it stops at that step, bit for bit, \
            so any point of a run can be painted with, evaluated or compared. The run's log, \
            checkpoints and output are not touched (a --resume from an earlier checkpoint would \
            cut the log back to it). The checkpoint names the model it trained from; run this \
            where that path resolves, as for --resume.
            """
    )

    @Argument(help: "A checkpoint a run wrote with --checkpoint-dir.") var checkpoint: String
    @Option(name: .shortAndLong, help: "Where to write the model (safetensors).") var output: String

    func validate() throws {
        if !FileManager.default.fileExists(atPath: checkpoint) { throw ValidationError("\(checkpoint): no such file") }
        try refuseOverwritingInputs(output: output, inputs: [checkpoint])
    }

    func run() throws {
        let config = try Trainer.readCheckpointConfig(checkpoint)
        try TrainingRunOptions.requireStartingModel(of: config, checkpoint: checkpoint)
        try refuseOverwritingInputs(output: output, inputs: [config.model])
        let trainer = try Trainer(config: config)
        try trainer.loadCheckpoint(checkpoint)
        try trainer.model().save(to: output)
        print("wrote \(output): the \(config.mode.rawValue) run's model at step \(trainer.step)")
    }
}
