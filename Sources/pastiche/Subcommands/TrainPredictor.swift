import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

struct TrainPredictorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predictor",
        abstract: "Train the style predictor (and optionally the transfer network) on perceptual losses.",
        discussion: """
            Each step draws --batch content crops and augmented style images at --size², predicts \
            the style embeddings, stylizes the crops with the transfer network and minimises \
            content + style + total-variation loss measured by the frozen pretrained MobileNetV2 \
            (see docs/training.md). --model supplies the transfer network, the loss network and \
            the starting predictor. A JSON-lines log is written to the checkpoint directory, or \
            next to -o. --resume CKPT continues a run exactly (only --steps may change).
            """
    )

    @Option(help: "Folder of content photos (JPEG/PNG, any depth) or a file made by `pastiche data pack`.")
    var content: String?
    @Option(help: "Folder of style images, or a packed file.") var styles: String?
    @Option(name: .customLong("init"), help: "Starting predictor: pretrained, trunk (new bottleneck) or scratch. Default: trunk.")
    var initMode: PredictorInit?
    @Flag(name: .customLong("train-transfer"), help: "Also train the transfer network.") var trainTransfer = false
    @OptionGroup var training: TrainingRunOptions
    @OptionGroup var loss: LossOptions
    @OptionGroup var model: ModelOptions

    func validate() throws {
        let modeFlags: [(String, Bool)] = [
            ("--content", content != nil), ("--styles", styles != nil), ("--init", initMode != nil),
            ("--train-transfer", trainTransfer), ("--model", model.model != nil),
            (loss.setFlags.first ?? "--content-weight", loss.isSet),
        ]
        try training.validate(modeFlags: modeFlags)
        if training.resume == nil && (content == nil || styles == nil) {
            throw ValidationError("give --content DIR and --styles DIR (or --resume CKPT)")
        }
    }

    func run() throws {
        let communicator = try training.distribution.join()
        if let trainer = try training.resumedTrainer(communicator, modes: [.perceptual]) { return try training.run(trainer) }
        var config = TrainingConfig(content: content!, styles: styles!, model: try model.existingPath(), output: training.output!)
        config.initMode = initMode ?? .trunk
        config.trainTransfer = trainTransfer
        config.loss = loss.config()
        training.apply(to: &config)
        try training.run(try Trainer(config: config, communicator: communicator))
    }
}
