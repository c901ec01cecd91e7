import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

extension PredictorInit: ExpressibleByArgument {}

/// Loss network, weights and layers, shared by `train` and `eval` (they must match to compare numbers).
struct LossOptions: ParsableArguments {
    @Option(name: .customLong("content-weight"),
            help: "Weight of the content loss (default \(LossConfig().contentWeight); with --loss-network \(LossConfig.vgg16(path: "").contentWeight)).")
    var contentWeight: Float?
    @Option(name: .customLong("style-weight"),
            help: "Weight of each style layer's Gram loss (default \(LossConfig().styleWeight); with --loss-network \(LossConfig.vgg16(path: "").styleWeight)).")
    var styleWeight: Float?
    @Option(name: .customLong("tv-weight"),
            help: "Weight of the total variation loss (default \(LossConfig().tvWeight); with --loss-network \(LossConfig.vgg16(path: "").tvWeight)).")
    var tvWeight: Float?
    @Option(name: .customLong("loss-network"),
            help: "A VGG-16 ONNX file (e.g. the ONNX model zoo's vgg16-12.onnx) to measure the loss with, on Magenta's layers (content conv3, style conv1…conv4). Default: the predictor's MobileNetV2.")
    var lossNetwork: String?
    @Option(name: .customLong("vgg-normalize"),
            help: "How images reach VGG: imagenet ((x − mean) / std, for model zoo / torchvision files; default) or magenta (x·255 − mean, TF-slim VGG).")
    var vggNormalize: String?
    @Option(name: .customLong("vgg-pooling"),
            help: "Pooling between VGG blocks: max (as the file; default) or avg (Magenta's VGG).")
    var vggPooling: String?

    /// The loss flags given on the command line (`--resume` takes all of them from the checkpoint).
    var setFlags: [String] {
        [("--content-weight", contentWeight != nil), ("--style-weight", styleWeight != nil), ("--tv-weight", tvWeight != nil),
         ("--loss-network", lossNetwork != nil), ("--vgg-normalize", vggNormalize != nil), ("--vgg-pooling", vggPooling != nil)]
            .filter(\.1).map(\.0)
    }
    var isSet: Bool { !setFlags.isEmpty }

    /// MobileNetV2's defaults, or Magenta's VGG-16 ones with --loss-network; given weights override.
    func config() -> LossConfig {
        var c = LossConfig()
        if let lossNetwork {
            c = LossConfig.vgg16(path: URL(fileURLWithPath: lossNetwork).standardizedFileURL.path,
                                 normalization: vggNormalize.flatMap(VGGNormalization.init(rawValue:)) ?? .imagenet,
                                 pooling: vggPooling.flatMap(VGGPooling.init(rawValue:)) ?? .max)
        }
        if let contentWeight { c.contentWeight = contentWeight }
        if let styleWeight { c.styleWeight = styleWeight }
        if let tvWeight { c.tvWeight = tvWeight }
        return c
    }

    func validate() throws {
        for (name, v) in [("--content-weight", contentWeight), ("--style-weight", styleWeight), ("--tv-weight", tvWeight)] {
            if let v, !(v >= 0 && v.isFinite) { throw ValidationError("\(name) must be a non-negative number") }
        }
        if let v = vggNormalize, VGGNormalization(rawValue: v) == nil {
            throw ValidationError("--vgg-normalize must be imagenet or magenta, not '\(v)'")
        }
        if let v = vggPooling, VGGPooling(rawValue: v) == nil {
            throw ValidationError("--vgg-pooling must be max or avg, not '\(v)'")
        }
        if let lossNetwork {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: lossNetwork, isDirectory: &isDir), !isDir.boolValue else {
                throw ValidationError("--loss-network \(lossNetwork): no such file")
            }
        } else if let flag = [("--vgg-normalize", vggNormalize != nil), ("--vgg-pooling", vggPooling != nil)].first(where: \.1)?.0 {
            throw ValidationError("\(flag) needs --loss-network (it only applies to a VGG loss network)")
        }
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the style predictor on your own images.",
        subcommands: [TrainPredictorCommand.self, TrainDistillCommand.self, TrainReportCommand.self]
    )
}

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
        if let trainer = try training.resumedTrainer() { return try training.run(trainer) }
        if model.model == nil && !FileManager.default.fileExists(atPath: model.path) {
            throw ModelError("no model at \(model.path); run `pastiche model fetch` first, or pass --model")
        }
        var config = TrainingConfig(content: content!, styles: styles!, model: model.path, output: training.output!)
        config.initMode = initMode ?? .trunk
        config.trainTransfer = trainTransfer
        config.loss = loss.config()
        training.apply(to: &config)
        try training.run(try Trainer(config: config))
    }
}

