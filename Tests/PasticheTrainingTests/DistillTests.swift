import XCTest
import PasticheCore
import PasticheModels
@testable import PasticheTraining
import PasticheTestSupport

/// `train distill`: width-multiplied students, the embedding MSE and its gradient, and a
/// student model that the inference path runs.
final class DistillTests: XCTestCase {
    func distillConfig(teacher: String, dir: String, width: Double, steps: Int) -> TrainingConfig {
        var c = TrainingConfig(content: nil, styles: fixtures + "/styles", model: teacher, output: dir + "/student.safetensors")
        c.mode = .distill
        c.width = width
        c.initMode = .scratch
        c.size = 32; c.batch = 2; c.steps = steps; c.seed = 8; c.learningRate = 1e-3
        return c
    }

    /// Channel counts follow MobileNetV2's `_make_divisible(c · width, 8)`; the last conv keeps
    /// 1280 channels below width 1; width 1 is exactly Magenta's predictor.
    func testWidthMultiplierChannels() {
        let half = PredictorArchitecture(width: 0.5)
        XCTAssertEqual(half.firstChannels, 16)
        XCTAssertEqual(half.lastChannels, 1280)
        // stage widths 16, 24, 32, 64, 96, 160, 320 × 0.5 → 8, 16 (12 rounds up), 16, 32, 48, 80, 160
        XCTAssertEqual(half.blocks.map(\.outChannels),
                       [8, 16, 16, 16, 16, 16, 32, 32, 32, 32, 48, 48, 48, 80, 80, 80, 160])
        let threeQuarters = PredictorArchitecture(width: 0.75)
        XCTAssertEqual(threeQuarters.firstChannels, 24)
        XCTAssertEqual(threeQuarters.blocks.map(\.outChannels).uniqued(), [16, 24, 48, 72, 120, 240])
        XCTAssertEqual(PredictorArchitecture(width: 1).blocks.map(\.outChannels).uniqued(), [16, 24, 32, 64, 96, 160, 320])
        for arch in [half, threeQuarters, .standard] {
            XCTAssert(arch.blocks.allSatisfy { $0.outChannels % 8 == 0 })
            XCTAssertEqual(Set(arch.parameters.map(\.0)), Set(PredictorArchitecture.standard.parameters.map(\.0)),
                           "every width has the same parameter names")
        }
        XCTAssertLessThan(half.flops(h: 256, w: 256), 0.4 * PredictorArchitecture.standard.flops(h: 256, w: 256))
    }

    /// d(embedding MSE)/dθ of a width-0.5 student against central differences, Float32,
    /// h = 3e-4 (at 1e-3 one depthwise weight sat on curvature: its secant went 1.74 → 2.24 →
    /// 2.38 for h = 1e-2 → 1e-3 → 3e-4, analytic 2.379); |fd − analytic| ≤ 0.05·max(|fd|, |an|) + 2e-3·(largest sampled |grad|), at least
    /// 90 % of samples (a ReLU6 kink inside ±h can break one) and none off by more than 2×.
    func testEmbeddingLossGradientMatchesFiniteDifferences() throws {
        let teacher = try writeRandomModel(seed: 21)
        let trainer = try Trainer(config: distillConfig(teacher: teacher, dir: temporaryDirectory("pastiche-train-distill-fd"), width: 0.5, steps: 1))
        var rng = SplitMix64(seed: 2)
        let style = Tensor(2, 3, 32, 32)
        for i in 0..<style.count { style.data[i] = rng.uniform() }
        let base = trainer.lossAndGradient(content: nil, style: style)
        XCTAssert(base.embedding > 0 && base.perceptual.total == 0, "\(base)")
        let names = ["predictor.conv0.weight", "predictor.block.1.depthwise.weight", "predictor.block.4.expand.bias",
                     "predictor.block.12.project.weight", "predictor.conv_last.weight", "predictor.bottleneck.weight",
                     "predictor.bottleneck.bias"]
        let (passed, total, worst) = checkParameterGradients(trainer, names: names, perTensor: 3, h: 3e-4, label: "distill") {
            trainer.lossValue(content: nil, style: style).total
        }
        XCTAssertGreaterThan(trainer.params.gradientNorm(), 0)
        XCTAssertGreaterThanOrEqual(Double(passed), 0.9 * Double(total))
        XCTAssertLessThan(worst, 2)
    }

