import XCTest
import PasticheCore
import PasticheModels
import PasticheImage
@testable import PasticheTraining
import PasticheTestSupport

/// AdaIN's training path (issue 33): the encoder and decoder as explicit ops with tapes, and
/// the loss, pinned to the fused inference forward and checked by central differences.
final class AdaINTrainingTests: XCTestCase {
    /// Random AdaIN weights that carry an image through every layer (as
    /// scripts/adain-torch-files.py makes them): the preprocessing conv of vgg_normalised,
    /// He-normal convs (conv1_1 scaled for its 0–255 input), small biases, and a last decoder
    /// layer that paints around mid-grey.
    static func randomModel(seed: UInt64) throws -> ModelWeights {
        var rng = SplitMix64(seed: seed)
        var tensors: [String: Tensor] = [:]
        for l in AdaINArchitecture.encoder + AdaINArchitecture.decoder {
            let w = Tensor(shape: l.geometry.weightShape), b = Tensor(shape: [l.outChannels])
            if l.name == "adain.encoder.preprocess" {
                for o in 0..<3 { w.data[o * 3 + (2 - o)] = 255 }
                for (o, m) in [Float(103.939), 116.779, 123.68].enumerated() { b.data[o] = -m }
            } else {
                var sd = (2 / Float(l.inChannels * l.kernel * l.kernel)).squareRoot()
                if l.name == "adain.encoder.conv1_1" { sd /= 40 }
                if l.name == "adain.decoder.conv1_1" { sd *= 0.25 }
                for i in 0..<w.count { w.data[i] = rng.normal() * sd }
                for i in 0..<b.count { b.data[i] = rng.normal() * 0.01 + (l.name == "adain.decoder.conv1_1" ? 0.2 : 0) }
            }
            tensors[l.weightName] = w
            tensors[l.biasName] = b
        }
        return try ModelWeights(tensors: tensors, metadata: ["architecture": ModelWeights.adainArchitecture])
    }

    func image(_ h: Int, _ w: Int, seed: UInt64) -> Tensor {
        // A smooth picture plus noise: structure for the convs to carry.
        var rng = SplitMix64(seed: seed)
        let t = Tensor(1, 3, h, w)
        for c in 0..<3 { for y in 0..<h { for x in 0..<w {
            t.data[(c * h + y) * w + x] = 0.5 + 0.3 * sin(Float(x + 2 * c) / 3) * cos(Float(y) / 4) + 0.1 * rng.uniform(-1, 1)
        } } }
        return t
    }

    /// The training forwards (explicit pad, pool, upsample and conv ops) agree with the fused
    /// inference forward at a size that is not a multiple of 8.
    func testTrainingForwardsAgreeWithInference() throws {
        let weights = try Self.randomModel(seed: 1)
        let network = AdaINNetwork(weights: weights)
        let source = ParameterSource(trainable: nil, frozen: weights.tensors)
        let x = image(30, 45, seed: 2)
        var fusedLayers: [String: Tensor] = [:]
        let fused = network.encode(x) { fusedLayers[$0] = $1 }
        let tape = AdaINNetwork.Training.encode(x, source)
        XCTAssertEqual(fused.shape, [1, 512, 4, 6])
        XCTAssertLessThan(maxAbsDifference(fused, tape.output), 1e-5 * max(1, fused.array.map(abs).max()!))
        for name in AdaINArchitecture.styleLayers {
            XCTAssertLessThan(maxAbsDifference(fusedLayers[name]!, tape.outputs[name]!), 1e-4, name)
        }
        let decodedFused = network.decode(fused), decoded = AdaINNetwork.Training.decode(fused, source).output
        XCTAssertEqual(decoded.shape, [1, 3, 32, 48])
        let d = maxAbsDifference(decodedFused, decoded)
        print("AdaIN training vs inference forward, 45×30: decoder max|Δ| \(d)")
        XCTAssertLessThan(d, 1e-5)
    }

