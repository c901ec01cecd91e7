import Foundation
import PasticheCore
import PasticheDistributed
import PasticheImage
import PasticheLibrary
import PasticheModels

/// Trains the predictor (and optionally the transfer network) on perceptual losses.
public final class Trainer {
    public let config: TrainingConfig
    public let params: ParameterSet
    public let adam: Adam
    let source: ParameterSource
    /// The perceptual loss of the Ghiasi modes (nil when training AdaIN).
    let loss: PerceptualLoss?
    /// AdaIN's loss, through the model's frozen encoder (`train adain`).
    let adainLoss: AdaINLoss?
    let baseWeights: ModelWeights
    /// Distillation: the frozen teacher predictor (inference path; no tape needed).
    var teacher: StylePredictor?
    /// Transfer distillation: the pretrained model, whose predictor embeds each style and whose
    /// transfer network paints the target.
    var teacherNetwork: Stylizer?
    /// A per-style network: the style's embedding, made once by the pretrained predictor exactly
    /// as `stylize --style-image` makes it, and fixed for the whole run ([1, 100, 1, 1]).
    public let fixedEmbedding: Tensor?
    public internal(set) var step = 0
    public internal(set) var lastCheckpoint: String?
    /// The ranks of a data-parallel run (`SingleProcess` for one): each takes its slice of every
    /// global batch, gradients are averaged with one allreduce over the flat buffer, every rank
    /// applies the same Adam update, and rank 0 alone writes the log, checkpoints and model.
    public let communicator: any Communicator

    public init(config: TrainingConfig, communicator: any Communicator = SingleProcess()) throws {
        try config.validate()
        try TrainingConfig.checkBatch(config.batch, splitsOver: communicator.size)
        self.config = config
        self.communicator = communicator
        baseWeights = try ModelWeights.load(path: config.model)
        if config.mode == .adain {
            guard baseWeights.isAdaIN else {
                throw TrainingError("\(config.model) is not an AdaIN model; train adain takes one (`pastiche model import --adain-encoder … --adain-decoder …`): its encoder is the loss network")
            }
            loss = nil
            adainLoss = AdaINLoss(weights: baseWeights, styleWeight: config.adainStyleWeight)
        } else {
            if baseWeights.isAdaIN {
                throw TrainingError("\(config.model) is an AdaIN model; these modes train Ghiasi et al.'s networks (give --model a Ghiasi model)")
            }
            loss = try PerceptualLoss(weights: baseWeights, config: config.loss)
            adainLoss = nil
        }
        var trainable: [(String, Tensor)] = []
        var rng = SplitMix64.derived(config.seed, 7, 0)
        if config.mode == .distill {
            guard baseWeights.predictorArchitecture == .standard else {
                throw TrainingError("\(config.model): the teacher must be a width-1 predictor")
            }
            teacher = StylePredictor(weights: baseWeights)
        }
        var frozen: [String: Tensor] = [:]
        if config.mode == .adain {
            // Huang & Belongie: the decoder alone, from the model's (or at random); the encoder
            // stays the model's, frozen.
            fixedEmbedding = nil
            learnedStyles = []
            for l in AdaINArchitecture.decoder {
                for (name, shape) in [(l.weightName, l.geometry.weightShape), (l.biasName, [l.outChannels])] {
                    trainable.append((name, config.transferInit == .random
                                        ? Trainer.initialTensor(name: name, shape: shape, rng: &rng) : baseWeights[name].copy()))
                }
            }
            for (name, t) in baseWeights.tensors where name.hasPrefix("adain.encoder.") { frozen[name] = t }
        } else if config.mode == .transfer {
            // Johnson et al.: the transfer network alone, for one style; the predictor only
            // embeds that style, once.
            let style = try ImageIO.read(path: config.styles)
            fixedEmbedding = Tensor(shape: [1, PredictorArchitecture.embeddingSize, 1, 1],
                                    values: Stylizer(weights: baseWeights).embedding(style: style))
            trainable += Trainer.transferParameters(config.transferInit, from: baseWeights, rng: &rng)
            learnedStyles = []
        } else if config.mode == .nStyle {
            // Dumoulin et al.: the transfer network with one free embedding per style, each
            // starting at the pretrained predictor's embedding of its image, so step 0 of a
            // pretrained start paints every style as `stylize --style-image` does.
            fixedEmbedding = nil
            learnedStyles = try Trainer.initialLearnedStyles(path: config.styles, stylizer: Stylizer(weights: baseWeights))
            trainable += Trainer.transferParameters(config.transferInit, from: baseWeights, rng: &rng)
            for (k, style) in learnedStyles.enumerated() {
                trainable.append((Trainer.learnedEmbeddingName(k), Tensor(shape: [1, PredictorArchitecture.embeddingSize, 1, 1], values: style.embedding)))
            }
        } else if config.mode == .transferDistill {
            // A narrower transfer network learns to paint as the pretrained one does, from the
            // teacher's channels that matter most (`TransferArchitecture.narrowed`) or at random.
            fixedEmbedding = nil
            learnedStyles = []
            teacherNetwork = Stylizer(weights: baseWeights)
            let student = config.transferArchitecture
            let narrowed = config.transferInit == .pretrained ? student.narrowed(from: baseWeights) : [:]
            for (name, shape) in student.parameters {
                trainable.append((name, narrowed[name] ?? Trainer.initialTransferTensor(name: name, shape: shape, rng: &rng)))
            }
        } else {
            fixedEmbedding = nil
            learnedStyles = []
            for (name, shape) in config.architecture.parameters {
                let reinit = config.initMode == .scratch || (config.initMode == .trunk && name.hasPrefix("predictor.bottleneck."))
                trainable.append((name, reinit ? Trainer.initialTensor(name: name, shape: shape, rng: &rng) : baseWeights[name].copy()))
            }
            for (name, _) in TransferArchitecture.standard.parameters {
                if config.trainTransfer { trainable.append((name, baseWeights[name].copy())) } else { frozen[name] = baseWeights[name] }
            }
        }
        params = ParameterSet(trainable)
        gradientBuffers = GradientBuffers(count: params.count)
        var adamConfig = Adam.Config(learningRate: config.learningRate, clipNorm: config.clipNorm)
        if config.learningRateDecay > 0 { adamConfig.learningRateDecay = config.learningRateDecay }
        adam = Adam(count: params.count, config: adamConfig)
        source = ParameterSource(trainable: params, frozen: frozen)
    }

