import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// How the predictor starts: the pretrained weights, the pretrained MobileNetV2 trunk with a
/// re-initialised 1280→100 bottleneck, or everything initialised from scratch.
public enum PredictorInit: String, Codable, CaseIterable, Sendable {
    case pretrained, trunk, scratch
}

/// What a run minimises. `perceptual`: content + style + tv through the loss network (Ghiasi
/// et al.). `distill`: the mean squared difference between a (narrower) student predictor's
/// embedding and a teacher's on the same augmented style image (Magenta's
/// arbitrary_image_stylization_distill_mobilenet), optionally plus the perceptual loss.
public enum TrainingMode: String, Codable, CaseIterable, Sendable {
    case perceptual, distill
}

/// Everything that defines a run; stored in every checkpoint, so `--resume` needs nothing else.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var mode: TrainingMode = .perceptual
    /// Content photos; distillation without the perceptual term needs none.
    public var content: String?
    public var styles: String
    public var initMode: PredictorInit = .trunk
    public var trainTransfer = false
    public var steps = 1000
    public var batch = 8
    public var size = 256
    public var learningRate: Float = 1e-3
    public var clipNorm: Float? = nil
    public var seed: UInt64 = 0
    /// Pretrained model: the transfer network, the loss network and (for pretrained/trunk) the
    /// predictor's starting point. In distillation it is the teacher, whose predictor gives the
    /// target embeddings and whose transfer network the student's model keeps.
    public var model: String
    /// Distillation: the student predictor's MobileNetV2 width multiplier.
    public var width: Double = 1
    /// Distillation: weight of the embedding MSE.
    public var embeddingWeight: Float = 1
    /// Distillation: add the perceptual loss (content + style + tv) of the student's stylization.
    public var perceptual = false
    public var output: String
    public var checkpointDir: String? = nil
    public var checkpointEvery = 0
    public var augmentStyles = true
    public var loss = LossConfig()
    /// Background batch preparation (off: batches are made inline; results are identical).
    public var prefetch = true

    public init(content: String?, styles: String, model: String, output: String) {
        self.content = content; self.styles = styles; self.model = model; self.output = output
    }

    public func validate() throws {
        if steps < 0 { throw TrainingError("--steps must be ≥ 0") }
        if batch < 1 { throw TrainingError("--batch must be ≥ 1") }
        if size < 16 || size % 4 != 0 { throw TrainingError("--size must be a multiple of 4 and at least 16, got \(size)") }
        if !(learningRate > 0 && learningRate.isFinite) { throw TrainingError("--lr must be a positive number") }
        if let c = clipNorm, !(c > 0 && c.isFinite) { throw TrainingError("--clip must be positive") }
        if checkpointEvery < 0 { throw TrainingError("--checkpoint-every must be ≥ 0") }
        if checkpointEvery > 0 && checkpointDir == nil { throw TrainingError("--checkpoint-every needs --checkpoint-dir") }
        if needsContent && content == nil { throw TrainingError("give --content DIR (content photos)") }
        if mode == .distill {
            if !PredictorArchitecture.distillWidths.contains(width) {
                throw TrainingError("--width must be one of \(PredictorArchitecture.distillWidths.map { PredictorArchitecture(width: $0).widthText }.joined(separator: ", ")), got \(width)")
            }
            if initMode != .scratch && width != 1 {
                throw TrainingError("--init \(initMode.rawValue) copies the teacher's width-1 predictor; a width-\(PredictorArchitecture(width: width).widthText) student starts from scratch")
            }
            if trainTransfer { throw TrainingError("distillation trains the predictor only (no --train-transfer)") }
            if !(embeddingWeight >= 0 && embeddingWeight.isFinite) { throw TrainingError("--embedding-weight must be a non-negative number") }
        }
    }

    /// The student's (or trained predictor's) shape.
    public var architecture: PredictorArchitecture { mode == .distill ? PredictorArchitecture(width: width) : .standard }
    /// Whether steps stylize content photos (and so need them).
    public var needsContent: Bool { mode == .perceptual || perceptual }

    /// A config stored by any earlier version: settings added since (e.g. `mode`, `width`) take
    /// their defaults, so older checkpoints still resume.
    static func decodeStored(_ json: String, path: String) throws -> TrainingConfig {
        let bad = TrainingError("\(path): the checkpoint's config is not readable")
        guard let stored = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              var merged = try JSONSerialization.jsonObject(
                  with: JSONEncoder().encode(TrainingConfig(content: nil, styles: "", model: "", output: ""))) as? [String: Any]
        else { throw bad }
        for (key, value) in stored { merged[key] = value }
        do {
            return try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch { throw bad }
    }

    /// The JSONL log: in the checkpoint directory, else next to the output model.
    public var logPath: String {
        if let d = checkpointDir { return d + "/train.jsonl" }
        return (output as NSString).deletingPathExtension + ".train.jsonl"
    }
}

