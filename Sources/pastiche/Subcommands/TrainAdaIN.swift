import ArgumentParser
import Foundation
import PasticheModels
import PasticheTraining

struct TrainAdaINCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adain",
        abstract: "Train AdaIN's decoder (Huang & Belongie 2017) on content photos and style images.",
        discussion: """
            The decoder learns to invert the frozen encoder of --model (an AdaIN model, `pastiche \
            model import --adain-encoder … --adain-decoder …`): each content crop's relu4_1 \
            features get a style crop's statistics (AdaIN), the decoder paints them, and the loss \
            encodes its painting again: content MSE at relu4_1 against AdaIN's target, plus \
            --style-weight × the MSE of the mean and standard deviation at relu1_1 … relu4_1. \
            Defaults as naoto0804/pytorch-AdaIN: style weight 10, learning rate 1e-4 with \
            inverse-time decay 5e-5, batch 8, and each photo and style resized to (2·--size)² \
            then cropped at random to --size² (256 of 512). The decoder starts from the model's (--init \
            pretrained) or at random (--init random); the encoder is never changed. Docs: \
            docs/adain.md.
            """
    )

    @Option(help: "Folder of content photos (JPEG/PNG, any depth) or a file made by `pastiche data pack`.") var content: String?
    @Option(help: "Folder of style images (or a pack).") var styles: String?
    @Option(name: .customLong("init"), help: "Starting decoder: pretrained (the model's, default) or random.") var initMode: TransferInit?
    @Option(name: .customLong("style-weight"), help: "Weight of the mean/std style loss (default 10).") var styleWeight: Float?
    @OptionGroup var training: TrainingRunOptions
    @Option(help: "The AdaIN model (safetensors) whose encoder is the loss network.") var model: String?

    func validate() throws {
        let modeFlags: [(String, Bool)] = [
            ("--content", content != nil), ("--styles", styles != nil), ("--init", initMode != nil),
            ("--style-weight", styleWeight != nil), ("--model", model != nil),
        ]
        try training.validate(modeFlags: modeFlags)
        if let styleWeight, !(styleWeight >= 0 && styleWeight.isFinite) { throw ValidationError("--style-weight must be a non-negative number") }
        guard training.resume == nil else { return }
        guard let model else { throw ValidationError("give --model ADAIN.safetensors: its encoder is the loss network (`pastiche model import --adain-encoder … --adain-decoder …`)") }
        guard content != nil, let styles else { throw ValidationError("give --content DIR and --styles DIR, the photos and styles to train on") }
        if let output = training.output { try refuseOverwritingInputs(output: output, inputs: [model, styles]) }
    }

    func run() throws {
        let communicator = try training.distribution.join()
        if let trainer = try training.resumedTrainer(communicator, modes: [.adain]) { return try training.run(trainer) }
        var config = TrainingConfig(content: content!, styles: styles!, model: model!, output: training.output!)
        config.mode = .adain
        config.transferInit = initMode ?? .pretrained
        training.apply(to: &config)
        // The authors' defaults where the flags are not given.
        if training.lr == nil { config.learningRate = 1e-4 }
        if training.lrDecay == nil { config.learningRateDecay = 5e-5 }
        if let styleWeight { config.adainStyleWeight = styleWeight }
        // AdaIN's crops for both sets (the sampler's adainCrops), not Magenta's style augmentation.
        config.augmentStyles = false
        try training.run(try Trainer(config: config, communicator: communicator))
    }
}
