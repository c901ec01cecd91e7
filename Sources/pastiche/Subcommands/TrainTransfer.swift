import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

extension TransferInit: ExpressibleByArgument {}

struct TrainTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Train a transfer network for one style (Johnson et al. 2016): a per-style model.",
        discussion: """
            The transfer network alone is trained on --content photos for the one style of \
            --style-image, through the perceptual loss (content + style + total variation, as \
            `train predictor`). By default it starts from the pretrained arbitrary-style network with \
            the style's predicted embedding fixed, so step 0 paints exactly what `stylize \
            --style-image` paints; --init random starts from scratch, as Johnson et al. did. The \
            model keeps its style: `stylize --model M photo.jpg` needs no style flag (--strength \
            still mixes in the photo's own embedding). Docs: docs/training.md.
            """
    )

    @Option(name: .customLong("style-image"), help: "The style to train for (one JPEG/PNG image).") var styleImage: String?
    @Option(help: "Folder of content photos (JPEG/PNG, any depth) or a file made by `pastiche data pack`.")
    var content: String?
    @Option(name: .customLong("init"), help: "Starting network: pretrained (default) or random.") var initMode: TransferInit?
    @Option(help: "Not for this command: a per-style network has one style (give --style-image).") var styles: String?
    @OptionGroup var training: TrainingRunOptions
    @OptionGroup var loss: LossOptions
    @OptionGroup var model: ModelOptions

    func validate() throws {
        if styles != nil {
            throw ValidationError("--styles trains several styles; a per-style network takes one --style-image FILE")
        }
        let modeFlags: [(String, Bool)] = [
            ("--style-image", styleImage != nil), ("--content", content != nil), ("--init", initMode != nil),
            ("--model", model.model != nil), (loss.setFlags.first ?? "--content-weight", loss.isSet),
        ]
        try training.validate(modeFlags: modeFlags)
        if training.resume == nil {
            guard let styleImage else { throw ValidationError("give --style-image FILE, the style to train for (or --resume CKPT)") }
            if content == nil { throw ValidationError("give --content DIR, the photos to train on") }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: styleImage, isDirectory: &isDir), !isDir.boolValue else {
                throw ValidationError("--style-image \(styleImage): no such image file")
            }
            if let output = training.output { try refuseOverwritingInputs(output: output, inputs: [styleImage]) }
        }
    }

    func run() throws {
        let communicator = try training.distribution.join()
        if let trainer = try training.resumedTrainer(communicator, mode: .transfer) { return try training.run(trainer) }
        var config = TrainingConfig(content: content!, styles: styleImage!, model: try model.existingPath(), output: training.output!)
        config.mode = .transfer
        config.transferInit = initMode ?? .pretrained
        config.loss = loss.config()
        training.apply(to: &config)
        // One style, always the same picture: its centre at --size (no augmentation).
        config.augmentStyles = false
        try training.run(try Trainer(config: config, communicator: communicator))
    }
}