/// One step's record: what the JSONL log and the progress line show.
public struct StepReport: Codable, Sendable {
    public var step: Int
    public var steps: Int
    public var content: Double
    public var style: Double
    public var tv: Double
    /// Distillation: the weighted embedding MSE (absent in perceptual runs).
    public var embedding: Double?
    public var total: Double
    public var gradNorm: Double
    public var samplesPerSecond: Double
    public var elapsed: Double
    public var eta: Double
}

/// Trains the predictor (and optionally the transfer network) on perceptual losses.
public final class Trainer {
    public let config: TrainingConfig
    public let params: ParameterSet
    public let adam: Adam
    let source: ParameterSource
    let loss: PerceptualLoss
    let baseWeights: ModelWeights
    /// Distillation: the frozen teacher predictor (inference path; no tape needed).
    var teacher: StylePredictor?
    public private(set) var step = 0
    public private(set) var lastCheckpoint: String?

    public init(config: TrainingConfig) throws {
        try config.validate()
        self.config = config
        baseWeights = try ModelWeights.load(path: config.model)
        loss = try PerceptualLoss(weights: baseWeights, config: config.loss)
        var trainable: [(String, Tensor)] = []
        var rng = SplitMix64.derived(config.seed, 7, 0)
        if config.mode == .distill {
            guard baseWeights.predictorArchitecture == .standard else {
                throw TrainingError("\(config.model): the teacher must be a width-1 predictor")
            }
            teacher = StylePredictor(weights: baseWeights)
        }
        for (name, shape) in config.architecture.parameters {
            let reinit = config.initMode == .scratch || (config.initMode == .trunk && name.hasPrefix("predictor.bottleneck."))
            trainable.append((name, reinit ? Trainer.initialTensor(name: name, shape: shape, rng: &rng) : baseWeights[name].copy()))
        }
        var frozen: [String: Tensor] = [:]
        for (name, _) in TransferArchitecture.parameters {
            if config.trainTransfer { trainable.append((name, baseWeights[name].copy())) } else { frozen[name] = baseWeights[name] }
        }
        params = ParameterSet(trainable)
        adam = Adam(count: params.count, config: .init(learningRate: config.learningRate, clipNorm: config.clipNorm))
        source = ParameterSource(trainable: params, frozen: frozen)
    }

    /// He-normal conv weights (fan-in), zero biases; the bottleneck gets Glorot-uniform.
    static func initialTensor(name: String, shape: [Int], rng: inout SplitMix64) -> Tensor {
        let t = Tensor(shape: shape)
        if name.hasSuffix(".bias") { return t }
        let fanIn = shape.dropFirst().reduce(1, *)
        if name.hasPrefix("predictor.bottleneck.") {
            let limit = (6 / Float(fanIn + shape[0])).squareRoot()
            for i in 0..<t.count { t.data[i] = rng.uniform(-limit, limit) }
        } else {
            let sd = (2 / Float(fanIn)).squareRoot()
            for i in 0..<t.count { t.data[i] = rng.normal() * sd }
        }
        return t
    }

    /// The loss terms of one batch: perceptual ones, plus the embedding MSE when distilling.
    public struct StepLoss: Sendable {
        public var perceptual = LossValues()
        /// Weighted embedding MSE (0 unless distilling).
        public var embedding: Double = 0
        public var total: Double { perceptual.total + embedding }
        public var isFinite: Bool { perceptual.isFinite && embedding.isFinite }
    }

    /// Forward and backward of one batch; leaves gradients in `params.gradients`.
    /// `content` may be nil only when distilling without the perceptual term.
    public func lossAndGradient(content: Tensor?, style: Tensor) -> StepLoss {
        params.zeroGradients()
        let (values, dE, ptape) = forward(content: content, style: style, gradient: true)
        phases.time("predictor backward") { StylePredictor.Training.backward(ptape, dEmbedding: dE!, source) }
        params.gather()
        phases.report()
        return values
    }

