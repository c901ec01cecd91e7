import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTraining

extension PredictorInit: ExpressibleByArgument {}

/// Loss weights and layers, shared by `train` and `eval` (they must match to compare numbers).
struct LossOptions: ParsableArguments {
    @Option(name: .customLong("content-weight"), help: "Weight of the content loss (default \(LossConfig().contentWeight)).")
    var contentWeight: Float?
    @Option(name: .customLong("style-weight"), help: "Weight of each style layer's Gram loss (default \(LossConfig().styleWeight)).")
    var styleWeight: Float?
    @Option(name: .customLong("tv-weight"), help: "Weight of the total variation loss (default \(LossConfig().tvWeight)).")
    var tvWeight: Float?

    var isSet: Bool { contentWeight != nil || styleWeight != nil || tvWeight != nil }

    func config() -> LossConfig {
        var c = LossConfig()
        if let contentWeight { c.contentWeight = contentWeight }
        if let styleWeight { c.styleWeight = styleWeight }
        if let tvWeight { c.tvWeight = tvWeight }
        return c
    }

    func validate() throws {
        for (name, v) in [("--content-weight", contentWeight), ("--style-weight", styleWeight), ("--tv-weight", tvWeight)] {
            if let v, !(v >= 0 && v.isFinite) { throw ValidationError("\(name) must be a non-negative number") }
        }
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the style predictor on your own images.",
        subcommands: [TrainPredictorCommand.self, TrainReportCommand.self]
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
    @Option(help: "Total optimiser steps (default 1000).") var steps: Int?
    @Option(help: "Images per step (default 8).") var batch: Int?
    @Option(help: "Crop size in pixels, a multiple of 4 (default 256).") var size: Int?
    @Option(help: "Adam learning rate (default 1e-3).") var lr: Float?
    @Option(help: "Clip the gradient to this global L2 norm.") var clip: Float?
    @Option(help: "Random seed: same seed, same data and run (default 0).") var seed: UInt64?
    @Flag(name: .customLong("no-augment"), help: "Centre-crop style images instead of Magenta's augmentation.")
    var noAugment = false
    @Option(name: .shortAndLong, help: "Where to write the trained model (safetensors).") var output: String?
    @Option(name: .customLong("checkpoint-dir"), help: "Directory for checkpoints and the log.") var checkpointDir: String?
    @Option(name: .customLong("checkpoint-every"), help: "Write a checkpoint every N steps (default 100 with --checkpoint-dir).")
    var checkpointEvery: Int?
    @Option(help: "Continue the run saved in this checkpoint.") var resume: String?
    @Flag(help: "Print one JSON object per step on stdout.") var json = false
    @OptionGroup var loss: LossOptions
    @OptionGroup var model: ModelOptions

    func validate() throws {
        if let resume {
            let fixed: [(String, Bool)] = [("--content", content != nil), ("--styles", styles != nil), ("--init", initMode != nil),
                                           ("--train-transfer", trainTransfer), ("--batch", batch != nil), ("--size", size != nil),
                                           ("--lr", lr != nil), ("--clip", clip != nil), ("--seed", seed != nil),
                                           ("--no-augment", noAugment), ("--model", model.model != nil), ("--content-weight", loss.isSet),
                                           ("-o", output != nil), ("--checkpoint-dir", checkpointDir != nil),
                                           ("--checkpoint-every", checkpointEvery != nil)]
            if let bad = fixed.first(where: { $0.1 }) {
                throw ValidationError("\(bad.0) cannot change a resumed run; --resume \(resume) takes its settings from the checkpoint (only --steps may be given)")
            }
            if !FileManager.default.fileExists(atPath: resume) { throw ValidationError("--resume \(resume): no such file") }
        } else {
            if content == nil || styles == nil { throw ValidationError("give --content DIR and --styles DIR (or --resume CKPT)") }
            if output == nil { throw ValidationError("give -o MODEL, where to write the trained model") }
            if checkpointEvery != nil && checkpointDir == nil { throw ValidationError("--checkpoint-every needs --checkpoint-dir") }
            if let n = checkpointEvery, n < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        }
        if let steps, steps < 0 { throw ValidationError("--steps must be ≥ 0") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let size, size < 16 || size % 4 != 0 { throw ValidationError("--size must be a multiple of 4, at least 16") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number") }
        if let clip, !(clip > 0 && clip.isFinite) { throw ValidationError("--clip must be a positive number") }
    }

    func run() throws {
        let trainer: Trainer
        if let resume {
            var config = try Trainer.readCheckpointConfig(resume)
            if let steps { config.steps = steps }
            trainer = try Trainer(config: config)
            try trainer.loadCheckpoint(resume)
            Terminal.note("resuming at step \(trainer.step) of \(config.steps) from \(resume)")
        } else {
            var config = TrainingConfig(content: content!, styles: styles!, model: model.path, output: output!)
            if model.model == nil && !FileManager.default.fileExists(atPath: model.path) {
                throw ModelError("no model at \(model.path); run `pastiche model fetch` first, or pass --model")
            }
            config.initMode = initMode ?? .trunk
            config.trainTransfer = trainTransfer
            config.steps = steps ?? 1000
            config.batch = batch ?? 8
            config.size = size ?? 256
            config.learningRate = lr ?? 1e-3
            config.clipNorm = clip
            config.seed = seed ?? 0
            config.augmentStyles = !noAugment
            config.checkpointDir = checkpointDir
            config.checkpointEvery = checkpointDir == nil ? 0 : (checkpointEvery ?? 100)
            config.loss = loss.config()
            trainer = try Trainer(config: config)
        }
        let encoder = JSONEncoder(); encoder.outputFormatting = [.sortedKeys]
        do {
            try trainer.run { r in
                if json, let d = try? encoder.encode(r) { print(String(decoding: d, as: UTF8.self)); fflush(stdout) }
                Terminal.progress(String(format: "step %d/%d  loss %.4g (content %.3g style %.3g tv %.3g)  %.2f samples/s  ETA %@",
                                         r.step, r.steps, r.total, r.content, r.style, r.tv, r.samplesPerSecond,
                                         formatDuration(r.eta)))
            }
        } catch {
            Terminal.endProgress()
            throw error
        }
        Terminal.endProgress()
        Terminal.note("wrote \(trainer.config.output) (\(trainer.step) steps); log \(trainer.config.logPath)")
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
            (default: the pretrained model in $PASTICHE_HOME), so two predictors are compared on \
            the same scale.
            """
    )

    @Option(parsing: .upToNextOption, help: "Content images or folders.") var content: [String] = []
    @Option(parsing: .upToNextOption, help: "Style images or folders.") var styles: [String] = []
    @Option(help: "Centre-crop size.") var size: Int = 256
    @Option(name: .customLong("loss-model"), help: "Model whose MobileNetV2 trunk is the loss network.") var lossModel: String?
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
        let contents = try Self.expand(content), styleFiles = try Self.expand(styles)
        let r = try Evaluation.run(model: weights, lossModel: lossWeights, contents: contents, styles: styleFiles,
                                   size: size, config: loss.config()) { k, n in Terminal.progress("pair \(k)/\(n)") }
        Terminal.endProgress()
        if json {
            try Terminal.printJSON(r)
        } else {
            print(String(format: "%d pairs at %d²: content %.5g  style %.5g  tv %.5g  total %.5g",
                         r.pairs, size, r.content, r.style, r.tv, r.total))
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
