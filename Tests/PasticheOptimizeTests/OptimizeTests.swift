import Foundation
import XCTest
import PasticheTestSupport
import PasticheCore
import PasticheImage
@testable import PasticheModels
@testable import PasticheOptimize

final class LegacyTorchFileTests: XCTestCase {
    func testReadsTensorsWrittenFromTheFormatSpecification() throws {
        let file = LegacyTorchWriter.write([
            ("a_W_q", .uint8(shape: [2, 3, 1, 1], values: [0, 1, 2, 253, 254, 255])),
            ("a_W_table", .float32(shape: [4], values: [1.5, -2, 0.25, 1e-7])),
            ("b", .float32(shape: [300], values: (0..<300).map { Float($0) * 0.5 })),
        ])
        let t = try TorchLegacyFile.parse(file, name: "fixture")
        XCTAssertEqual(Set(t.keys), ["a_W_q", "a_W_table", "b"])
        XCTAssertEqual(t["a_W_q"]?.dtype, .uint8)
        XCTAssertEqual(t["a_W_q"]?.shape, [2, 3, 1, 1])
        XCTAssertEqual(t["a_W_q"]?.floats(), [0, 1, 2, 253, 254, 255])
        XCTAssertEqual(t["a_W_table"]?.floats(), [1.5, -2, 0.25, 1e-7])
        XCTAssertEqual(t["b"]?.floats(), (0..<300).map { Float($0) * 0.5 })
    }

    func testRefusesOtherFilesInOneLine() throws {
        let good = LegacyTorchWriter.write([("x", .float32(shape: [2], values: [1, 2]))])
        var cases: [(String, Data)] = [
            ("zip", Data([0x50, 0x4b, 0x03, 0x04]) + good),
            ("empty", Data()),
            ("truncated storage", good.dropLast(3)),
            ("truncated pickle", good.prefix(40)),
            ("not a pickle", Data("hello world, this is text".utf8)),
        ]
        // A pickle that builds something other than a tensor (os.system) is refused, not run.
        var evil = good
        if let r = evil.range(of: Data("torch._utils\n_rebuild_tensor_v2\n".utf8)) {
            evil.replaceSubrange(r, with: Data("os\nsystem\n".utf8))
        }
        cases.append(("arbitrary callable", evil))
        // Sizes from the file that overflow or go negative.
        func patched(_ data: Data, _ from: [UInt8], _ to: [UInt8]) -> Data {
            var d = data
            if let r = d.range(of: Data(from)) { d.replaceSubrange(r, with: Data(to)) }
            return d
        }
        let two = LegacyTorchWriter.write([("x", .float32(shape: [2], values: [1, 2]))])
        // shape (2,) is BININT 2 after the storage offset; make it −5, then 2^31 − 1 with count 2.
        cases.append(("negative shape", patched(two, [0x28, 0x4a, 2, 0, 0, 0, 0x74], [0x28, 0x4a, 0xfb, 0xff, 0xff, 0xff, 0x74])))
        cases.append(("huge shape", patched(two, [0x28, 0x4a, 2, 0, 0, 0, 0x74], [0x28, 0x4a, 0xff, 0xff, 0xff, 0x7f, 0x74])))
        var huge = two
        huge.replaceSubrange((two.count - 16)..<(two.count - 8), with: Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))
        cases.append(("huge storage count", huge))
        // 40 nested one-tuples, and a memoized list appended to 200,000 times (each copy as big as the last).
        var deep = Data([0x80, 0x02, 0x4e]) + Data(repeating: 0x85, count: 40) + Data([0x2e])
        deep = Data([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
                     0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e, 0x80, 0x02, 0x7d, 0x2e]) + deep
        cases.append(("nested 40 deep", deep))
        var growing = Data([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
                            0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e, 0x80, 0x02, 0x7d, 0x2e, 0x80, 0x02, 0x5d, 0x71, 0x00])
        for _ in 0..<200_000 { growing += Data([0x68, 0x00, 0x4e, 0x61, 0x71, 0x00]) }
        cases.append(("memoized list grown", growing + Data([0x2e])))
        for (what, data) in cases {
            XCTAssertThrowsError(try TorchLegacyFile.parse(data, name: "f.bin"), what) { error in
                let text = "\(error)"
                XCTAssertFalse(text.contains("\n"), "\(what): \(text)")
                XCTAssertTrue(text.hasPrefix("f.bin: "), "\(what): \(text)")
            }
        }
    }

    func testQuantizedVGGConvertsToTheDequantizedWeights() throws {
        let tensors = VGGFixture.tensors()
        let (file, expected) = LegacyTorchWriter.quantizedVGG(tensors, widths: VGGFixture.widths)
        let dir = try temporaryDirectory("pastiche-vgg")
        try file.write(to: URL(fileURLWithPath: dir + "/q.bin"))
        let (converted, metadata) = try VGG19Weights.convert(quantizedPath: dir + "/q.bin")
        XCTAssertEqual(converted.count, 32)
        for (name, values) in expected { XCTAssertEqual(converted[name]?.array, values, name) }
        try Safetensors.write(converted, metadata: metadata, to: dir + "/vgg.safetensors")
        let net = try VGG19.load(path: dir + "/vgg.safetensors")
        XCTAssertEqual(net.architecture.widths, VGGFixture.widths)
        XCTAssertEqual(net.metadata["network"], "vgg19")
        XCTAssertFalse(VGG19Weights.verified(dir + "/vgg.safetensors"), "a fixture is not the pinned VGG-19")
        // A layer missing from the file is one line naming it.
        var partial = tensors
        partial.removeValue(forKey: VGG19Architecture.weightName(VGGLayer(block: 3, conv: 4)))
        XCTAssertThrowsError(try VGG19(tensors: partial)) { XCTAssert("\($0)".contains("block3_conv4"), "\($0)") }
    }
}