    /// A short run on real style images brings the student's embeddings towards the teacher's
    /// on a fixed batch, and the written model runs through the inference predictor with the
    /// same result as the training path.
    func testShortDistillRunLowersEmbeddingErrorAndModelLoads() throws {
        let teacher = try writeRandomModel(seed: 22)
        let dir = try temporaryDirectory("pastiche-train-distill-run")
        var c = distillConfig(teacher: teacher, dir: dir, width: 0.5, steps: 30)
        c.size = 48; c.batch = 4; c.learningRate = 2e-3
        let trainer = try Trainer(config: c)
        let sampler = BatchSampler(content: nil, styles: try ImageSet(path: c.styles, maxSide: 100), batch: 4, size: 48, seed: 99)
        let fixed = try sampler.make(step: 0)
        XCTAssertNil(fixed.content)
        let before = trainer.lossValue(content: nil, style: fixed.style).embedding
        try trainer.run()
        let after = trainer.lossValue(content: nil, style: fixed.style).embedding
        print("distill fixed-batch embedding MSE: \(before) → \(after)")
        XCTAssertLessThan(after, 0.5 * before)

        let student = try ModelWeights.load(path: c.output)
        XCTAssertEqual(student.predictorArchitecture, PredictorArchitecture(width: 0.5))
        XCTAssertEqual(student.metadata["training_mode"], "distill")
        XCTAssertNotEqual(student.predictorID, try ModelWeights.load(path: teacher).predictorID)
        // The teacher's transfer network is kept unchanged.
        XCTAssertEqual(student["transfer.residual.3.conv1.weight"].array,
                       try ModelWeights.load(path: teacher)["transfer.residual.3.conv1.weight"].array)
        let inference = StylePredictor(weights: student)(fixed.style)
        let (training, _) = StylePredictor.Training.forward(fixed.style, trainer.source, architecture: c.architecture)
        let maxDiff = maxAbsDifference(inference, training)
        XCTAssertLessThan(maxDiff, 1e-5, "inference and training predictors disagree")
    }

    /// 4 steps straight and 2 + resume + 2 give bit-identical student parameters.
    func testDistillResumeIsExact() throws {
        let teacher = try writeRandomModel(seed: 23)
        let dirA = try temporaryDirectory("pastiche-train-distill-a"), dirB = try temporaryDirectory("pastiche-train-distill-b")
        let a = try Trainer(config: distillConfig(teacher: teacher, dir: dirA, width: 0.75, steps: 4))
        try a.run()
        var cb = distillConfig(teacher: teacher, dir: dirB, width: 0.75, steps: 2)
        cb.checkpointDir = dirB; cb.checkpointEvery = 2
        try Trainer(config: cb).run()
        var resumed = try Trainer.readCheckpointConfig(dirB + "/checkpoint-00000002.safetensors")
        XCTAssertEqual(resumed.mode, .distill)
        XCTAssertEqual(resumed.width, 0.75)
        resumed.steps = 4
        let b = try Trainer(config: resumed)
        try b.loadCheckpoint(dirB + "/checkpoint-00000002.safetensors")
        try b.run()
        XCTAssertEqual(Array(a.params.values), Array(b.params.values))
    }

    /// A checkpoint written before distillation existed (its config has no mode, width,
    /// embeddingWeight or perceptual keys) still resumes, as a perceptual run.
    func testCheckpointWithoutNewerSettingsResumes() throws {
        let model = try writeRandomModel(seed: 25)
        let dir = try temporaryDirectory("pastiche-train-old-ckpt")
        var c = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles", model: model,
                               output: dir + "/model.safetensors")
        c.size = 32; c.batch = 1; c.steps = 1; c.checkpointDir = dir; c.checkpointEvery = 1
        try Trainer(config: c).run()
        let ckpt = dir + "/checkpoint-00000001.safetensors"
        let file = try Safetensors.read(path: ckpt)
        var config = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
        for key in ["mode", "width", "embeddingWeight", "perceptual"] { XCTAssertNotNil(config.removeValue(forKey: key), key) }
        var meta = file.metadata
        meta["config"] = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        try Safetensors.write(file.tensors, metadata: meta, to: ckpt)

        var old = try Trainer.readCheckpointConfig(ckpt)
        XCTAssertEqual(old.mode, .perceptual)
        XCTAssertEqual(old.width, 1)
        XCTAssertEqual(old.size, 32)
        old.steps = 2
        let t = try Trainer(config: old)
        try t.loadCheckpoint(ckpt)
        try t.run()
        XCTAssertEqual(t.step, 2)
    }

    func testBadDistillSettingsAreRejected() throws {
        let teacher = try writeRandomModel(seed: 24)
        let dir = try temporaryDirectory("pastiche-train-distill-bad")
        var c = distillConfig(teacher: teacher, dir: dir, width: 0.6, steps: 1)
        XCTAssertThrowsError(try Trainer(config: c)) { XCTAssert("\($0)".contains("--width"), "\($0)") }
        c.width = 0.5; c.initMode = .pretrained
        XCTAssertThrowsError(try Trainer(config: c)) { XCTAssert("\($0)".contains("from scratch"), "\($0)") }
        c.initMode = .scratch; c.perceptual = true
        XCTAssertThrowsError(try Trainer(config: c)) { XCTAssert("\($0)".contains("--content"), "\($0)") }
        // A student cannot teach: the teacher must be a width-1 predictor.
        c.perceptual = false
        try Trainer(config: c).run()
        var again = try distillConfig(teacher: c.output, dir: temporaryDirectory("pastiche-train-distill-bad2"), width: 0.5, steps: 1)
        again.seed = 1
        XCTAssertThrowsError(try Trainer(config: again)) { XCTAssert("\($0)".contains("teacher"), "\($0)") }
    }
}

extension Array where Element: Hashable {
    /// The distinct elements in first-seen order.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