    /// A per-style or N-style run's transfer network: the pretrained one's, or from scratch.
    static func transferParameters(_ start: TransferInit, from weights: ModelWeights, rng: inout SplitMix64) -> [(String, Tensor)] {
        TransferArchitecture.standard.parameters.map { name, shape in
            (name, start == .random ? initialTransferTensor(name: name, shape: shape, rng: &rng) : weights[name].copy())
        }
    }

    /// An N-style run's styles as they start (their names unique, their embeddings predicted):
    /// one per image of the style set, in its order, which `BatchSampler`'s indices follow.
    public let learnedStyles: [LearnedStyle]

    /// The trainable parameter of learned style k.
    static func learnedEmbeddingName(_ k: Int) -> String { "learned.\(k).embedding" }

    static func initialLearnedStyles(path: String, stylizer: Stylizer) throws -> [LearnedStyle] {
        let set = try ImageSet(path: path, maxSide: .max)
        var taken: Set<String> = []
        return try (0..<set.count).map { k in
            let image = try set.image(k)
            let base = StyleLibrary.defaultName(for: set.names[k])
            var name = base, n = 2
            while taken.contains(name) { name = "\(base)-\(n)"; n += 1 }
            taken.insert(name)
            return LearnedStyle(name: name, pixelHash: StyleLibrary.pixelHash(image),
                                sourceFile: URL(fileURLWithPath: set.names[k]).lastPathComponent,
                                width: image.width, height: image.height, embedding: stylizer.embedding(style: image))
        }
    }

