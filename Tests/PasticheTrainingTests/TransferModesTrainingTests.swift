import XCTest
import PasticheCore
import PasticheModels
@testable import PasticheTraining
import PasticheTestSupport

/// The transfer-network modes of `train transfer`: per-style (Johnson et al. 2016), N-style
/// (Dumoulin et al. 2017: the transfer network and one free embedding per style image, trained
/// together) and a narrower network distilled from the pretrained one.
final class TransferModesTrainingTests: XCTestCase {
    func nStyleConfig(_ model: String, output: String) -> TrainingConfig {
        var c = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles", model: model, output: output)
        c.mode = .nStyle
        c.size = 32; c.batch = 2; c.seed = 3; c.augmentStyles = false
        return c
    }

    /// The learned embeddings start at the predictor's embedding of each style image, one
    /// per image in path order, and the gradient of each reaches only that style's parameter;
    /// central differences agree with it on the embedding and the transfer network. Tolerance
    /// as `checkParameterGradients`: |fd − analytic| ≤ 0.05·max(|fd|, |an|) + 2e-3·(largest
    /// sampled |grad|), h = 1e-3, at least 90 % of samples and none beyond 2×.
    func testLearnedEmbeddingsStartPredictedAndTheirGradientIsRight() throws {
        let model = try writeRandomModel(seed: 21)
        var config = nStyleConfig(model, output: "/dev/null")
        config.loss.styleWeight = 1
        config.loss.tvWeight = 1
        let trainer = try Trainer(config: config)
        let styles = try ImageSet(path: config.styles, maxSide: .max)
        XCTAssertEqual(trainer.learnedStyles.count, styles.count)
        let stylizer = Stylizer(weights: try ModelWeights.load(path: model))
        for k in 0..<styles.count {
            XCTAssertEqual(trainer.params.tensor(Trainer.learnedEmbeddingName(k)).array, stylizer.embedding(style: try styles.image(k)))
        }

        var rng = SplitMix64(seed: 8)
        let content = Tensor(2, 3, 16, 16), style = Tensor(2, 3, 16, 16)
        for i in 0..<content.count { content.data[i] = rng.uniform() }
        for i in 0..<style.count { style.data[i] = rng.uniform() }
        let indices = [2, 0]
        let base = trainer.lossAndGradient(content: content, style: style, styleIndices: indices)
        XCTAssert(base.total.isFinite && base.total > 0)
        let g1 = trainer.params.gradient(Trainer.learnedEmbeddingName(1)).array
        XCTAssertTrue(g1.allSatisfy { $0 == 0 }, "a style not in the batch gets no gradient")
        XCTAssertTrue(trainer.params.gradient(Trainer.learnedEmbeddingName(2)).array.contains { $0 != 0 })
        let names = [Trainer.learnedEmbeddingName(0), Trainer.learnedEmbeddingName(2), "transfer.residual.2.conv1.norm.gamma.weight",
                     "transfer.expand.conv2.weight"]
        // The batch mean of per-sample losses, each sample with its own learned style.
        func loss() -> Double {
            (0..<2).map { b in
                trainer.lossValue(content: Trainer.sample(b, of: content), style: Trainer.sample(b, of: style), styleIndex: indices[b]).total
            }.reduce(0, +) / 2
        }
        let (passed, total, worst) = checkParameterGradients(trainer, names: names, perTensor: 3, h: 1e-3, label: "n-style", loss: loss)
        XCTAssertGreaterThanOrEqual(Double(passed), 0.9 * Double(total))
        XCTAssertLessThan(worst, 2)
    }