    /// PASTICHE_TRAIN_PHASES=1: wall time per phase of each step on stderr (where a step's time goes).
    let phases = PhaseTimer(enabled: ProcessInfo.processInfo.environment["PASTICHE_TRAIN_PHASES"] == "1")

    /// Loss only (no gradient), for tests and finite differences.
    public func lossValue(content: Tensor?, style: Tensor) -> StepLoss {
        forward(content: content, style: style, gradient: false).0
    }

    /// style → predictor → embedding → [embedding MSE vs teacher] + [transfer → perceptual loss];
    /// returns dLoss/dEmbedding when `gradient`.
    private func forward(content: Tensor?, style: Tensor, gradient: Bool) -> (StepLoss, Tensor?, StylePredictor.Training.Tape) {
        let (embedding, ptape) = phases.time("predictor forward") {
            StylePredictor.Training.forward(style, source, architecture: config.architecture)
        }
        var values = StepLoss()
        let dE = gradient ? Tensor(shape: embedding.shape) : nil
        if let teacher {
            let target = teacher(style)
            values.embedding = Double(config.embeddingWeight) * Double(MSELoss.forward(embedding, target))
            if let dE { MSELoss.backward(embedding, target, dLoss: config.embeddingWeight, da: dE, db: nil) }
        }
        if config.needsContent {
            guard let content else { preconditionFailure("this run needs content images") }
            let ttape = phases.time("transfer forward") { TransferNetwork.Training.forward(content, embedding: embedding, source) }
            let targets = phases.time("loss targets") { loss.targets(content: content, style: style) }
            let (perceptual, dy) = phases.time("loss forward+backward") {
                loss.evaluate(ttape.output, targets: targets, gradient: gradient)
            }
            values.perceptual = perceptual
            if let dE {
                phases.time("transfer backward") { Elementwise.accumulate(dE, TransferNetwork.Training.backward(ttape, dOutput: dy!, source)) }
            }
        }
        return (values, dE, ptape)
    }

    /// The current weights as a model (`ModelWeights.load` / `stylize --model` accept it).
    public func model() throws -> ModelWeights {
        var tensors = baseWeights.tensors
        for (k, v) in params.exportTensors() { tensors[k] = v }
        var meta = baseWeights.metadata
        // The predictor no longer comes from the imported ONNX file: say what it was trained from.
        meta.removeValue(forKey: "source_predict_file"); meta.removeValue(forKey: "source_predict_sha256")
        meta["trained_from_predictor_id"] = baseWeights.predictorID
        meta["trained_steps"] = "\(step)"
        meta["training_mode"] = config.mode.rawValue
        meta["training_init"] = config.initMode.rawValue
        if config.mode == .distill { meta["predictor_width"] = config.architecture.widthText }
        meta["training_seed"] = "\(config.seed)"
        return try ModelWeights(tensors: tensors, metadata: meta)
    }

    // MARK: checkpoints

    /// Parameters, Adam moments, step and the full config (the data order and every random
    /// draw are functions of (seed, step), so those two are the RNG state), written atomically.
    public func saveCheckpoint(to path: String) throws {
        let tensors: [String: Tensor] = [
            "values": ParameterSet.flatTensor(params.values, count: params.count),
            "adam.m": ParameterSet.flatTensor(adam.m, count: params.count),
            "adam.v": ParameterSet.flatTensor(adam.v, count: params.count),
        ]
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        let meta: [String: String] = [
            "format": "pastiche-training-checkpoint-1",
            "config": String(decoding: try enc.encode(config), as: UTF8.self),
            "layout": String(decoding: try enc.encode(params.entries), as: UTF8.self),
            "step": "\(step)",
            "adam_step": "\(adam.step)",
            "rng": "splitmix64 derived(seed=\(config.seed), step=\(step))",
        ]
        try Safetensors.write(tensors, metadata: meta, to: path)
        lastCheckpoint = path
    }

    public static func readCheckpointConfig(_ path: String) throws -> TrainingConfig {
        let file = try Safetensors.read(path: path)
        guard file.metadata["format"] == "pastiche-training-checkpoint-1", let c = file.metadata["config"] else {
            throw TrainingError("\(path): not a Pastiche training checkpoint")
        }
        return try TrainingConfig.decodeStored(c, path: path)
    }

