import XCTest
import SwiftProtobuf
import PasticheCore
import PasticheImage
import PasticheONNX
@testable import PasticheModels
@testable import PasticheTraining
import PasticheTestSupport

/// Writes a VGG-style ONNX classifier with random He-normal weights, shaped like the ONNX model
/// zoo's vgg16-*.onnx: input "data" [1, C, 224, 224], Conv(3×3, pad 1) → Relu per conv,
/// MaxPool(2×2, s2) per block, then a classifier tail (Flatten → Gemm) the importer must ignore.
struct RandomVGGFile {
    /// Output channels of each conv, per block (default: VGG-16).
    var blocks: [[Int]] = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]
    var inputChannels = 3
    var classes = 10
    /// Opset-7 exports also list every initializer as a graph input.
    var initializersAsInputs = false
    /// An op inserted on the chain right after the first ReLU (e.g. "Add"), to break VGG-ness.
    var insertAfterFirstRelu: String? = nil

    /// conv name ("conv{b}_{k}", 1-based) → (weight [Cout, Cin, 3, 3], bias [Cout]).
    typealias Weights = [String: (weight: [Float], bias: [Float])]

    @discardableResult
    func write(to path: String, seed: UInt64) throws -> Weights {
        var rng = SplitMix64(seed: seed)
        var graph = Onnx_GraphProto()
        graph.name = "random-vgg"
        var weights: Weights = [:]

        func tensor(_ name: String, _ dims: [Int], _ values: [Float], raw: Bool) -> Onnx_TensorProto {
            var t = Onnx_TensorProto()
            t.name = name
            t.dims = dims.map(Int64.init)
            t.dataType = 1
            if raw { t.rawData = values.withUnsafeBufferPointer { Data(buffer: $0) } } else { t.floatData = values }
            return t
        }
        func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            a.name = name; a.type = .ints; a.ints = v.map(Int64.init)
            return a
        }
        func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            a.name = name; a.type = .int; a.i = Int64(v)
            return a
        }
        func node(_ op: String, _ name: String, _ inputs: [String], _ output: String, _ attributes: [Onnx_AttributeProto] = []) {
            var n = Onnx_NodeProto()
            n.opType = op; n.name = name; n.input = inputs; n.output = [output]; n.attribute = attributes
            graph.node.append(n)
        }
        func valueInfo(_ name: String, _ dims: [Int]) -> Onnx_ValueInfoProto {
            var v = Onnx_ValueInfoProto()
            v.name = name
            var tt = Onnx_TypeProto.Tensor()
            tt.elemType = 1
            for d in dims {
                var dim = Onnx_TensorShapeProto.Dimension()
                dim.dimValue = Int64(d)
                tt.shape.dim.append(dim)
            }
            v.type.tensorType = tt
            return v
        }

        graph.input.append(valueInfo("data", [1, inputChannels, 224, 224]))
        var current = "data", channels = inputChannels, side = 224
        var inserted = false
        for (b, block) in blocks.enumerated() {
            for (k, cout) in block.enumerated() {
                let name = "conv\(b + 1)_\(k + 1)"
                let sd = (2 / Float(channels * 9)).squareRoot()
                let w = (0..<(cout * channels * 9)).map { _ in rng.normal() * sd }
                let bias = (0..<cout).map { _ in rng.normal() * 0.05 }
                weights[name] = (w, bias)
                // Weights as raw_data, biases as float_data: both encodings ONNX allows.
                graph.initializer.append(tensor("\(name).weight", [cout, channels, 3, 3], w, raw: true))
                graph.initializer.append(tensor("\(name).bias", [cout], bias, raw: false))
                node("Conv", name, [current, "\(name).weight", "\(name).bias"], "\(name).out",
                     [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [1, 1]), ints("dilations", [1, 1])])
                node("Relu", "\(name).relu", ["\(name).out"], "\(name).relu.out")
                current = "\(name).relu.out"; channels = cout
                if let op = insertAfterFirstRelu, !inserted {
                    node(op, op.lowercased(), [current, current], "\(op).out")
                    current = "\(op).out"; inserted = true
                }
            }
            node("MaxPool", "pool\(b + 1)", [current], "pool\(b + 1).out", [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])])
            current = "pool\(b + 1).out"; side /= 2
        }
        // Classifier tail: Flatten → Gemm(C·7·7 → classes).
        node("Flatten", "flatten", [current], "flat", [int("axis", 1)])
        let features = channels * side * side
        let fc = (0..<(classes * features)).map { _ in rng.normal() * (1 / Float(features)).squareRoot() }
        graph.initializer.append(tensor("fc.weight", [classes, features], fc, raw: true))
        graph.initializer.append(tensor("fc.bias", [classes], [Float](repeating: 0, count: classes), raw: true))
        node("Gemm", "fc", ["flat", "fc.weight", "fc.bias"], "logits", [int("transB", 1)])
        graph.output.append(valueInfo("logits", [1, classes]))
        if initializersAsInputs {
            for t in graph.initializer { graph.input.append(valueInfo(t.name, t.dims.map(Int.init))) }
        }

        var model = Onnx_ModelProto()
        model.irVersion = 7
        model.producerName = "pastiche-tests"
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 12
        model.opsetImport = [opset]
        model.graph = graph
        let bytes: Data = try model.serializedBytes()
        try bytes.write(to: URL(fileURLWithPath: path))
        return weights
    }
}