func formatDuration(_ s: Double) -> String {
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, t / 60 % 60) : String(format: "%dm%02ds", t / 60, t % 60)
}

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

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean content/style/tv loss of a model over every content × style pair.",
        discussion: """
            Magenta's benchmark: each content image and each style image is centre-cropped to \
            --size², every pair is stylized (the style embedded as `stylize` does) and scored by \
            the same perceptual loss as training. The loss network comes from --loss-model \
            (default: the pretrained model in $PASTICHE_HOME), or is the VGG-16 ONNX file given \
            with --loss-network (Magenta's layers and weights), so two predictors are compared on \
            the same scale. --teacher MODEL also reports the mean squared difference between this \
            model's style embeddings and the teacher's (what `train distill` minimises).
            """
    )

    @Option(parsing: .upToNextOption, help: "Content images or folders.") var content: [String] = []
    @Option(parsing: .upToNextOption, help: "Style images or folders.") var styles: [String] = []
    @Option(help: "Centre-crop size.") var size: Int = 256
    @Option(name: .customLong("loss-model"), help: "Model whose MobileNetV2 trunk is the loss network.") var lossModel: String?
    @Option(help: "Also compare the style embeddings with this model's (e.g. a distillation teacher).")
    var teacher: String?
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var loss: LossOptions
    @OptionGroup var model: ModelOptions

    func validate() throws {
        if content.isEmpty || styles.isEmpty { throw ValidationError("give --content and --styles (files or folders)") }
        if size < 16 || size % 4 != 0 { throw ValidationError("--size must be a multiple of 4, at least 16") }
    }

    static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw ValidationError("\(p): no such file or folder") }
            out += isDir.boolValue ? ImageSet.scan(p) : [p]
        }
        if out.isEmpty { throw ValidationError("no JPEG or PNG images in \(paths.joined(separator: ", "))") }
        return out
    }

    func run() throws {
        let weights = try model.loadStylizer().weights
        let lossPath = lossModel ?? PasticheHome().defaultModel
        let lossWeights = try ModelWeights.load(path: lossPath)
        let teacherWeights = try teacher.map { try ModelWeights.load(path: $0) }
        let contents = try Self.expand(content), styleFiles = try Self.expand(styles)
        var r = try Evaluation.run(model: weights, lossModel: lossWeights, contents: contents, styles: styleFiles,
                                   size: size, config: loss.config()) { k, n in Terminal.progress("pair \(k)/\(n)") }
        if let teacherWeights {
            r.embeddingMSE = try Evaluation.embeddingError(model: weights, teacher: teacherWeights, styles: styleFiles)
        }
        Terminal.endProgress()
        if json {
            try Terminal.printJSON(r)
        } else {
            print(String(format: "%d pairs at %d²: content %.5g  style %.5g  tv %.5g  total %.5g",
                         r.pairs, size, r.content, r.style, r.tv, r.total)
                  + (r.embeddingMSE.map { String(format: "  embedding mse vs teacher %.5g", $0) } ?? ""))
        }
    }
}

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Prepare training data.", subcommands: [DataPackCommand.self])
}

struct DataPackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Decode and resize every image under a folder into one LMDB file for fast epochs.")

    @Argument(help: "Folder of JPEG/PNG images (searched recursively).") var folder: String
    @Option(name: .shortAndLong, help: "Output LMDB directory (e.g. content.lmdb).") var output: String
    @Option(name: .customLong("max-side"), help: "Reduce the shortest side to at most this (default fits --size 256 training).")
    var maxSide: Int = BatchSampler.cacheSide(size: 256)

    func validate() throws {
        if maxSide < 16 { throw ValidationError("--max-side must be at least 16") }
    }

    func run() throws {
        let n = try DataPack.pack(folder, to: output, maxSide: maxSide) { i, n in Terminal.progress("packed \(i)/\(n)") }
        Terminal.endProgress()
        Terminal.note("wrote \(output) (\(n) images)")
    }
}