final class VGG19Tests: XCTestCase {
    func testLayerNames() {
        XCTAssertEqual(VGGLayer(name: "relu4_2"), VGGLayer(block: 4, conv: 2))
        XCTAssertEqual(VGGLayer(name: "block5_relu1"), VGGLayer(block: 5, conv: 1))
        XCTAssertEqual(VGGLayer(name: "block1_conv2"), VGGLayer(block: 1, conv: 2))
        XCTAssertNil(VGGLayer(name: "relu4"))
        XCTAssertEqual(VGG19Architecture.standard.layers.count, 16)
        // 20.0 M parameters in the 16 convs (Simonyan & Zisserman's configuration E trunk).
        XCTAssertEqual(VGG19Architecture.standard.expectedParameters.reduce(0) { $0 + $1.1.reduce(1, *) }, 20_024_384)
    }

    /// The engine's forward (Winograd on planes of 2048 pixels or more, im2col below, fused
    /// ReLU) against the naive Double loops, at every ReLU through relu5_1, for both poolings, on
    /// sizes that are not multiples of 16.
    func testForwardMatchesNaiveReference() throws {
        for (pooling, size, widths) in [(VGGPooling.max, (37, 29), VGGFixture.widths), (.avg, (37, 29), VGGFixture.widths),
                                        (.max, (99, 93), VGGFixture.kernelWidths), (.avg, (99, 93), VGGFixture.kernelWidths)] {
            let net = try VGGFixture.network(pooling: pooling, widths: widths)
            let image = VGGFixture.image(width: size.0, height: size.1, seed: 3)
            var settings = ObjectiveSettings()
            settings.contentLayers = []; settings.styleLayers = [VGGLayer(block: 5, conv: 1)]
            let naive = NaiveObjective(network: net, settings: settings, content: image, styles: [image], styleWeights: [1])
            let expected = naive.features(NaiveObjective.plane(image))
            let tape = net.forward(image, through: VGGLayer(block: 5, conv: 1))
            for layer in net.architecture.layers where layer <= VGGLayer(block: 5, conv: 1) {
                let got = tape.output(layer).array, want = expected[layer]!.v
                let scale = want.map(abs).max()!
                let err = zip(got, want).map { abs(Double($0) - $1) }.max()!
                XCTAssertLessThan(err, 1e-5 * scale, "\(pooling) \(layer): max error \(err) of \(scale)")
            }
        }
    }

