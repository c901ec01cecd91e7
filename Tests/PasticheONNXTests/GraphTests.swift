import Foundation
import SwiftProtobuf
import XCTest
@testable import PasticheONNX

/// ONNX graphs as Pastiche writes them (GraphBuilder) survive serialization, and read back
/// through the wire-level index that leaves initializer values unread until asked for.
final class GraphTests: XCTestCase {
    static let weights: [Float] = [0.5, -1.25, 3, 0, -0.0, 1e-30, .greatestFiniteMagnitude, -7.75]

    /// x[N, 2, H, W] → Conv(w, b) → Relu → Reshape(shape) → y, with metadata.
    func smallModel() -> Onnx_ModelProto {
        var g = GraphBuilder(name: "small")
        g.input("x", [.symbolic("N"), .fixed(2), .symbolic("H"), .symbolic("W")])
        let w = g.initializer("w", dims: [2, 2, 1, 2], values: Self.weights)
        let b = g.filled("b", dims: [2], value: 0.25)
        XCTAssertEqual(g.filled("b", dims: [2], value: 9), "b", "a shared constant is defined once")
        let conv = g.node("Conv", ["x", w, b], [.ints("kernel_shape", [1, 2]), .ints("pads", [0, 0, 0, 1])], name: "block1")
        let relu = g.node("Relu", [conv])
        let relu2 = g.node("Relu", [relu])
        let shape = g.int64s("shape", [0, -1])
        XCTAssertEqual(g.int64s("shape", [1, 2, 3]), "shape")
        g.node("Reshape", [relu2, shape], [.int("allowzero", 0), .float("alpha", 0.5), .floats("scales", [1, 2]),
                                           .string("mode", "nearest")], output: "y")
        g.output("y", [.symbolic("N"), .symbolic("features")])
        return g.model(opset: 17, producer: "pastiche-test", version: "1.2.3", metadata: ["z": "last", "a": "first"])
    }

    func testAModelSurvivesSerialization() throws {
        let model = smallModel()
        let bytes: Data = try model.serializedBytes()
        let back = try Onnx_ModelProto(serializedBytes: bytes)
        XCTAssertEqual(back, model)
        XCTAssertEqual(back.irVersion, 8)
        XCTAssertEqual(back.opsetImport.map(\.version), [17])
        XCTAssertEqual(back.opsetImport.map(\.domain), [""])
        XCTAssertEqual(back.producerName, "pastiche-test")
        XCTAssertEqual(back.producerVersion, "1.2.3")
        XCTAssertEqual(back.metadataProps.map(\.key), ["a", "z"], "metadata in key order")
        XCTAssertEqual(back.metadataProps.map(\.value), ["first", "last"])

        let graph = back.graph
        XCTAssertEqual(graph.name, "small")
        XCTAssertEqual(graph.node.map(\.opType), ["Conv", "Relu", "Relu", "Reshape"])
        XCTAssertEqual(graph.node.map(\.name), ["block1/Conv", "Relu", "Relu_1", "Reshape"], "node names are unique")
        XCTAssertEqual(graph.node[1].input, ["block1/Conv"], "a node's output is named after it")
        XCTAssertEqual(graph.node[3].output, ["y"])
        XCTAssertEqual(graph.initializer.map(\.name), ["w", "b", "shape"])
        XCTAssertEqual(graph.initializer[2].int64Data, [0, -1])
        XCTAssertEqual(graph.initializer[2].dataType, ONNXTensor.DataType.int64.rawValue)

        let input = try XCTUnwrap(graph.input.first)
        XCTAssertEqual(input.name, "x")
        XCTAssertEqual(input.type.tensorType.elemType, ONNXTensor.DataType.float.rawValue)
        XCTAssertEqual(input.type.tensorType.shape.dim.map(\.dimParam), ["N", "", "H", "W"])
        XCTAssertEqual(input.type.tensorType.shape.dim[1].dimValue, 2)
        XCTAssertEqual(graph.output.map(\.name), ["y"])

        let conv = graph.node[0].attribute
        XCTAssertEqual(conv.map(\.name), ["kernel_shape", "pads"])
        XCTAssertEqual(conv[0].type, .ints)
        XCTAssertEqual(conv[0].ints, [1, 2])
        let reshape = graph.node[3].attribute
        XCTAssertEqual(reshape.map(\.type), [.int, .float, .floats, .string])
        XCTAssertEqual(reshape[0].i, 0)
        XCTAssertEqual(reshape[1].f, 0.5)
        XCTAssertEqual(reshape[2].floats, [1, 2])
        XCTAssertEqual(String(decoding: reshape[3].s, as: UTF8.self), "nearest")
    }

