import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

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
    public internal(set) var step = 0
    public internal(set) var lastCheckpoint: String?

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

    /// Runs from the current step to `config.steps`, then writes the model to `config.output`.
    /// `report` is called after every step. A NaN/Inf loss stops with a TrainingError; the last
    /// checkpoint written stays intact.
    public func run(report: (StepReport) -> Void = { _ in }) throws {
        let maxSide = BatchSampler.cacheSide(size: config.size)
        let sampler = BatchSampler(content: try (config.needsContent ? config.content : nil).map { try ImageSet(path: $0, maxSide: maxSide) },
                                   styles: try ImageSet(path: config.styles, maxSide: maxSide),
                                   batch: config.batch, size: config.size, seed: config.seed,
                                   augmentStyles: config.augmentStyles)
        let log = try JSONLLog(path: config.logPath, resumingAt: step)
        removeStaleTemporaries()
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