    /// Restores parameters, moments and step from a checkpoint of the same configuration.
    public func loadCheckpoint(_ path: String) throws {
        let file = try Safetensors.read(path: path)
        guard let layout = file.metadata["layout"], let s = file.metadata["step"].flatMap(Int.init),
              let a = file.metadata["adam_step"].flatMap(Int.init),
              let values = file.tensors["values"], let m = file.tensors["adam.m"], let v = file.tensors["adam.v"] else {
            throw TrainingError("\(path): not a Pastiche training checkpoint")
        }
        let entries = try JSONDecoder().decode([ParameterSet.Entry].self, from: Data(layout.utf8))
        guard entries == params.entries, values.count == params.count, m.count == params.count, v.count == params.count else {
            throw TrainingError("\(path): parameter layout differs from this run (different --train-transfer?)")
        }
        params.values.baseAddress!.update(from: values.pointer, count: params.count)
        adam.m.baseAddress!.update(from: m.pointer, count: params.count)
        adam.v.baseAddress!.update(from: v.pointer, count: params.count)
        params.scatter()
        adam.step = a
        step = s
        lastCheckpoint = path
    }

    public func checkpointPath(step: Int) -> String? {
        config.checkpointDir.map { $0 + String(format: "/checkpoint-%08d.safetensors", step) }
    }

    // MARK: the loop

    /// Runs from the current step to `config.steps`, then writes the model to `config.output`.
    /// `report` is called after every step. A NaN/Inf loss stops with a TrainingError; the last
    /// checkpoint written stays intact.
    public func run(report: (StepReport) -> Void = { _ in }) throws {
        let maxSide = BatchSampler.cacheSide(size: config.size)
        let sampler = BatchSampler(content: try (config.needsContent ? config.content : nil).map { try ImageSet(path: $0, maxSide: maxSide) },
                                   styles: try ImageSet(path: config.styles, maxSide: maxSide),
                                   batch: config.batch, size: config.size, seed: config.seed,
                                   augmentStyles: config.augmentStyles)
        let log = try JSONLLog(path: config.logPath, truncate: step == 0)
        let range = step..<config.steps
        let prefetcher = config.prefetch && !range.isEmpty ? Prefetcher(steps: range, make: sampler.make) : nil
        defer { prefetcher?.cancel() }
        let start = Date()
        var done = 0
        while step < config.steps {
            let batch = try prefetcher?.next() ?? sampler.make(step: step)
            precondition(batch.step == step)
            let values = lossAndGradient(content: batch.content, style: batch.style)
            let gradOK = (0..<params.count).allSatisfy { params.gradients[$0].isFinite }
            guard values.isFinite, gradOK else {
                let what = values.total.isNaN ? "NaN" : (values.isFinite ? "a non-finite gradient" : "infinite")
                throw TrainingError("step \(step + 1): loss is \(what); training stopped. "
                    + (lastCheckpoint.map { "Last good checkpoint: \($0)" } ?? "No checkpoint was written (use --checkpoint-every)."))
            }
            let norm = adam.update(params)
            step += 1; done += 1
            let elapsed = Date().timeIntervalSince(start)
            let sps = Double(done * config.batch) / max(elapsed, 1e-9)
            let p = values.perceptual
            let r = StepReport(step: step, steps: config.steps, content: p.content, style: p.style, tv: p.tv,
                               embedding: config.mode == .distill ? values.embedding : nil, total: values.total, gradNorm: norm, samplesPerSecond: sps, elapsed: elapsed,
                               eta: Double(config.steps - step) * elapsed / Double(done))
            try log.append(r)
            report(r)
            if config.checkpointEvery > 0 && (step % config.checkpointEvery == 0 || step == config.steps),
               let path = checkpointPath(step: step) {
                try saveCheckpoint(to: path)
            }
        }
        try model().save(to: config.output)
    }
}

/// Append-only JSON lines, flushed per line.
final class JSONLLog {
    let handle: FileHandle
    init(path: String, truncate: Bool) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        if truncate || !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw TrainingError("\(path): cannot write") }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw TrainingError("\(path): cannot write") }
        handle = h
        handle.seekToEndOfFile()
    }
    func append<T: Encodable>(_ value: T) throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        var d = try enc.encode(value); d.append(0x0A)
        handle.write(d)
    }
    deinit { try? handle.close() }
}