    /// Float initializers are little-endian raw_data, read back bit for bit.
    func testInitializerValuesAreBitExact() throws {
        let w = try XCTUnwrap(smallModel().graph.initializer.first { $0.name == "w" })
        XCTAssertEqual(w.dims, [2, 2, 1, 2])
        XCTAssertEqual(w.rawData.count, 4 * Self.weights.count)
        XCTAssertTrue(w.floatData.isEmpty)
        let values = try ONNXTensor.floats(w, file: "small.onnx")
        XCTAssertEqual(values.map(\.bitPattern), Self.weights.map(\.bitPattern))
        XCTAssertEqual(Array(w.rawData.prefix(4)), [0x00, 0x00, 0x00, 0x3F], "0.5, little-endian")
    }

    func testTheIndexReadsNodesInputsAndInitializersOnDemand() throws {
        var model = smallModel()
        // A Constant node's value is a tensor too.
        var value = Onnx_TensorProto()
        value.dims = [3]
        value.dataType = ONNXTensor.DataType.float.rawValue
        value.floatData = [1, 2, 3]
        var attribute = Onnx_AttributeProto()
        attribute.name = "value"
        attribute.type = .tensor
        attribute.t = value
        var constant = Onnx_NodeProto()
        constant.opType = "Constant"
        constant.output = ["k"]
        constant.attribute = [attribute]
        model.graph.node.append(constant)

        let index = try GraphIndex(try model.serializedBytes())
        XCTAssertEqual(index.nodes.map(\.opType), ["Conv", "Relu", "Relu", "Reshape", "Constant"])
        XCTAssertEqual(index.inputs.map(\.name), ["x"])
        XCTAssertEqual(Set(index.tensors.keys), ["w", "b", "shape", "k"])
        let w = try XCTUnwrap(index.tensors["w"])
        XCTAssertEqual(w.dims, [2, 2, 1, 2])
        XCTAssertNotNil(w.bytes, "an initializer is a byte range of the file")
        XCTAssertEqual(try index.floats(w, file: "small.onnx").map(\.bitPattern), Self.weights.map(\.bitPattern))
        XCTAssertEqual(try index.floats(try XCTUnwrap(index.tensors["b"]), file: "small.onnx"), [0.25, 0.25])
        let k = try XCTUnwrap(index.tensors["k"])
        XCTAssertNil(k.bytes)
        XCTAssertEqual(k.dims, [3])
        XCTAssertEqual(try index.floats(k, file: "small.onnx"), [1, 2, 3])
    }

    func testExternalDataIsRefusedInOneLine() throws {
        var model = smallModel()
        model.graph.initializer[0].dataLocation = .external
        let index = try GraphIndex(try model.serializedBytes())
        XCTAssertThrowsError(try index.floats(try XCTUnwrap(index.tensors["w"]), file: "big.onnx")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("big.onnx: tensor w keeps its values in an external file"), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
    }

    func testDamagedFilesAreRefused() throws {
        XCTAssertThrowsError(try GraphIndex(Data())) { XCTAssertEqual("\($0)", "no graph") }
        let bytes: Data = try smallModel().serializedBytes()
        // Cut inside the graph: its declared length runs past the end.
        let graph = try XCTUnwrap(try bytes.withUnsafeBytes { try GraphIndex.fields($0, 0..<bytes.count) }.first { $0.number == 7 })
        XCTAssertThrowsError(try GraphIndex(bytes.prefix(graph.payload.lowerBound + 10))) { error in
            XCTAssertTrue(error is WireError, "\(error)")
            XCTAssertTrue("\(error)".contains("bytes, 10 left"), "\(error)")
        }
        // Wire types 3 and 4 (groups) are not ONNX.
        XCTAssertThrowsError(try GraphIndex(Data([0x0B]))) { error in
            XCTAssertTrue("\(error)".contains("unsupported wire type 3"), "\(error)")
        }
        // A varint that never ends.
        XCTAssertThrowsError(try GraphIndex(Data([0x08, 0xFF, 0xFF]))) { error in
            XCTAssertTrue("\(error)".contains("runs past the end"), "\(error)")
        }
    }

    func testWireFieldsOfAKnownMessage() throws {
        // field 1 varint 150 (the protobuf guide's example), field 2 "hi", field 3 fixed32.
        let bytes: [UInt8] = [0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x1D, 1, 2, 3, 4]
        let fields = try bytes.withUnsafeBytes { try GraphIndex.fields($0, 0..<bytes.count) }
        XCTAssertEqual(fields.map(\.number), [1, 2, 3])
        XCTAssertEqual(fields.map(\.wireType), [0, 2, 5])
        XCTAssertEqual(fields.map(\.whole), [0..<3, 3..<7, 7..<12])
        XCTAssertEqual(fields.map(\.payload), [1..<3, 5..<7, 8..<12])
    }
}
