import Foundation
import XCTest
import PasticheCore
import SwiftProtobuf
import PasticheONNX
@testable import PasticheModels

/// `--loss-network` (a VGG-16 ONNX file as the loss network) on `eval` and `train predictor`.
final class VGGCLITests: CLITestCase {
    /// A tiny VGG-style ONNX graph (4 blocks of 3×3 conv + ReLU, 2×2 max pools between them,
    /// random weights): the smallest file the importer accepts.
    func writeTinyVGG(to path: String) throws {
        var rng = SplitMix64(seed: 7)
        func uniform() -> Float { Float(rng.next() >> 40) / Float(1 << 24) - 0.5 }
        func ints(_ name: String, _ v: [Int64]) -> Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            a.name = name; a.type = .ints; a.ints = v
            return a
        }
        var graph = Onnx_GraphProto()
        var input = Onnx_ValueInfoProto()
        input.name = "data"
        graph.input = [input]
        var current = "data", channels = 3
        for (b, block) in [[4, 4], [8, 8], [8, 8, 8], [8, 8, 8]].enumerated() {
            for (k, cout) in block.enumerated() {
                let name = "conv\(b + 1)_\(k + 1)"
                var w = Onnx_TensorProto(), bias = Onnx_TensorProto()
                w.name = name + ".w"; w.dataType = 1; w.dims = [Int64(cout), Int64(channels), 3, 3]
                w.floatData = (0..<(cout * channels * 9)).map { _ in uniform() }
                bias.name = name + ".b"; bias.dataType = 1; bias.dims = [Int64(cout)]
                bias.floatData = (0..<cout).map { _ in uniform() * 0.1 }
                graph.initializer += [w, bias]
                var conv = Onnx_NodeProto(), relu = Onnx_NodeProto()
                conv.opType = "Conv"; conv.input = [current, w.name, bias.name]; conv.output = [name]
                conv.attribute = [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1])]
                relu.opType = "Relu"; relu.input = [name]; relu.output = [name + ".relu"]
                graph.node += [conv, relu]
                current = name + ".relu"; channels = cout
            }
            var pool = Onnx_NodeProto()
            pool.opType = "MaxPool"; pool.input = [current]; pool.output = ["pool\(b + 1)"]
            pool.attribute = [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])]
            graph.node.append(pool)
            current = "pool\(b + 1)"
        }
        var model = Onnx_ModelProto()
        model.irVersion = 7
        model.graph = graph
        let bytes: Data = try model.serializedBytes()
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    func testEvalWithVGGLossNetwork() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let vgg = scratch + "/tiny-vgg.onnx"
        try writeTinyVGG(to: vgg)
        func eval(_ extra: [String]) throws -> [String: Double] {
            let r = try ok(["eval", "--content", photo, "--styles", vangogh, "--size", "32", "--json"] + extra, withLibrary: false)
            let d = try XCTUnwrap(try json(r) as? [String: Any])
            return d.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
        let withVGG = try eval(["--loss-network", vgg])
        let magenta = try eval(["--loss-network", vgg, "--vgg-normalize", "magenta", "--vgg-pooling", "avg"])
        let mobileNet = try eval([])
        for r in [withVGG, magenta, mobileNet] {
            XCTAssertEqual(r["pairs"], 1)
            for k in ["content", "style", "tv", "total"] { XCTAssert(r[k].map { $0.isFinite && $0 > 0 } ?? false, "\(k): \(r)") }
        }
        // A different loss network and normalisation measure different numbers.
        XCTAssertNotEqual(withVGG["content"], mobileNet["content"])
        XCTAssertNotEqual(withVGG["content"], magenta["content"])
    }

    func testBadLossNetworkFailsWithOneLine() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let eval = ["eval", "--content", photo, "--styles", vangogh, "--size", "32"]
        let bad = scratch + "/notes.onnx"
        try Data("not a network\n".utf8).write(to: URL(fileURLWithPath: bad))
        var line = try fails(eval + ["--loss-network", bad], withLibrary: false)
        XCTAssert(line.contains("notes.onnx: not an ONNX model"), line)

        let missing = scratch + "/missing.onnx"
        line = try fails(eval + ["--loss-network", missing], withLibrary: false)
        XCTAssert(line.contains("--loss-network \(missing): no such file"), line)

        line = try fails(eval + ["--vgg-normalize", "magenta"], withLibrary: false)
        XCTAssert(line.contains("--vgg-normalize needs --loss-network"), line)

        line = try fails(eval + ["--loss-network", bad, "--vgg-normalize", "caffe"], withLibrary: false)
        XCTAssert(line.contains("--vgg-normalize must be imagenet or magenta"), line)

        // The loss network is part of a run: --resume takes it from the checkpoint.
        line = try fails(["train", "predictor", "--resume", scratch + "/ck.safetensors", "--loss-network", bad], withLibrary: false)
        XCTAssert(line.contains("cannot change a resumed run"), line)
    }
}