    /// A short run lowers every style's loss on a fixed photo, moves the embeddings away from
    /// the predicted ones, and writes them into the model's metadata exactly.
    func testShortRunLowersEveryStylesLoss() throws {
        let model = try writeRandomModel(seed: 22)
        let dir = try temporaryDirectory("pastiche-nstyle")
        var c = nStyleConfig(model, output: dir + "/n.safetensors")
        c.steps = 24; c.batch = 4; c.learningRate = 3e-3
        let t = try Trainer(config: c)
        let sampler = BatchSampler(content: try ImageSet(path: c.content!, maxSide: 100), styles: try ImageSet(path: c.styles, maxSide: 100),
                                   batch: 1, size: 32, seed: 1, augmentStyles: false)
        let photo = try sampler.make(step: 0).content!
        let styles = try ImageSet(path: c.styles, maxSide: 100)
        let targets = try (0..<styles.count).map { Augment.centre(try styles.image($0), size: 32).tensor }
        let before = targets.indices.map { t.lossValue(content: photo, style: targets[$0], styleIndex: $0).total }
        let start = t.learnedStyles.map(\.embedding)
        try t.run()
        let after = targets.indices.map { t.lossValue(content: photo, style: targets[$0], styleIndex: $0).total }
        print("n-style per-style loss: \(before) → \(after)")
        for k in before.indices { XCTAssertLessThan(after[k], before[k], "style \(k)") }
        let saved = try ModelWeights.load(path: c.output)
        XCTAssertEqual(saved.kind, .nStyle)
        XCTAssertEqual(saved.learnedStyles.map(\.embedding), t.currentLearnedStyles().map(\.embedding), "metadata round-trips bit for bit")
        XCTAssertNotEqual(saved.learnedStyles.map(\.embedding), start)
        XCTAssertFalse(saved.tensors.keys.contains { $0.hasPrefix("learned.") })
    }

    /// Fewer than two style images is one line before any work.
    func testOneStyleImageIsRefused() throws {
        let dir = try temporaryDirectory("pastiche-nstyle-one")
        try FileManager.default.copyItem(atPath: fixtures + "/styles/krita_13_drawed_swirl.jpg", toPath: dir + "/a.jpg")
        var c = nStyleConfig(try writeRandomModel(seed: 23), output: dir + "/n.safetensors")
        c.styles = dir
        XCTAssertThrowsError(try Trainer(config: c)) { error in
            XCTAssertTrue("\(error)".contains("--style-image"), "\(error)")
        }
    }

    /// A per-style run and a width-0.5 distillation each lower their loss on a fixed batch in
    /// a few steps (random weights, small crops).
    func testPerStyleAndNarrowRunsLowerTheirLoss() throws {
        let model = try writeRandomModel(seed: 24)
        let dir = try temporaryDirectory("pastiche-transfer-modes")
        var perStyle = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles/krita_13_drawed_swirl.jpg", model: model,
                                      output: dir + "/one.safetensors")
        perStyle.mode = .transfer
        var narrow = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles", model: model, output: dir + "/narrow.safetensors")
        narrow.mode = .transferDistill
        narrow.transferWidth = 0.5
        for var c in [perStyle, narrow] {
            c.size = 32; c.batch = 4; c.steps = 20; c.seed = 5; c.learningRate = 3e-3; c.augmentStyles = false
            let (fixed, before, after) = try Trainer(config: c).fixedBatchLossAroundRun()
            print("\(c.mode.rawValue) fixed-batch loss: \(before.total) → \(after.total) (teacher \(before.teacher) → \(after.teacher))")
            XCTAssertLessThan(after.total, 0.9 * before.total, c.mode.rawValue)
            // The trained weights, through the fused inference forward and the training one.
            let saved = try ModelWeights.load(path: c.output)
            let embedding = Tensor(shape: [1, PredictorArchitecture.embeddingSize, 1, 1],
                                   values: Stylizer(weights: saved).embedding(style: try ImageSet(path: c.styles, maxSide: 256).image(0)))
            let photo = Trainer.sample(0, of: fixed.content!)
            let fused = TransferNetwork(weights: saved)(photo, embedding: embedding)
            let training = TransferNetwork.Training.forward(photo, embedding: embedding, ParameterSource(trainable: nil, frozen: saved.tensors),
                                                            architecture: saved.transferArchitecture).output!
            XCTAssertLessThan(maxAbsDifference(fused, training), 1e-5, "\(c.mode.rawValue): trained weights agree")
            if c.mode == .transferDistill {
                XCTAssertGreaterThan(before.teacher, 0)
                XCTAssertLessThan(after.teacher, before.teacher)
                XCTAssertEqual(saved.transferArchitecture, TransferArchitecture(width: 0.5))
                XCTAssertEqual(saved.kind, .arbitrary)
                XCTAssertEqual(saved.predictorID, try ModelWeights.load(path: model).predictorID, "the teacher's predictor")
            }
        }
    }

    /// `--width` outside the narrower widths is refused before any work.
    func testWidthOutOfRangeIsRefused() throws {
        for width in [0.25, 1, 2] {
            var c = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles", model: try writeRandomModel(seed: 25),
                                   output: "/dev/null")
            c.mode = .transferDistill
            c.transferWidth = width
            XCTAssertThrowsError(try Trainer(config: c)) { XCTAssertTrue("\($0)".contains("--width"), "\($0)") }
        }
    }
}