    /// The backward alone: Σ r·F at relu3_2 and relu5_1 (random r) against central differences.
    func testBackwardMatchesCentralDifferences() throws {
        for pooling in VGGPooling.allCases {
            let net = try VGGFixture.network(pooling: pooling, seed: 5)
            let image = VGGFixture.image(width: 20, height: 18, seed: 9)
            let layers = [VGGLayer(block: 3, conv: 2), VGGLayer(block: 5, conv: 1)]
            var rng = SplitMix64(seed: 2)
            let tape = net.forward(image, through: layers.last!)
            let probes = layers.map { l -> Tensor in
                let f = tape.output(l)
                let r = Tensor(f.n, f.c, f.h, f.w)
                for i in 0..<r.count { r.data[i] = rng.uniform(-1, 1) }
                return r
            }
            var settings = ObjectiveSettings(); settings.contentLayers = []; settings.styleLayers = layers
            let naive = NaiveObjective(network: net, settings: settings, content: image, styles: [image], styleWeights: [1])
            func value(_ x: NaiveObjective.Plane) -> Double {
                let f = naive.features(x)
                return zip(layers, probes).reduce(0.0) { sum, lp in
                    sum + zip(f[lp.0]!.v, lp.1.array).reduce(0) { $0 + $1.0 * Double($1.1) }
                }
            }
            var gradients: [VGGLayer: Tensor] = [:]
            for (l, r) in zip(layers, probes) { gradients[l] = r.copy() }
            let analytic = net.backward(tape, gradients: gradients).array
            try checkAgainstCentralDifferences(analytic, image: image, value: value, what: "VGG-19 backward (\(pooling))")
        }
    }
}

/// Central differences of a Double function of the image at 24 seeded pixels, with step 1e-5
/// (0.00255 on VGG's 0–255 scale: small, so that few ReLUs or pool maxima switch inside it). Tolerance: each checked entry within 1 % of the finite
/// difference, or within 1e-3 of the largest |gradient| (entries near zero).
func checkAgainstCentralDifferences(_ analytic: [Float], image: Tensor, value: (NaiveObjective.Plane) -> Double,
                                    what: String, samples: Int = 24, file: StaticString = #filePath, line: UInt = #line) throws {
    var rng = SplitMix64(seed: 77)
    let base = NaiveObjective.plane(image)
    let largest = analytic.map { abs(Double($0)) }.max()!
    XCTAssertGreaterThan(largest, 0, "\(what): the gradient is zero", file: file, line: line)
    let eps = 1e-5
    for _ in 0..<samples {
        let i = Int(rng.next() % UInt64(base.v.count))
        var plus = base, minus = base
        plus.v[i] += eps; minus.v[i] -= eps
        let fd = (value(plus) - value(minus)) / (2 * eps)
        let err = abs(Double(analytic[i]) - fd)
        XCTAssertLessThanOrEqual(err, max(1e-2 * abs(fd), 1e-3 * largest),
                                 "\(what) at \(i): analytic \(analytic[i]), central difference \(fd)", file: file, line: line)
    }
}

final class GatysObjectiveTests: XCTestCase {
    func fixture(_ configure: (inout ObjectiveSettings) -> Void, pooling: VGGPooling = .max, size: (Int, Int) = (32, 32),
                 widths: [Int] = VGGFixture.widths) throws -> (GatysObjective, NaiveObjective, Tensor) {
        let net = try VGGFixture.network(pooling: pooling, widths: widths)
        let content = VGGFixture.image(width: size.0, height: size.1, seed: 1)
        let styles = [VGGFixture.image(width: 40, height: 28, seed: 2), VGGFixture.image(width: 24, height: 36, seed: 4)]
        let weights = [0.3, 0.7]
        var settings = ObjectiveSettings()
        configure(&settings)
        let objective = GatysObjective(network: net, settings: settings, content: content, styles: styles, styleWeights: weights)
        let naive = NaiveObjective(network: net, settings: settings, content: content, styles: styles, styleWeights: weights)
        let x = VGGFixture.image(width: size.0, height: size.1, seed: 8)
        return (objective, naive, x)
    }