    /// The learned styles with their current embeddings.
    public func currentLearnedStyles() -> [LearnedStyle] {
        learnedStyles.enumerated().map { k, style in
            var s = style
            s.embedding = params.tensor(Trainer.learnedEmbeddingName(k)).array
            return s
        }
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

    /// A transfer-network parameter for a run from scratch: He-normal conv weights, zero conv
    /// biases, and style maps that give every norm γ = 1, β = 0 whatever the embedding (zero
    /// weights; bias 1 for γ, 0 for β), so the network starts as a plain instance-normalised one.
    static func initialTransferTensor(name: String, shape: [Int], rng: inout SplitMix64) -> Tensor {
        let t = Tensor(shape: shape)
        if name.contains(".norm.") {
            if name.hasSuffix(".norm.gamma.bias") { t.fill(1) }
            return t
        }
        if name.hasSuffix(".bias") { return t }
        let sd = (2 / Float(shape.dropFirst().reduce(1, *))).squareRoot()
        for i in 0..<t.count { t.data[i] = rng.normal() * sd }
        return t
    }

    /// The loss terms of one batch: perceptual ones, plus the embedding MSE when distilling.
    public struct StepLoss: Sendable {
        public var perceptual = LossValues()
        /// Weighted embedding MSE (0 unless distilling).
        public var embedding: Double = 0
        /// Weighted MSE to the teacher's painting (0 unless distilling a transfer network).
        public var teacher: Double = 0
        public var total: Double { perceptual.total + embedding + teacher }
        public var isFinite: Bool { perceptual.isFinite && embedding.isFinite && teacher.isFinite }
        static func + (a: StepLoss, b: StepLoss) -> StepLoss {
            StepLoss(perceptual: a.perceptual + b.perceptual, embedding: a.embedding + b.embedding, teacher: a.teacher + b.teacher)
        }
        func scaled(_ s: Double) -> StepLoss {
            StepLoss(perceptual: perceptual.scaled(s), embedding: embedding * s, teacher: teacher * s)
        }
    }

    /// Forward and backward of one batch; leaves the gradient of the batch's mean loss in
    /// `params.gradients`. `content` may be nil only when distilling without the perceptual term.
    public func lossAndGradient(content: Tensor?, style: Tensor, styleIndices: [Int] = []) -> StepLoss {
        let sum = summedLossAndGradient(content: content, style: style, styleIndices: styleIndices)
        scaleGradients(by: 1 / Float(style.n))
        return sum.scaled(1 / Double(style.n))
    }

    /// Σ over the samples of each one's loss and gradient (the gradient left in
    /// `params.gradients`). Samples run one at a time (no op couples them: instance norm, Gram
    /// matrices and the losses are per image) and their sums are taken in a fixed pairwise tree
    /// over batch order. So the rounding of the sum depends on the batch alone, not on how it is
    /// split: two ranks holding the halves of a batch whose half is a power of two give, after
    /// their allreduce (a + b = b + a), exactly this sum.
    /// `styleIndices`: which learned style each sample is (an N-style run).
    func summedLossAndGradient(content: Tensor?, style: Tensor, styleIndices: [Int] = []) -> StepLoss {
        var tree: [(level: Int, loss: StepLoss, gradient: UnsafeMutableBufferPointer<Float>)] = []
        for b in 0..<style.n {
            params.zeroGradients()
            let learned = learnedStyles.isEmpty ? nil : Self.learnedEmbeddingName(styleIndices[b])
            let (values, dE, ptape) = forward(content: content.map { Self.sample(b, of: $0) }, style: Self.sample(b, of: style),
                                               learned: learned, gradient: true)
            if let ptape { phases.time("predictor backward") { StylePredictor.Training.backward(ptape, dEmbedding: dE!, source) } }
            if let learned { Elementwise.accumulate(params.gradient(learned), dE!) }
            var node = (level: 0, loss: values, gradient: gradientBuffers.take(copying: params.gradients))
            while let last = tree.last, last.level == node.level {
                tree.removeLast()
                Self.add(node.gradient, into: last.gradient)
                gradientBuffers.give(node.gradient)
                node = (node.level + 1, last.loss + node.loss, last.gradient)
            }
            tree.append(node)
        }
        // A batch that is not a power of two: fold what is left, the latest subtree first.
        guard var node = tree.popLast() else { params.zeroGradients(); return StepLoss() }
        while let earlier = tree.popLast() {
            Self.add(node.gradient, into: earlier.gradient)
            gradientBuffers.give(node.gradient)
            node = (earlier.level, earlier.loss + node.loss, earlier.gradient)
        }
        params.gradients.baseAddress!.update(from: node.gradient.baseAddress!, count: params.count)
        gradientBuffers.give(node.gradient)
        phases.report()
        return node.loss
    }

    /// Flat gradient buffers for the tree, kept between steps (one per level of the tree).
    let gradientBuffers: GradientBuffers

    /// Image `b` of a batch as a batch of one.
    static func sample(_ b: Int, of batch: Tensor) -> Tensor {
        if batch.n == 1 { return batch }
        let t = Tensor(1, batch.c, batch.h, batch.w, zeroed: false)
        t.pointer.update(from: batch.image(b), count: batch.c * batch.plane)
        return t
    }

    /// into[i] += x[i]
    static func add(_ x: UnsafeMutableBufferPointer<Float>, into: UnsafeMutableBufferPointer<Float>) {
        let src = UnsafePointer(x.baseAddress!), dst = into.baseAddress!
        Parallel.forEachChunk(min(x.count, into.count)) { r in for i in r { dst[i] += src[i] } }
    }

    func scaleGradients(by scale: Float) {
        let g = params.gradients.baseAddress!
        Parallel.forEachChunk(params.count) { r in for i in r { g[i] *= scale } }
    }

    /// PASTICHE_TRAIN_PHASES=1: wall time per phase of each step on stderr (where a step's time goes).
    let phases = PhaseTimer(enabled: ProcessInfo.processInfo.environment["PASTICHE_TRAIN_PHASES"] == "1")

    /// Loss only (no gradient), for tests and finite differences.
    /// The batch's mean loss, one sample at a time as training takes it (`styleIndex`: an
    /// N-style run's learned style for every sample).
    public func lossValue(content: Tensor?, style: Tensor, styleIndex: Int? = nil) -> StepLoss {
        let learned = styleIndex.map(Self.learnedEmbeddingName)
        if style.n == 1 { return forward(content: content, style: style, learned: learned, gradient: false).0 }
        let sum = (0..<style.n).map { b in
            forward(content: content.map { Self.sample(b, of: $0) }, style: Self.sample(b, of: style), learned: learned, gradient: false).0
        }.reduce(StepLoss(), +)
        return sum.scaled(1 / Double(style.n))
    }

    /// style → predictor → embedding → [embedding MSE vs teacher] + [transfer → perceptual loss];
    /// returns dLoss/dEmbedding when `gradient`. A per-style run takes its fixed embedding instead
    /// of the predictor's (no predictor tape), an N-style run the `learned` parameter.
    private func forward(content: Tensor?, style: Tensor, learned: String? = nil,
                         gradient: Bool) -> (StepLoss, Tensor?, StylePredictor.Training.Tape?) {
        if let adainLoss {
            // AdaIN: the decoder inverts t; the loss encodes its output again.
            guard let content else { preconditionFailure("train adain needs content images") }
            let targets = phases.time("loss targets") { adainLoss.targets(content: content, style: style) }
            let tape = phases.time("decoder forward") { AdaINNetwork.Training.decode(targets.t, source) }
            let (values, dG) = phases.time("loss forward+backward") { adainLoss.evaluate(tape.output, targets: targets, gradient: gradient) }
            if let dG {
                phases.time("decoder backward") {
                    _ = AdaINNetwork.Training.backward(tape, gradients: [AdaINArchitecture.decoder.last!.name: dG], source, needInput: false)
                }
            }
            return (StepLoss(perceptual: LossValues(content: values.content, style: values.style, tv: 0)), nil, nil)
        }
        let embedding: Tensor, ptape: StylePredictor.Training.Tape?
        if let learned {
            (embedding, ptape) = (params.tensor(learned), nil)
        } else if let teacherNetwork {
            // The teacher's predictor, frozen: its inference path, no tape.
            let e = teacherNetwork.predictor(style)
            (embedding, ptape) = (Tensor(shape: [1, PredictorArchitecture.embeddingSize, 1, 1], values: e.array), nil)
        } else if let fixedEmbedding {
            (embedding, ptape) = (fixedEmbedding, nil)
        } else {
            (embedding, ptape) = phases.time("predictor forward") {
                StylePredictor.Training.forward(style, source, architecture: config.architecture)
            }
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
            let ttape = phases.time("transfer forward") {
                TransferNetwork.Training.forward(content, embedding: embedding, source, architecture: config.transferArchitecture)
            }
            let targets = phases.time("loss targets") { loss!.targets(content: content, style: style) }
            let (perceptual, dy) = phases.time("loss forward+backward") {
                loss!.evaluate(ttape.output, targets: targets, gradient: gradient)
            }
            values.perceptual = perceptual
            if let teacherNetwork {
                let painted = phases.time("teacher") { teacherNetwork.transfer(content, embedding: embedding) }
                values.teacher = Double(config.teacherWeight) * Double(MSELoss.forward(ttape.output, painted))
                if let dy { MSELoss.backward(ttape.output, painted, dLoss: config.teacherWeight, da: dy, db: nil) }
            }
            if let dE {
                phases.time("transfer backward") { Elementwise.accumulate(dE, TransferNetwork.Training.backward(ttape, dOutput: dy!, source)) }
            }
        }
        return (values, dE, ptape)
    }

    /// The current weights as a model (`ModelWeights.load` / `stylize --model` accept it).
    public func model() throws -> ModelWeights {
        var tensors = baseWeights.tensors
        // Learned styles are the model's metadata (and its library's records), not parameters.
        for (k, v) in params.exportTensors() where !k.hasPrefix("learned.") { tensors[k] = v }
        var meta = baseWeights.metadata
        // The predictor no longer comes from the imported ONNX file: say what it was trained from.
        meta.removeValue(forKey: "source_predict_file"); meta.removeValue(forKey: "source_predict_sha256")
        meta["trained_from_predictor_id"] = baseWeights.predictorID
        meta["trained_steps"] = "\(step)"
        meta["training_mode"] = config.mode.rawValue
        meta["training_init"] = config.initMode.rawValue
        if config.mode == .distill { meta["predictor_width"] = config.architecture.widthText }
        if config.mode == .transfer, let fixedEmbedding {
            // The predictor is the pretrained one, unchanged (its id stays, for --strength and
            // library styles); the style the network was trained for is the model's own.
            meta.removeValue(forKey: "trained_from_predictor_id")
            meta["training_init"] = config.transferInit.rawValue
            meta[ModelWeights.kindKey] = ModelKind.perStyle.rawValue
            meta[ModelWeights.styleNameKey] = StyleLibrary.defaultName(for: config.styles)
            meta[ModelWeights.styleEmbeddingKey] = fixedEmbedding.array.map { "\($0)" }.joined(separator: ",")
        }
        if config.mode == .adain {
            meta.removeValue(forKey: "trained_from_predictor_id")
            meta["training_init"] = config.transferInit.rawValue
            meta["trained_from_encoder_id"] = baseWeights.predictorID
        }
        if config.mode == .transferDistill {
            // The predictor is the teacher's, unchanged; the transfer network is the student.
            meta.removeValue(forKey: "trained_from_predictor_id")
            meta["training_init"] = config.transferInit.rawValue
            meta[ModelWeights.transferWidthKey] = config.transferArchitecture.widthText
            meta["distilled_from_transfer_id"] = baseWeights.transferID
            for name in tensors.keys where name.hasPrefix("transfer.") && params.entry(name) == nil { tensors.removeValue(forKey: name) }
        }
        if config.mode == .nStyle {
            meta.removeValue(forKey: "trained_from_predictor_id")
            meta["training_init"] = config.transferInit.rawValue
            meta[ModelWeights.kindKey] = ModelKind.nStyle.rawValue
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            meta[ModelWeights.learnedStylesKey] = String(decoding: try encoder.encode(currentLearnedStyles()), as: UTF8.self)
        }
        meta["training_seed"] = "\(config.seed)"
        return try ModelWeights(tensors: tensors, metadata: meta)
    }

    /// Runs from the current step to `config.steps`, then writes the model to `config.output`.
    /// `report` is called after every step. A NaN/Inf loss stops with a TrainingError; the last
    /// checkpoint written stays intact.
    public func run(report: (StepReport) -> Void = { _ in }) throws {
        let adainCrops = config.mode == .adain
        let maxSide = BatchSampler.cacheSide(size: config.size, adainCrops: adainCrops)
        let content = try (config.needsContent ? config.content : nil).map { try ImageSet(path: $0, maxSide: maxSide) }
        var styles = try ImageSet(path: config.styles, maxSide: maxSide)
        if config.contentAsStyles, let content { styles = ImageSet(concatenating: [styles, content]) }
        let sampler = BatchSampler(content: content,
                                   styles: styles,
                                   batch: config.batch, size: config.size, seed: config.seed,
                                   augmentStyles: config.augmentStyles, adainCrops: adainCrops)
        let root = communicator.isRoot
        let log = root ? try JSONLLog(path: config.logPath, resumingAt: step) : nil
        if root { removeStaleTemporaries() }
        synchronizeState()
        let slots = communicator.slice(of: config.batch)
        let range = step..<config.steps
        let prefetcher = config.prefetch && !range.isEmpty
            ? Prefetcher(steps: range, make: { [sampler] in try sampler.make(step: $0, slots: slots) }) : nil
        defer { prefetcher?.cancel() }
        let start = Date()
        var done = 0
        while step < config.steps {
            let batch = try prefetcher?.next() ?? sampler.make(step: step, slots: slots)
            precondition(batch.step == step)
            var values = summedLossAndGradient(content: batch.content, style: batch.style, styleIndices: batch.styleIndices)
            let allreduceSeconds = communicator.size > 1 ? sumOverRanks(&values) : nil
            // The mean over the global batch.
            scaleGradients(by: 1 / Float(config.batch))
            values = values.scaled(1 / Double(config.batch))
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
                               embedding: config.mode == .distill ? values.embedding : nil,
                               teacher: config.mode == .transferDistill ? values.teacher : nil, total: values.total, gradNorm: norm, samplesPerSecond: sps, elapsed: elapsed,
                               eta: Double(config.steps - step) * elapsed / Double(done), allreduceSeconds: allreduceSeconds)
            guard root else { continue }
            try log?.append(r)
            report(r)
            if config.checkpointEvery > 0 && (step % config.checkpointEvery == 0 || step == config.steps),
               let path = checkpointPath(step: step) {
                try saveCheckpoint(to: path)
            }
        }
        if root { try model().save(to: config.output) }
    }