/// Reads a training log back (for `train report`).
public enum TrainingLog {
    public static func read(_ path: String) throws -> [StepReport] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError("\(path): no such file") }
        var out: [StepReport] = []
        for (i, line) in data.split(separator: 0x0A).enumerated() where !line.isEmpty {
            do { out.append(try JSONDecoder().decode(StepReport.self, from: Data(line))) } catch {
                throw TrainingError("\(path): line \(i + 1) is not a training log record")
            }
        }
        return out
    }

    /// Loss curves (total, content, style, tv; log y), smoothed by a running mean of `window`.
    public static func plot(_ records: [StepReport], window: Int = 10) -> RGBImage {
        func series(_ name: String, _ f: (StepReport) -> Double) -> (name: String, points: [(x: Double, y: Double)]) {
            var pts: [(x: Double, y: Double)] = []
            var acc: [Double] = []
            for r in records {
                acc.append(f(r)); if acc.count > window { acc.removeFirst() }
                pts.append((Double(r.step), acc.reduce(0, +) / Double(acc.count)))
            }
            return (name, pts)
        }
        return LossPlot.render(series: [series("total", \.total), series("content", \.content),
                                        series("style", \.style), series("tv", \.tv)],
                               title: "training loss (mean of \(window) steps)", logY: true)
    }
}

/// Magenta's benchmark: mean losses over every (content, style) pair at fixed centre crops.
public enum Evaluation {
    public struct Result: Codable, Sendable {
        public var pairs: Int
        public var content: Double
        public var style: Double
        public var tv: Double
        public var total: Double
        /// Mean squared embedding difference to a teacher (`embeddingError`), when asked for.
        public var embeddingMSE: Double?
    }

    /// Mean over style images and the 100 embedding numbers of (model − teacher)², both
    /// embedding the style as inference does (`Stylizer.styleInput`, 256²).
    public static func embeddingError(model: ModelWeights, teacher: ModelWeights, styles: [String]) throws -> Double {
        let student = Stylizer(weights: model), reference = Stylizer(weights: teacher)
        var sum = 0.0
        for s in styles {
            let img = try ImageIO.read(path: s)
            let a = student.embedding(style: img), b = reference.embedding(style: img)
            sum += zip(a, b).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)
        }
        return sum / Double(max(styles.count, 1))
    }

    /// `lossModel` supplies the loss network (keep it fixed to compare models). Style images
    /// go to the predictor as inference does (`Stylizer.styleInput`, 256²); content and style
    /// targets are centre crops at `size`.
    public static func run(model: ModelWeights, lossModel: ModelWeights, contents: [String], styles: [String],
                           size: Int, config: LossConfig, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let stylizer = Stylizer(weights: model)
        let loss = try PerceptualLoss(weights: lossModel, config: config)
        var sum = LossValues()
        var k = 0
        let contentImages = try contents.map { Augment.centre(try ImageIO.read(path: $0), size: size) }
        for s in styles {
            let img = try ImageIO.read(path: s)
            let e = stylizer.embedding(style: img)
            let target = Augment.centre(img, size: size).tensor
            for c in contentImages {
                let y = stylizer.stylize(c, embedding: e).tensor
                let t = loss.targets(content: c.tensor, style: target)
                sum = sum + loss.evaluate(y, targets: t, gradient: false).0
                k += 1
                progress(k, contents.count * styles.count)
            }
        }
        let m = sum.scaled(1 / Double(max(k, 1)))
        return Result(pairs: k, content: m.content, style: m.style, tv: m.tv, total: m.total)
    }
}

/// Accumulates named wall-clock phases and prints them as one line per report (diagnostics).
final class PhaseTimer {
    let enabled: Bool
    private var entries: [(String, Double)] = []
    init(enabled: Bool) { self.enabled = enabled }

    func time<T>(_ name: String, _ body: () -> T) -> T {
        guard enabled else { return body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = body()
        entries.append((name, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
        return r
    }

    func report() {
        guard enabled, !entries.isEmpty else { return }
        let total = entries.reduce(0) { $0 + $1.1 }
        let parts = entries.map { String(format: "%@ %.3f s", $0.0, $0.1) }.joined(separator: ", ")
        FileHandle.standardError.write(Data("phases: \(parts); total \(String(format: "%.3f", total)) s\n".utf8))
        entries.removeAll()
    }
}