    /// The reported terms are the formula of docs/optimize.md, recomputed naively in Double.
    func testTermsMatchTheFormula() throws {
        for pooling in VGGPooling.allCases {
            let (objective, naive, x) = try fixture({ $0.tvWeight = 3; $0.contentWeight = 2; $0.styleWeight = 0.5 }, pooling: pooling,
                                                     size: (33, 27))
            let got = objective.evaluate(x, gradient: false).terms
            let want = naive.value(NaiveObjective.plane(x))
            for (name, g, w) in [("content", got.content, want.content), ("style", got.style, want.style), ("tv", got.tv, want.tv)] {
                XCTAssertGreaterThan(w, 0, name)
                XCTAssertEqual(g, w, accuracy: 1e-4 * w, "\(pooling) \(name)")
            }
        }
    }

    /// The gradient w.r.t. the pixels against central differences of the naive objective, on a
    /// 32×32 image: each term alone, then all three together.
    func testGradientMatchesCentralDifferences() throws {
        let cases: [(String, (inout ObjectiveSettings) -> Void)] = [
            ("content", { $0.styleWeight = 0 }),
            ("style", { $0.contentWeight = 0 }),
            ("tv", { $0.contentWeight = 0; $0.styleWeight = 0; $0.tvWeight = 1 }),
            ("all", { $0.tvWeight = 1 }),
        ]
        for (what, configure) in cases {
            let (objective, naive, x) = try fixture(configure)
            let g = objective.evaluate(x, gradient: true).gradient!.array
            try checkAgainstCentralDifferences(g, image: x, value: { naive.value($0).total }, what: what)
        }
        let (objective, naive, x) = try fixture({ $0.tvWeight = 1 }, pooling: .avg)
        try checkAgainstCentralDifferences(objective.evaluate(x, gradient: true).gradient!.array, image: x,
                                           value: { naive.value($0).total }, what: "all, average pooling")
        // 96×96 with wider blocks: the forward and backward convs of blocks 1 and 2 run on the
        // F(4×4) and F(2×2) Winograd kernels with their transformed weights made once.
        let (big, bigNaive, bigX) = try fixture({ $0.tvWeight = 1 }, size: (96, 96), widths: VGGFixture.kernelWidths)
        try checkAgainstCentralDifferences(big.evaluate(bigX, gradient: true).gradient!.array, image: bigX,
                                           value: { bigNaive.value($0).total }, what: "all, 96×96, every kernel", samples: 12)
    }
}

final class PixelOptimizerTests: XCTestCase {
    /// On f(x) = ½ Σ aᵢ(xᵢ − bᵢ)², a convex quadratic with condition number 100, L-BFGS
    /// converges far faster than gradient descent could; Adam moves downhill.
    func testOptimizersOnAQuadratic() {
        let n = 50
        let a = (0..<n).map { 1 + 99 * Double($0) / Double(n - 1) }, b = (0..<n).map { sin(Double($0)) }
        func f(_ x: [Float]) -> (Double, [Float]) {
            var v = 0.0
            var g = [Float](repeating: 0, count: n)
            for i in 0..<n { let d = Double(x[i]) - b[i]; v += 0.5 * a[i] * d * d; g[i] = Float(a[i] * d) }
            return (v, g)
        }
        for (name, make) in [("lbfgs", { LBFGS(history: 10) as PixelOptimizer }), ("adam", { AdamPixels(learningRate: 0.05) as PixelOptimizer })] {
            var opt = make()
            var x = [Float](repeating: 0, count: n)
            let start = f(x).0
            for _ in 0..<60 {
                let (v, g) = f(x)
                x.withUnsafeMutableBufferPointer { xp in g.withUnsafeBufferPointer { opt.step(x: xp, loss: v, gradient: $0) } }
            }
            let end = f(x).0
            if name == "lbfgs" { XCTAssertLessThan(end, 1e-6 * start, name) } else { XCTAssertLessThan(end, 0.05 * start, name) }
        }
    }

