import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels
import PasticheTools
import PasticheTraining

extension TransferInit: ExpressibleByArgument {}

struct TrainTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Train a transfer network for one style (Johnson et al. 2016) or for N styles (Dumoulin et al. 2017).",
        discussion: """
            The transfer network is trained on --content photos through the perceptual loss \
            (content + style + total variation, as `train predictor`). By default it starts from \
            the pretrained arbitrary-style network; --init random starts from scratch, as Johnson \
            et al. did.

            --style-image FILE: a per-style model. The style's predicted embedding stays fixed, so \
            step 0 paints exactly what `stylize --style-image` paints. The model keeps its style: \
            `stylize --model M photo.jpg` needs no style flag (--strength still mixes in the \
            photo's own embedding).

            --styles DIR: an N-style model. Every image in DIR is a style whose embedding is a free \
            parameter trained with the network, starting at its predicted embedding. At the end \
            the learned styles are stored in --library, tagged `learned`, as styles of this model: \
            `stylize --model M --style NAME`, blend, interpolate, masks and the studio use them \
            with this model only.

            --width 0.5 --styles DIR: a narrower arbitrary-style network, distilled from the \
            pretrained one for speed (video, previews). It starts from the teacher's most used \
            channels and learns to paint what the teacher paints (--teacher-weight, the weight of \
            the mean squared pixel difference), plus the perceptual loss; the styles of DIR are \
            augmented as in `train predictor`, and the --content photos serve as styles too \
            (--no-content-as-styles: DIR's alone), so the student sees more of the embeddings it \
            will be given. Docs: docs/training.md.
            """
    )

    @Option(name: .customLong("style-image"), help: "The style to train for (one JPEG/PNG image).") var styleImage: String?
    @Option(help: "Folder of content photos (JPEG/PNG, any depth) or a file made by `pastiche data pack`.")
    var content: String?
    @Option(name: .customLong("init"), help: "Starting network: pretrained (default) or random.") var initMode: TransferInit?
    @Option(help: "Folder (or pack) of style images: the styles of an N-style network (at least 2), or with --width the styles to distil on.")
    var styles: String?
    @Option(help: "Distil a narrower arbitrary-style network: its channel multiplier (0.5 or 0.75).") var width: Double?
    @Option(name: .customLong("teacher-weight"), help: "With --width: weight of the squared difference to the teacher's painting (default 1000).")
    var teacherWeight: Float?
    @Flag(inversion: .prefixedNo, help: "With --width: the content photos are styles to distil on too, after --styles (default on).")
    var contentAsStyles: Bool?
    /// That flag as given, for messages.
    var contentAsStylesFlag: String { contentAsStyles == false ? "--no-content-as-styles" : "--content-as-styles" }
    @OptionGroup var training: TrainingRunOptions
    @OptionGroup var loss: LossOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions

    func validate() throws {
        if styleImage != nil && styles != nil {
            throw ValidationError("give --style-image FILE (a per-style network) or --styles DIR (an N-style network), not both")
        }
        if let width {
            if styleImage != nil { throw ValidationError("--width distils an arbitrary-style network from --styles DIR; it does not go with --style-image") }
            if !TransferArchitecture.widths.contains(width) || width >= 1 {
                throw ValidationError("--width must be 0.5 or 0.75 (a network narrower than the pretrained one), got \(width)")
            }
        }
        if teacherWeight != nil && width == nil { throw ValidationError("--teacher-weight goes with --width (distillation)") }
        if contentAsStyles != nil && width == nil && training.resume == nil {
            throw ValidationError("\(contentAsStylesFlag) goes with --width (distillation)")
        }
        if let teacherWeight, !(teacherWeight >= 0 && teacherWeight.isFinite) {
            throw ValidationError("--teacher-weight must be a non-negative number")
        }
        let modeFlags: [(String, Bool)] = [
            ("--style-image", styleImage != nil), ("--styles", styles != nil), ("--width", width != nil),
            ("--teacher-weight", teacherWeight != nil), (contentAsStylesFlag, contentAsStyles != nil), ("--content", content != nil), ("--init", initMode != nil),
            ("--model", model.model != nil), (loss.setFlags.first ?? "--content-weight", loss.isSet),
        ]
        try training.validate(modeFlags: modeFlags)
        guard training.resume == nil else { return }
        guard let style = styleImage ?? styles else {
            throw ValidationError("give --style-image FILE (one style) or --styles DIR (several), the style to train for (or --resume CKPT)")
        }
        if content == nil { throw ValidationError("give --content DIR, the photos to train on") }
        var isDir: ObjCBool = false
        if let styleImage {
            guard FileManager.default.fileExists(atPath: styleImage, isDirectory: &isDir), !isDir.boolValue else {
                throw ValidationError("--style-image \(styleImage): no such image file")
            }
        } else if let styles {
            guard FileManager.default.fileExists(atPath: styles, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--styles \(styles): no such folder (an N-style network learns the style images in a folder)")
            }
        }
        if let output = training.output { try refuseOverwritingInputs(output: output, inputs: [style]) }
    }

    func run() throws {
        let communicator = try training.distribution.join()
        let trainer: Trainer
        if let resumed = try training.resumedTrainer(communicator, modes: [.transfer, .nStyle, .transferDistill]) {
            trainer = resumed
        } else {
            var config = TrainingConfig(content: content!, styles: styleImage ?? styles!, model: try model.existingPath(), output: training.output!)
            config.mode = styleImage != nil ? .transfer : width != nil ? .transferDistill : .nStyle
            config.transferInit = initMode ?? .pretrained
            config.loss = loss.config()
            training.apply(to: &config)
            if let width {
                config.transferWidth = width
                if let teacherWeight { config.teacherWeight = teacherWeight }
                config.contentAsStyles = contentAsStyles ?? true
            } else {
                // Each style is always the same picture: its centre at --size (no augmentation).
                config.augmentStyles = false
            }
            trainer = try Trainer(config: config, communicator: communicator)
        }
        // Where an N-style run's styles go is checked before the work, not after it.
        let styleLibrary = trainer.config.mode == .nStyle && communicator.isRoot ? try StyleLibrary(path: library.path) : nil
        try training.run(trainer)
        if let styleLibrary { try storeLearnedStyles(trainer, in: styleLibrary) }
    }

    /// The learned styles of the model just written, into the library as its styles.
    private func storeLearnedStyles(_ trainer: Trainer, in styleLibrary: StyleLibrary) throws {
        let weights = try ModelWeights.load(path: trainer.config.output)
        let set = try ImageSet(path: trainer.config.styles, maxSide: 2 * StyleLibrary.thumbnailSize)
        let images = try (0..<set.count).map { try set.image($0) }
        let added = try styleLibrary.addLearned(weights.learnedStyles, images: images, weights: weights)
        let names = added.map(\.record.name).joined(separator: ", ")
        Terminal.note("stored \(added.count) learned styles in \(library.path): \(names)")
    }
}
