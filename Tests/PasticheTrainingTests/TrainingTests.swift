import XCTest
import PasticheCore
import PasticheModels
@testable import PasticheTraining
import PasticheTestSupport

/// Where `writeRandomModel` writes: one folder for the whole test process (a seed's file is
/// written again by each call), removed when the process exits.
private let randomModelFolder: Result<String, Error> = {
    let folder = Result { try makeTemporaryDirectory("pastiche-train-models") }
    atexit { if case .success(let folder) = randomModelFolder { removeTemporaryDirectory(folder) } }
    return folder
}()

/// Random but well-scaled weights for both networks (He-normal convs, gamma ≈ 1), so the
/// tests need no downloaded model.
func writeRandomModel(seed: UInt64) throws -> String {
    var rng = SplitMix64(seed: seed)
    var tensors: [String: Tensor] = [:]
    for (name, shape) in ModelWeights.expectedParameters {
        let t = Tensor(shape: shape)
        let fanIn = max(1, shape.dropFirst().reduce(1, *))
        if name.hasSuffix(".norm.gamma.bias") {
            t.fill(1)
        } else if name.contains(".norm.") {
            for i in 0..<t.count { t.data[i] = rng.normal() * (name.hasSuffix(".weight") ? 0.1 : 0.05) }
        } else if name.hasSuffix(".weight") {
            let sd = (2 / Float(fanIn)).squareRoot()
            for i in 0..<t.count { t.data[i] = rng.normal() * sd }
        } else {
            for i in 0..<t.count { t.data[i] = rng.normal() * 0.05 }
        }
        tensors[name] = t
    }
    let path = try randomModelFolder.get() + "/random-\(seed).safetensors"
    try ModelWeights(tensors: tensors).save(to: path)
    return path
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path


/// Central differences of `loss` against the gradient `trainer` holds (call `lossAndGradient`
/// first), on the `perTensor` largest-magnitude entries of each named tensor (well above
/// rounding noise). A sample passes when |fd − analytic| ≤ 0.05·max(|fd|, |an|) + 2e-3·(largest
/// sampled |grad|). A miss prints the secant at other steps: curvature or a kink moves it as h
/// shrinks, a wrong gradient does not. Returns (passed, samples, worst err/tol).
func checkParameterGradients(_ trainer: Trainer, names: [String], perTensor: Int, h: Float, label: String,
                             loss: () -> Double) -> (passed: Int, total: Int, worst: Double) {
    let p = trainer.params
    let grads = Array(p.gradients)
    var samples: [(String, Int)] = []
    for name in names {
        let e = p.entry(name)!
        let idx = (0..<e.count).sorted { abs(grads[e.offset + $0]) > abs(grads[e.offset + $1]) }.prefix(perTensor)
        samples += idx.map { (name, e.offset + $0) }
    }
    let scale = samples.map { abs(Double(grads[$0.1])) }.max() ?? 0
    func secant(_ k: Int, _ step: Float) -> Double {
        let v = p.values[k]
        p.values[k] = v + step
        let lp = loss()
        p.values[k] = v - step
        let lm = loss()
        p.values[k] = v
        return (lp - lm) / Double(2 * step)
    }
    var passed = 0, worst = 0.0
    for (name, k) in samples {
        let fd = secant(k, h), an = Double(grads[k])
        let err = abs(fd - an), tol = 0.05 * max(abs(fd), abs(an)) + 2e-3 * scale
        worst = max(worst, err / tol)
        if err <= tol { passed += 1 } else {
            let more = [Float(1e-2), 1e-3, 3e-4, 1e-4].map { "h=\($0): \(secant(k, $0))" }
            print("\(label) FD miss \(name)[\(k)]: fd \(fd) analytic \(an); \(more.joined(separator: ", "))")
        }
    }
    print("\(label) FD: \(passed)/\(samples.count) within tolerance, worst err/tol \(worst)")
    return (passed, samples.count, worst)
}

final class TrainingTests: XCTestCase {
    /// Central finite differences through the WHOLE chain: style → predictor → embedding →
    /// transfer network (gamma/beta maps and convs) → loss network (content, Gram style, TV).
    /// 32×32 style, 16×16 content, batch 2, predictor and transfer both trainable.
    /// Float32 throughout; h = 1e-4 (at 1e-3 the secant is still visibly curved: misses of 6–25 % that shrink with h) and the tolerance is |fd − analytic| ≤ 0.05·max(|fd|, |an|)
    /// + 2e-3·(largest sampled |grad|); a ReLU/ReLU6 kink inside ±h can break one sample, so
    /// at least 90% of the samples must pass and none may be off by more than 2×.
    func testWholeChainFiniteDifferences() throws {
        let model = try writeRandomModel(seed: 11)
        var config = TrainingConfig(content: fixtures, styles: fixtures, model: model, output: "/dev/null")
        config.trainTransfer = true
        config.initMode = .pretrained
        config.loss.styleWeight = 1
        config.loss.tvWeight = 1
        let trainer = try Trainer(config: config)
        var rng = SplitMix64(seed: 5)
        let content = Tensor(2, 3, 16, 16), style = Tensor(2, 3, 32, 32)
        for i in 0..<content.count { content.data[i] = rng.uniform() }
        for i in 0..<style.count { style.data[i] = rng.uniform() }
        let base = trainer.lossAndGradient(content: content, style: style)
        XCTAssert(base.total.isFinite && base.total > 0)
        let names = ["predictor.conv0.weight", "predictor.block.1.depthwise.weight", "predictor.block.3.expand.weight",
                     "predictor.block.16.project.bias", "predictor.conv_last.weight", "predictor.bottleneck.weight",
                     "predictor.bottleneck.bias", "transfer.contract.conv1.weight", "transfer.residual.2.conv1.norm.gamma.weight",
                     "transfer.residual.3.conv2.weight", "transfer.expand.conv1.norm.beta.bias", "transfer.expand.conv3.bias"]
        let (passed, total, worst) = checkParameterGradients(trainer, names: names, perTensor: 2, h: 1e-4, label: "whole-chain") {
            trainer.lossValue(content: content, style: style).total
        }
        XCTAssertGreaterThanOrEqual(Double(passed), 0.9 * Double(total))
        XCTAssertLessThan(worst, 2)
    }

    /// Adam with bias correction: the first step moves every parameter by lr·sign(g).
    func testAdamFirstStepAndClipping() {
        let p = ParameterSet([("a", Tensor(shape: [3], values: [1, 2, 3]))])
        let g: [Float] = [0.5, -2, 0]
        for i in 0..<3 { p.gradients[i] = g[i] }
        let adam = Adam(count: 3, config: .init(learningRate: 0.1, clipNorm: 1))
        let norm = adam.update(p)
        XCTAssertEqual(norm, (0.25 + 4.0).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(p.values[0], 0.9, accuracy: 1e-5)
        XCTAssertEqual(p.values[1], 2.1, accuracy: 1e-5)
        XCTAssertEqual(p.values[2], 3, accuracy: 1e-6)
        XCTAssertEqual(p.tensor("a").data[0], 0.9, accuracy: 1e-5)
    }

    func smallConfig(_ model: String, dir: String, steps: Int) -> TrainingConfig {
        var c = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles", model: model,
                               output: dir + "/model.safetensors")
        c.size = 32; c.batch = 2; c.steps = steps; c.seed = 42; c.learningRate = 1e-3
        c.checkpointDir = dir; c.checkpointEvery = 5; c.initMode = .trunk
        return c
    }

    /// 10 steps straight and 5 steps + resume + 5 steps give bit-identical parameters and
    /// Adam moments; the final model loads with ModelWeights.load.
    func testResumeIsExact() throws {
        let model = try writeRandomModel(seed: 3)
        let dirA = try temporaryDirectory("pastiche-train-a"), dirB = try temporaryDirectory("pastiche-train-b")
        let a = try Trainer(config: smallConfig(model, dir: dirA, steps: 10))
        try a.run()
        let b1 = try Trainer(config: smallConfig(model, dir: dirB, steps: 5))
        try b1.run()
        let ckpt = dirB + "/checkpoint-00000005.safetensors"
        var cfg = try Trainer.readCheckpointConfig(ckpt)
        XCTAssertEqual(cfg.steps, 5)
        cfg.steps = 10
        let b2 = try Trainer(config: cfg)
        try b2.loadCheckpoint(ckpt)
        XCTAssertEqual(b2.step, 5)
        try b2.run()
        XCTAssertEqual(Array(a.params.values), Array(b2.params.values))
        XCTAssertEqual(Array(a.adam.m), Array(b2.adam.m))
        XCTAssertEqual(Array(a.adam.v), Array(b2.adam.v))
        let loaded = try ModelWeights.load(path: dirA + "/model.safetensors")
        XCTAssertEqual(loaded["predictor.bottleneck.weight"].array,
                       Array(a.params.values[a.params.entry("predictor.bottleneck.weight")!.offset...].prefix(128_000)))
        // The log has one line per step, and resuming appended to it.
        XCTAssertEqual(try TrainingLog.read(dirB + "/train.jsonl").map(\.step), Array(1...10))
    }

    /// A short run on real images lowers the loss on a fixed batch.
    func testShortRunLowersLoss() throws {
        let model = try writeRandomModel(seed: 9)
        let dir = try temporaryDirectory("pastiche-train-loss")
        var c = smallConfig(model, dir: dir, steps: 25)
        c.checkpointEvery = 0; c.checkpointDir = nil; c.size = 48; c.batch = 4; c.learningRate = 3e-3
        let (_, lossBefore, lossAfter) = try Trainer(config: c).fixedBatchLossAroundRun()
        let before = lossBefore.total, after = lossAfter.total
        print("fixed-batch loss: \(before) → \(after)")
        XCTAssertLessThan(after, 0.9 * before)
    }

    func testNaNStopsWithMessage() throws {
        let model = try writeRandomModel(seed: 4)
        let dir = try temporaryDirectory("pastiche-train-nan")
        var c = smallConfig(model, dir: dir, steps: 6)
        c.learningRate = 1e30   // blows up after the first update
        let t = try Trainer(config: c)
        XCTAssertThrowsError(try t.run()) { error in
            XCTAssert("\(error)".contains("training stopped"), "\(error)")
        }
    }

    func testPackRoundTrip() throws {
        let dir = try temporaryDirectory("pastiche-train-pack")
        let n = try DataPack.pack(fixtures + "/styles", to: dir + "/s.lmdb", maxSide: 64)
        XCTAssertEqual(n, 4)
        let set = try ImageSet(path: dir + "/s.lmdb", maxSide: 64)
        XCTAssertEqual(set.count, 4)
        XCTAssertEqual(min(try set.image(0).width, try set.image(0).height), 64)
        let folder = try ImageSet(path: fixtures + "/styles", maxSide: 64)
        XCTAssertEqual(set.names, folder.names.map { String($0.dropFirst(fixtures.count + 8)) })
    }
}

extension Trainer {
    /// The loss on one fixed batch of the run's own data (its crop size, batch and style
    /// augmentation; sampler seed 1, step 0) before and after `run()`: how the short training
    /// runs of these tests are judged.
    func fixedBatchLossAroundRun() throws -> (batch: Batch, before: StepLoss, after: StepLoss) {
        let sampler = BatchSampler(content: try ImageSet(path: config.content!, maxSide: 100), styles: try ImageSet(path: config.styles, maxSide: 100),
                                   batch: config.batch, size: config.size, seed: 1, augmentStyles: config.augmentStyles)
        let fixed = try sampler.make(step: 0)
        let before = lossValue(content: fixed.content, style: fixed.style)
        try run()
        return (fixed, before, lossValue(content: fixed.content, style: fixed.style))
    }
}