    func testOptimizationLowersTheObjectiveAtEveryScale() throws {
        let net = try VGGFixture.network()
        let content = RGBImage(tensor: VGGFixture.image(width: 48, height: 36, seed: 1))
        let style = RGBImage(tensor: VGGFixture.image(width: 40, height: 40, seed: 2))
        for kind in PixelOptimizerKind.allCases {
            var request = StyleOptimizationRequest(content: content, styles: [style], scales: [32, 48], iterations: [15, 10])
            request.optimizer = kind
            request.settings.tvWeight = 1
            var totals: [[Double]] = [[], []]
            let result = StyleOptimization(network: net).run(request, onIteration: { r, _ in totals[r.scale].append(r.terms.total) })
            XCTAssertEqual(totals.map(\.count), [16, 11], "iterations 0…N at each scale")
            XCTAssertLessThan(totals[0].last!, 0.7 * totals[0].first!, "\(kind): \(totals[0])")
            XCTAssertLessThan(totals[1].last!, totals[1].first!, "\(kind): \(totals[1])")
            XCTAssertEqual(result.image.width, 48); XCTAssertEqual(result.image.height, 36)
            XCTAssertEqual(result.iterationsRun, 25)
            XCTAssertEqual(result.evaluations, 27)
            XCTAssertFalse(result.stopped)
        }
    }

    func testStopRequestEndsTheRunWithTheImageAsItStands() throws {
        let net = try VGGFixture.network()
        let content = RGBImage(tensor: VGGFixture.image(width: 32, height: 32, seed: 1))
        let request = StyleOptimizationRequest(content: content, styles: [content], scales: [32], iterations: [100])
        var seen = 0
        var images: [(Double, RGBImage)] = []
        let result = StyleOptimization(network: net).run(request, onIteration: { r, image in
            seen += 1
            images.append((r.terms.total, image()))
        }, shouldStop: { seen >= 5 })
        XCTAssertTrue(result.stopped)
        XCTAssertEqual(result.evaluations, 5)
        XCTAssertEqual(result.iterationsRun, 4)
        // The result is the lowest objective evaluated, as it was then.
        let best = images.enumerated().min { $0.element.0 < $1.element.0 }!
        XCTAssertEqual(result.bestIteration, best.offset)
        XCTAssertEqual(result.image, best.element.1)
        XCTAssertEqual(result.final?.total, best.element.0)
    }

    func testNoiseIsSeeded() {
        let a = StyleOptimization.noise(width: 8, height: 8, seed: 3), b = StyleOptimization.noise(width: 8, height: 8, seed: 3)
        let c = StyleOptimization.noise(width: 8, height: 8, seed: 4)
        XCTAssertEqual(a, b); XCTAssertNotEqual(a, c)
    }

    /// The estimate grows with the pixels, and a 2048² L-BFGS run is planned within 12 GB.
    func testMemoryEstimate() {
        let photo = RGBImage(width: 4000, height: 3000, fill: 0.5)
        func peak(_ side: Int, _ kind: PixelOptimizerKind = .lbfgs) -> Int {
            var r = StyleOptimizationRequest(content: photo, styles: [photo], scales: [side], iterations: [1])
            r.optimizer = kind
            return StyleOptimization.estimatedPeakBytes(r, architecture: .standard)
        }
        XCTAssertLessThan(peak(512), peak(1024))
        XCTAssertLessThan(peak(1024), peak(2048))
        XCTAssertLessThan(peak(2048, .adam), peak(2048))
        let square = RGBImage(width: 2048, height: 2048, fill: 0.5)
        var r = StyleOptimizationRequest(content: square, styles: [square], scales: [2048], iterations: [1])
        r.optimizer = .lbfgs
        XCTAssertLessThan(StyleOptimization.estimatedPeakBytes(r, architecture: .standard), 12_000_000_000)
        XCTAssertEqual(StyleOptimizationRequest.defaultHistory(pixels: 512 * 512), 100)
        XCTAssertLessThan(StyleOptimizationRequest.defaultHistory(pixels: 2048 * 2048), 100)
    }
}
