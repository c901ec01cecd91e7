import Foundation
import PasticheCore
import PasticheONNX
@testable import PasticheModels
import XCTest
import PasticheTestSupport

/// Weights files: round trip, and every way a bad file is refused with one line naming it.
final class WeightsTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = try temporaryDirectory("pastiche-weights")
    }

    func testRoundTripKeepsEveryParameterBitExact() throws {
        let weights = try Reference.weights()
        let path = dir + "/w.safetensors"
        try weights.save(to: path)
        let loaded = try ModelWeights.load(path: path)
        XCTAssertEqual(Set(loaded.tensors.keys), Set(weights.tensors.keys))
        XCTAssertEqual(loaded.tensors.count, ModelWeights.expectedParameters.count)
        for (name, t) in weights.tensors {
            XCTAssertEqual(loaded[name].shape, t.shape, name)
            XCTAssertTrue(zip(loaded[name].data, t.data).allSatisfy { $0.bitPattern == $1.bitPattern }, name)
        }
        XCTAssertEqual(loaded.predictorID, weights.predictorID)
        XCTAssertEqual(loaded.metadata["architecture"], ModelWeights.architecture)
        // The id read back from the file's metadata is the hash of the tensors it holds, and a
        // file without one (an older writer) is hashed on load.
        XCTAssertEqual(loaded.metadata["predictor_id"], loaded.predictorID)
        XCTAssertEqual(try ModelWeights(tensors: loaded.tensors).predictorID, loaded.predictorID)
        let bare = dir + "/bare.safetensors"
        try Safetensors.write(weights.tensors, metadata: [:], to: bare)
        XCTAssertEqual(try ModelWeights.load(path: bare).predictorID, weights.predictorID)
    }

    func testWrongShapeMissingParameterAndTruncationAreReported() throws {
        let weights = try Reference.weights()
        var tensors = weights.tensors
        // Wrong shape: the bottleneck's bias with one value too few.
        tensors["predictor.bottleneck.bias"] = Tensor(shape: [99], zeroed: true)
        let wrong = dir + "/wrong.safetensors"
        try Safetensors.write(tensors, metadata: [:], to: wrong)
        XCTAssertThrowsError(try ModelWeights.load(path: wrong)) { error in
            let line = "\(error)"
            XCTAssertTrue(line.contains("predictor.bottleneck.bias") && line.contains("[99]") && line.contains(wrong), line)
            XCTAssertFalse(line.contains("\n"))
        }
        // Missing parameter.
        tensors = weights.tensors
        tensors["transfer.expand.conv3.norm.beta.weight"] = nil
        let missing = dir + "/missing.safetensors"
        try Safetensors.write(tensors, metadata: [:], to: missing)
        XCTAssertThrowsError(try ModelWeights.load(path: missing)) { error in
            XCTAssertTrue("\(error)".contains("missing parameter transfer.expand.conv3.norm.beta.weight"), "\(error)")
        }
        // Truncated file: every cut point fails cleanly.
        let full = dir + "/full.safetensors"
        try weights.save(to: full)
        let data = try Data(contentsOf: URL(fileURLWithPath: full))
        for cut in [0, 7, 8, 100, data.count / 2, data.count - 1] {
            let path = dir + "/cut\(cut).safetensors"
            try data.prefix(cut).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try ModelWeights.load(path: path), "cut at \(cut)") { error in
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
        }
        XCTAssertThrowsError(try ModelWeights.load(path: dir + "/nothing.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }

    func testONNXNamesMapToPasticheNames() {
        let cases = [
            "MobilenetV2/Conv/weights": "predictor.conv0",
            "MobilenetV2/expanded_conv/depthwise/depthwise_weights": "predictor.block.0.depthwise",
            "MobilenetV2/expanded_conv_16/project/weights": "predictor.block.16.project",
            "MobilenetV2/Conv_1/weights": "predictor.conv_last",
            "mobilenet_conv/Conv/weights": "predictor.bottleneck",
            "transformer/contract/conv2/weights": "transfer.contract.conv2",
            "transformer/residual/residual4/conv1/weights": "transfer.residual.4.conv1",
            "transformer/expand/conv3/conv/weights": "transfer.expand.conv3",
            "style_params/transformer/residual/residual1/conv2/StyleNorm/Conv_1/weights": "transfer.residual.1.conv2.norm.gamma",
            "style_params/transformer/expand/conv1/conv/StyleNorm/Conv/weights": "transfer.expand.conv1.norm.beta",
        ]
        for (onnx, name) in cases { XCTAssertEqual(ONNXImporter.pasticheName(onnxWeight: onnx), name, onnx) }
        XCTAssertNil(ONNXImporter.pasticheName(onnxWeight: "Something/else/weights"))
        XCTAssertNil(ONNXImporter.pasticheName(onnxWeight: "MobilenetV2/Conv/biases"))
    }

    func testDequantizePerChannel() throws {
        var q = Onnx_TensorProto()
        q.name = "q"; q.dims = [2, 3]; q.dataType = 3
        q.rawData = Data([UInt8(bitPattern: -2), 0, 5, 1, UInt8(bitPattern: -128), 127])
        var scale = Onnx_TensorProto()
        scale.name = "s"; scale.dims = [2]; scale.dataType = 1; scale.floatData = [0.5, 0.25]
        var zero = Onnx_TensorProto()
        zero.name = "z"; zero.dims = [2]; zero.dataType = 3; zero.rawData = Data([1, UInt8(bitPattern: -1)])
        let v = try ONNXTensor.dequantize(q, scale: scale, zeroPoint: zero, axis: 0, file: "t")
        XCTAssertEqual(v, [-1.5, -0.5, 2.0, 0.5, -31.75, 32.0])
    }
}