/// VGG-16 from ONNX as the perceptual loss network (Magenta's conv1…conv4), on a randomly
/// initialised VGG-16 written by the test (no download needed).
final class VGGLossTests: XCTestCase {
    static let dir = try! makeTemporaryDirectory("pastiche-train-vgg")
    /// The full random VGG-16 (13 convs, 14.7 M conv weights, ~60 MB), written once.
    static let vgg16: (path: String, weights: RandomVGGFile.Weights) = {
        let path = dir + "/vgg16-random.onnx"
        let w = try! RandomVGGFile().write(to: path, seed: 16)
        return (path, w)
    }()

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
        super.tearDown()
    }

    // MARK: (a) import

    func testImporterFindsVGG16Blocks() throws {
        let f = try VGGImport.load(path: Self.vgg16.path)
        XCTAssertEqual(f.inputName, "data")
        XCTAssertEqual(f.architecture.map { $0.map(\.outChannels) },
                       [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]])
        XCTAssertEqual(f.architecture.flatMap { $0 }.count, 13)
        XCTAssertEqual(f.architecture.flatMap { $0 }.map(\.inChannels),
                       [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512])
        // Only conv1…conv4 are decoded by default, with the values that were written.
        XCTAssertEqual(f.blocks.count, 4)
        for (b, block) in f.blocks.enumerated() {
            for (k, conv) in block.enumerated() {
                let ref = Self.vgg16.weights["conv\(b + 1)_\(k + 1)"]!
                XCTAssertEqual(conv.weight.shape, [conv.shape.outChannels, conv.shape.inChannels, 3, 3])
                XCTAssertEqual(conv.bias.shape, [conv.shape.outChannels])
                XCTAssertEqual(conv.weight.array, ref.weight, "conv\(b + 1)_\(k + 1) weight")
                XCTAssertEqual(conv.bias.array, ref.bias, "conv\(b + 1)_\(k + 1) bias")
            }
        }
        XCTAssertEqual(try VGGImport.load(path: Self.vgg16.path, blocks: 5).blocks.count, 5)

        // An opset-7 style file (initializers listed as graph inputs too) has the same one image input.
        let small = Self.dir + "/small-opset7.onnx"
        var spec = RandomVGGFile(blocks: [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16]])
        spec.initializersAsInputs = true
        try spec.write(to: small, seed: 2)
        let s = try VGGImport.load(path: small)
        XCTAssertEqual(s.inputName, "data")
        XCTAssertEqual(s.architecture.map { $0.map(\.outChannels) }, [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16]])
    }

    // MARK: (b) forward against a naive reference

    /// Naive Double reference of VGG blocks 1–2 on the same random weights: normalise,
    /// (3×3 conv pad 1 → ReLU)×2, 2×2 max pool, (conv → ReLU)×2. Both block endpoints must
    /// match within 1e-4 · max(1, max |ref|) (Float32 GEMM sums of 576–1152 terms).
    func testBlockFeaturesMatchNaiveReference() throws {
        let net = try VGGLossNetwork.load(path: Self.vgg16.path, blocks: 2, normalization: .imagenet, pooling: .max)
        var rng = SplitMix64(seed: 3)
        let n = 2, h = 6, w = 10
        let image = Tensor(n, 3, h, w)
        for i in 0..<image.count { image.data[i] = rng.uniform() }
        let tape = net.forward(image, lastBlock: 2)

        func conv(_ x: [Double], _ cin: Int, _ h: Int, _ w: Int, _ name: String) -> [Double] {
            let (wt, b) = Self.vgg16.weights[name]!
            let cout = b.count
            var y = [Double](repeating: 0, count: n * cout * h * w)
            for i in 0..<n {
                for co in 0..<cout {
                    for oy in 0..<h {
                        for ox in 0..<w {
                            var acc = Double(b[co])
                            for ci in 0..<cin {
                                for ky in 0..<3 {
                                    let iy = oy + ky - 1
                                    if iy < 0 || iy >= h { continue }
                                    for kx in 0..<3 {
                                        let ix = ox + kx - 1
                                        if ix < 0 || ix >= w { continue }
                                        acc += Double(wt[((co * cin + ci) * 3 + ky) * 3 + kx]) * x[((i * cin + ci) * h + iy) * w + ix]
                                    }
                                }
                            }
                            y[((i * cout + co) * h + oy) * w + ox] = max(0, acc)
                        }
                    }
                }
            }
            return y
        }
        let mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]
        var x = (0..<image.count).map { k in (Double(image.data[k]) - mean[(k / (h * w)) % 3]) / std[(k / (h * w)) % 3] }
        x = conv(conv(x, 3, h, w, "conv1_1"), 64, h, w, "conv1_2")
        let conv1 = x
        let ph = h / 2, pw = w / 2
        var pooled = [Double](repeating: 0, count: n * 64 * ph * pw)
        for j in 0..<(n * 64) {
            for oy in 0..<ph {
                for ox in 0..<pw {
                    let at = { (dy: Int, dx: Int) in x[j * h * w + (2 * oy + dy) * w + 2 * ox + dx] }
                    pooled[(j * ph + oy) * pw + ox] = max(max(at(0, 0), at(0, 1)), max(at(1, 0), at(1, 1)))
                }
            }
        }
        let conv2 = conv(conv(pooled, 64, ph, pw, "conv2_1"), 128, ph, pw, "conv2_2")

        for (what, got, want) in [("conv1", tape.output(block: 1), conv1), ("conv2", tape.output(block: 2), conv2)] {
            XCTAssertEqual(got.count, want.count, what)
            let scale = max(1, want.map(abs).max()!)
            let err = zip(got.array, want).map { abs(Double($0) - $1) }.max()!
            print("VGG \(what) features vs naive: max |err| \(err), max |ref| \(scale)")
            XCTAssertLessThanOrEqual(err, 1e-4 * scale, what)
        }
        XCTAssertEqual(tape.output(block: 1).shape, [n, 64, h, w])
        XCTAssertEqual(tape.output(block: 2).shape, [n, 128, h / 2, w / 2])
    }

    // MARK: (c) finite differences of the perceptual loss through VGG

    /// Central differences of content + style + tv w.r.t. the stylized image y (1×3×16×16),
    /// through conv1…conv4 (three pools: 16 → 2). Conventions of the whole-chain test in
    /// TrainingTests: Float32, |fd − analytic| ≤ 0.05·max(|fd|, |an|) + 2e-3·(largest sampled
    /// |grad|); a ReLU kink or max-pool argmax switch inside ±h can break a sample, so ≥ 90 %
    /// must pass and none may be off by more than 2× the tolerance. h = 3e-4 (pixels in [0, 1]):
    /// at h = 1e-3 one sample was 5.6 % off, and its secant moved onto the analytic value as h
    /// fell (−0.0506, −0.0521, −0.0541, −0.0548 at h = 1e-2, 1e-3, 3e-4, 1e-4 against −0.0551),
    /// so that was curvature, not a wrong gradient. Samples: the 24 largest-gradient pixels and
    /// 24 random ones. Style and tv weights are set so that the three terms are of one size
    /// (each path is exercised). Run for ImageNet normalisation with max pooling and for
    /// Magenta's (×255, mean) with average pooling.
    func testPerceptualLossFiniteDifferencesThroughVGG() throws {
        let model = try ModelWeights.load(path: try writeRandomModel(seed: 21))
        for (normalization, pooling, h) in [(VGGNormalization.imagenet, VGGPooling.max, Float(3e-4)),
                                            (.magenta, .avg, Float(3e-4))] {
            var rng = SplitMix64(seed: 8)
            let y = Tensor(1, 3, 16, 16), content = Tensor(1, 3, 16, 16), style = Tensor(1, 3, 16, 16)
            for t in [y, content, style] { for i in 0..<t.count { t.data[i] = rng.uniform() } }
            // Unit weights first, then balance the terms.
            var config = LossConfig.vgg16(path: Self.vgg16.path, normalization: normalization, pooling: pooling)
            config.contentWeight = 1; config.styleWeight = 1; config.tvWeight = 1
            var loss = try PerceptualLoss(weights: model, config: config)
            let unit = loss.evaluate(y, targets: loss.targets(content: content, style: style), gradient: false).0
            config.styleWeight = Float(unit.content / unit.style)
            config.tvWeight = Float(unit.content / unit.tv)
            loss = try PerceptualLoss(weights: model, config: config)
            let targets = loss.targets(content: content, style: style)
            let (base, dy) = loss.evaluate(y, targets: targets, gradient: true)
            XCTAssert(base.isFinite && base.total > 0)
            let grad = dy!.array
            var order = Array(0..<grad.count).sorted { abs(grad[$0]) > abs(grad[$1]) }
            var samples = Array(order.prefix(24))
            order = Array(order.dropFirst(24)); order.shuffle(using: &rng)
            samples += order.prefix(24)
            let scale = samples.map { abs(Double(grad[$0])) }.max()!
            var passed = 0, worst = 0.0
            for k in samples {
                let v = y.data[k]
                y.data[k] = v + h
                let lp = loss.evaluate(y, targets: targets, gradient: false).0.total
                y.data[k] = v - h
                let lm = loss.evaluate(y, targets: targets, gradient: false).0.total
                y.data[k] = v
                let fd = (lp - lm) / (Double(v + h) - Double(v - h)), an = Double(grad[k])
                let err = abs(fd - an), tol = 0.05 * max(abs(fd), abs(an)) + 2e-3 * scale
                worst = max(worst, err / tol)
                if err <= tol { passed += 1 } else {
                    // Diagnose: how the secant moves with h (a kink or curvature moves it, a wrong gradient does not).
                    var more: [String] = []
                    for h2: Float in [1e-2, 3e-3, 3e-4, 1e-4] {
                        y.data[k] = v + h2
                        let a = loss.evaluate(y, targets: targets, gradient: false).0.total
                        y.data[k] = v - h2
                        let b = loss.evaluate(y, targets: targets, gradient: false).0.total
                        y.data[k] = v
                        more.append("h=\(h2): \((a - b) / Double(2 * h2))")
                    }
                    print("VGG FD miss [\(k)]: fd \(fd) analytic \(an); \(more.joined(separator: ", "))")
                }
            }
            print("VGG FD (\(normalization), \(pooling) pool): terms content \(base.content) style \(base.style) tv \(base.tv); "
                  + "\(passed)/\(samples.count) within tolerance, worst err/tol \(worst), max |grad| \(scale)")
            XCTAssertGreaterThanOrEqual(Double(passed), 0.9 * Double(samples.count), "\(normalization)")
            XCTAssertLessThan(worst, 2, "\(normalization)")
        }
    }

    // MARK: (d) training and evaluation with VGG

    /// Three optimiser steps with the VGG loss network write a model that loads; the
    /// checkpoint keeps the loss config; eval with the same config gives finite, positive terms.
    func testTrainerAndEvalWithVGGLoss() throws {
        let modelPath = try writeRandomModel(seed: 22)
        let dir = try temporaryDirectory("pastiche-train-vgg-train")
        var c = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles", model: modelPath,
                               output: dir + "/model.safetensors")
        c.size = 32; c.batch = 2; c.steps = 3; c.seed = 42; c.learningRate = 1e-3
        c.checkpointDir = dir; c.checkpointEvery = 3; c.initMode = .trunk
        c.loss = .vgg16(path: Self.vgg16.path)
        let trainer = try Trainer(config: c)
        var reports: [StepReport] = []
        try trainer.run { reports.append($0) }
        XCTAssertEqual(reports.map(\.step), [1, 2, 3])
        XCTAssert(reports.allSatisfy { $0.total.isFinite && $0.content > 0 && $0.style > 0 })
        let trained = try ModelWeights.load(path: c.output)
        XCTAssertEqual(trained.metadata["trained_steps"], "3")
        let saved = try Trainer.readCheckpointConfig(dir + "/checkpoint-00000003.safetensors")
        XCTAssertEqual(saved.loss, c.loss)

        let contents = ImageFolder.scan(fixtures + "/content").prefix(2), styles = ImageFolder.scan(fixtures + "/styles").prefix(2)
        let r = try Evaluation.run(model: trained, lossModel: try ModelWeights.load(path: modelPath),
                                   contents: Array(contents), styles: Array(styles), size: 32, config: c.loss)
        print("VGG eval: \(r.pairs) pairs, content \(r.content) style \(r.style) tv \(r.tv) total \(r.total)")
        XCTAssertEqual(r.pairs, 4)
        XCTAssert(r.content > 0 && r.style > 0 && r.tv > 0 && r.total.isFinite)
    }

    /// Checkpoints from before the VGG option (no vgg* keys) still decode, as MobileNetV2.
    func testLossConfigWithoutVGGKeysDecodes() throws {
        let old = #"{"contentBlock":5,"contentWeight":1,"styleBlocks":[0,2,5,9],"styleWeight":0.5,"tvWeight":100}"#
        let c = try JSONDecoder().decode(LossConfig.self, from: Data(old.utf8))
        XCTAssertEqual(c, LossConfig())
        let vgg = LossConfig.vgg16(path: "/x/vgg16.onnx", normalization: .magenta, pooling: .avg)
        XCTAssertEqual(try JSONDecoder().decode(LossConfig.self, from: try JSONEncoder().encode(vgg)), vgg)
    }

    // MARK: (e) files that are not VGG

    func assertOneLineError(_ path: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try VGGImport.load(path: path)
            XCTFail("\(path) was accepted", file: file, line: line)
        } catch {
            let text = "\(error)"
            print("rejected: \(text)")
            XCTAssert(error is ModelError, "\(type(of: error))", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "not one line: \(text)", file: file, line: line)
            XCTAssert(text.hasPrefix(path + ": "), text, file: file, line: line)
            for p in parts { XCTAssert(text.contains(p), "'\(p)' not in: \(text)", file: file, line: line) }
        }
    }

    func testNonVGGFilesAreRejectedWithOneLine() throws {
        let small = [[4, 4], [8, 8], [8, 8, 8], [16, 16, 16]]
        let withAdd = Self.dir + "/resnet-like.onnx"
        try RandomVGGFile(blocks: small, insertAfterFirstRelu: "Add").write(to: withAdd, seed: 4)
        assertOneLineError(withAdd, contains: ["not a VGG-style network: node 2 is Add", "after 1 conv block", "conv1…conv4"])

        let gray = Self.dir + "/gray.onnx"
        try RandomVGGFile(blocks: small, inputChannels: 1).write(to: gray, seed: 5)
        assertOneLineError(gray, contains: ["input 'data' has 1 channels"])

        let shallow = Self.dir + "/three-blocks.onnx"
        try RandomVGGFile(blocks: Array(small.prefix(3))).write(to: shallow, seed: 6)
        assertOneLineError(shallow, contains: ["node 17 is Flatten", "after 3 conv blocks"])

        let truncated = Self.dir + "/truncated.onnx"
        let full = try Data(contentsOf: URL(fileURLWithPath: Self.vgg16.path))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: truncated))
        assertOneLineError(truncated, contains: ["truncated"])

        let text = Self.dir + "/notes.onnx"
        try Data("these are not the weights you are looking for\n".utf8).write(to: URL(fileURLWithPath: text))
        assertOneLineError(text, contains: ["not an ONNX model"])

        assertOneLineError(Self.dir + "/missing.onnx", contains: ["no such file"])

        // The trainer surfaces the same line.
        var c = TrainingConfig(content: fixtures + "/content", styles: fixtures + "/styles",
                               model: try writeRandomModel(seed: 23), output: Self.dir + "/unused.safetensors")
        c.loss = .vgg16(path: withAdd)
        XCTAssertThrowsError(try Trainer(config: c)) { error in
            XCTAssert("\(error)".hasPrefix(withAdd + ": not a VGG-style network"), "\(error)")
        }
    }
}