    /// Data parallelism: the sums of the ranks' gradient sums, in one allreduce over the flat
    /// buffer, and of their loss sums. Returns the seconds the gradient allreduce took.
    func sumOverRanks(_ values: inout StepLoss) -> Double {
        let t0 = Date()
        communicator.allreduceSum(params.gradients)
        let seconds = Date().timeIntervalSince(t0)
        let p = values.perceptual
        var sums = [p.content, p.style, p.tv, values.embedding, values.teacher]
        sums.withUnsafeMutableBufferPointer { communicator.allreduceSum($0) }
        values = StepLoss(perceptual: LossValues(content: sums[0], style: sums[1], tv: sums[2]), embedding: sums[3], teacher: sums[4])
        return seconds
    }

    /// Every rank starts from rank 0's parameters, Adam moments and step (a resumed checkpoint or
    /// the seeded initialisation): they then stay equal, since every rank applies the same update.
    func synchronizeState() {
        guard communicator.size > 1 else { return }
        for buffer in [params.values, adam.m, adam.v] { communicator.broadcast(UnsafeMutableRawBufferPointer(buffer), root: 0) }
        step = communicator.broadcast(step)
        adam.step = communicator.broadcast(adam.step)
    }
}

/// Flat gradient-sized buffers, reused from step to step.
final class GradientBuffers {
    let count: Int
    private var free: [UnsafeMutableBufferPointer<Float>] = []
    init(count: Int) { self.count = max(1, count) }
    deinit { for b in free { b.deallocate() } }

    func take(copying source: UnsafeMutableBufferPointer<Float>) -> UnsafeMutableBufferPointer<Float> {
        let b = free.popLast() ?? .allocate(capacity: count)
        b.baseAddress!.update(from: source.baseAddress!, count: count)
        return b
    }

    func give(_ b: UnsafeMutableBufferPointer<Float>) { free.append(b) }
}