    /// dL/d(decoder parameters) through decode → encode → content and μ/σ style losses →
    /// encoder backward (ceil pooling, reflect padding) → decoder backward, against central
    /// differences (Float32, h = 3e-4; at 1e-3 the worst sample sat at 0.99 of the tolerance and
    /// fell to 0.58 at 3e-4: curvature, not a wrong gradient) on the largest-gradient entries of
    /// six decoder tensors.
    /// A sample passes when |fd − an| ≤ 0.05·max(|fd|, |an|) + 2e-3·(largest sampled |grad|);
    /// at least 90 % must pass and none by more than 2×.
    func testDecoderGradientMatchesCentralDifferences() throws {
        let weights = try Self.randomModel(seed: 3)
        let names = ["adain.decoder.conv4_1.weight", "adain.decoder.conv3_1.bias", "adain.decoder.conv2_2.weight",
                     "adain.decoder.conv1_2.weight", "adain.decoder.conv1_1.weight", "adain.decoder.conv1_1.bias"]
        let decoderNames = AdaINArchitecture.decoder.flatMap { [$0.weightName, $0.biasName] }
        let params = ParameterSet(decoderNames.map { ($0, weights[$0].copy()) })
        var frozen = weights.tensors
        for n in decoderNames { frozen.removeValue(forKey: n) }
        let source = ParameterSource(trainable: params, frozen: frozen)
        let loss = AdaINLoss(weights: weights)
        let targets = loss.targets(content: image(16, 16, seed: 4), style: image(24, 20, seed: 5))
        func value() -> Double { loss.evaluate(AdaINNetwork.Training.decode(targets.t, source).output, targets: targets, gradient: false).0.total }

        params.zeroGradients()
        let tape = AdaINNetwork.Training.decode(targets.t, source)
        let (values, dG) = loss.evaluate(tape.output, targets: targets, gradient: true)
        XCTAssert(values.content > 0 && values.style > 0, "both terms present")
        _ = AdaINNetwork.Training.backward(tape, gradients: [AdaINArchitecture.decoder.last!.name: dG!], source, needInput: false)
        let grads = Array(params.gradients)
        var samples: [Int] = []
        for name in names {
            let e = params.entry(name)!
            samples += (0..<e.count).sorted { abs(grads[e.offset + $0]) > abs(grads[e.offset + $1]) }.prefix(3).map { e.offset + $0 }
        }
        let scale = samples.map { abs(Double(grads[$0])) }.max() ?? 0
        var passed = 0, worst = 0.0
        for k in samples {
            let v = params.values[k], h: Float = 3e-4
            params.values[k] = v + h; let plus = value()
            params.values[k] = v - h; let minus = value()
            params.values[k] = v
            let fd = (plus - minus) / Double(2 * h), an = Double(grads[k])
            let tolerance = 0.05 * max(abs(fd), abs(an)) + 2e-3 * scale
            worst = max(worst, abs(fd - an) / tolerance)
            if abs(fd - an) <= tolerance { passed += 1 } else { print("AdaIN FD miss [\(k)]: fd \(fd) analytic \(an)") }
        }
        print("AdaIN decoder FD: \(passed)/\(samples.count) within tolerance, worst err/tol \(worst) (loss \(values.content) + \(values.style))")
        XCTAssertGreaterThanOrEqual(Double(passed), 0.9 * Double(samples.count))
        XCTAssertLessThan(worst, 2)
    }

    /// `train adain`'s mode: a short run from a random decoder lowers the loss on a fixed batch,
    /// leaves the encoder untouched, and writes an AdaIN model.
    func testShortRunLowersTheLossAndKeepsTheEncoder() throws {
        let dir = try temporaryDirectory("pastiche-adain-train")
        let modelPath = dir + "/adain.safetensors"
        let base = try Self.randomModel(seed: 6)
        try base.save(to: modelPath)
        var c = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles", model: modelPath, output: dir + "/out.safetensors")
        c.mode = .adain
        c.transferInit = .random
        c.size = 32; c.batch = 2; c.steps = 30; c.seed = 2; c.learningRate = 1e-3; c.learningRateDecay = 5e-5; c.augmentStyles = false
        let (_, lossBefore, lossAfter) = try Trainer(config: c).fixedBatchLossAroundRun()
        let before = lossBefore.total, after = lossAfter.total
        print("AdaIN fixed-batch loss: \(before) → \(after)")
        XCTAssertLessThan(after, 0.9 * before)
        let trained = try ModelWeights.load(path: c.output)
        XCTAssertEqual(trained.kind, .adain)
        XCTAssertEqual(trained.predictorID, base.predictorID, "the encoder is not trained")
        XCTAssertNotEqual(trained["adain.decoder.conv1_1.weight"].array, base["adain.decoder.conv1_1.weight"].array)
    }

    /// AdaIN's training crops (naoto0804's Resize((512, 512)) then RandomCrop(256), at any
    /// size): each is a size² window of the whole image squeezed to (2·size)², at offsets that
    /// vary from draw to draw; the sampler gives them to content and style alike.
    func testAdaINCropsAreRandomWindowsOfTheSquareResize() throws {
        let image = try ImageSet(path: fixtures + "/content", maxSide: 64).image(0)
        XCTAssertNotEqual(image.width, image.height, "a non-square photo, so the squeeze shows")
        let square = image.resized(width: 32, height: 32, filter: .bilinear)
        var rng = SplitMix64(seed: 9)
        var offsets = Set<[Int]>()
        for _ in 0..<12 {
            let crop = Augment.adainCrop(image, size: 16, rng: &rng)
            XCTAssertEqual([crop.width, crop.height], [16, 16])
            let found = (0...16).flatMap { y in (0...16).map { x in [x, y] } }.first { o in
                square.cropped(x: o[0], y: o[1], width: 16, height: 16).pixels == crop.pixels
            }
            XCTAssertNotNil(found, "a window of the (2·size)² resize")
            if let found { offsets.insert(found) }
        }
        XCTAssertGreaterThan(offsets.count, 6, "random offsets")
        let set = try ImageSet(path: fixtures + "/content", maxSide: BatchSampler.cacheSide(size: 16, adainCrops: true))
        let batch = try BatchSampler(content: set, styles: set, batch: 2, size: 16, seed: 4, adainCrops: true).make(step: 0)
        XCTAssertEqual(batch.content!.shape, [2, 3, 16, 16])
        XCTAssertEqual(batch.style.shape, [2, 3, 16, 16])
    }
}
