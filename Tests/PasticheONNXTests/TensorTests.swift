import Foundation
import XCTest
@testable import PasticheONNX

/// TensorProto values: raw or typed fields, the integer types of quantized graphs, and
/// DequantizeLinear as the ONNX spec defines it.
final class TensorTests: XCTestCase {
    func tensor(_ name: String, dims: [Int64], type: ONNXTensor.DataType, raw: [UInt8]? = nil) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims
        t.dataType = type.rawValue
        if let raw { t.rawData = Data(raw) }
        return t
    }

    func testTypedFieldsAndRawData() throws {
        var f = tensor("f", dims: [2], type: .float)
        f.floatData = [1.5, -2]
        XCTAssertEqual(try ONNXTensor.floats(f, file: "m.onnx"), [1.5, -2])
        let i8 = tensor("q", dims: [4], type: .int8, raw: [0x00, 0x7F, 0x80, 0xFF])
        XCTAssertEqual(try ONNXTensor.integers(i8, file: "m.onnx"), [0, 127, -128, -1])
        let u8 = tensor("q", dims: [4], type: .uint8, raw: [0x00, 0x7F, 0x80, 0xFF])
        XCTAssertEqual(try ONNXTensor.integers(u8, file: "m.onnx"), [0, 127, 128, 255])
        XCTAssertEqual(try ONNXTensor.floats(u8, file: "m.onnx"), [0, 127, 128, 255])
        let i32 = tensor("i", dims: [2], type: .int32, raw: [0x01, 0x00, 0x00, 0x00, 0xFE, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(try ONNXTensor.integers(i32, file: "m.onnx"), [1, -2])
        var typed = tensor("i", dims: [3], type: .int32)
        typed.int32Data = [4, 5, 6]
        XCTAssertEqual(try ONNXTensor.integers(typed, file: "m.onnx"), [4, 5, 6])
    }

    func testShortOrUnsupportedTensorsAreOneLineNamingFileAndTensor() {
        var short = tensor("conv.w", dims: [3], type: .float)
        short.floatData = [1, 2]
        let cases: [(Onnx_TensorProto, String)] = [
            (short, "m.onnx: tensor conv.w is truncated"),
            (tensor("conv.w", dims: [2], type: .float, raw: [0, 0, 0, 0, 0]), "m.onnx: tensor conv.w is truncated"),
            (tensor("q", dims: [4], type: .int8, raw: [1, 2, 3]), "m.onnx: tensor q is truncated"),
            (tensor("shape", dims: [1], type: .int64), "m.onnx: tensor shape has unsupported data type 7"),
        ]
        for (t, expected) in cases {
            XCTAssertThrowsError(try ONNXTensor.floats(t, file: "m.onnx")) { XCTAssertEqual("\($0)", expected) }
        }
    }

    func testDequantizePerTensorAndPerAxis() throws {
        let q = tensor("q", dims: [2, 3], type: .int8, raw: [0, 10, 0xF6, 5, 6, 7])  // 0, 10, -10 / 5, 6, 7
        var scale = tensor("s", dims: [], type: .float)
        scale.floatData = [0.5]
        var zero = tensor("z", dims: [], type: .int8)
        zero.int32Data = [2]
        XCTAssertEqual(try ONNXTensor.dequantize(q, scale: scale, zeroPoint: zero, axis: 1, file: "m.onnx"),
                       [-1, 4, -6, 1.5, 2, 2.5])
        XCTAssertEqual(try ONNXTensor.dequantize(q, scale: scale, zeroPoint: nil, axis: 1, file: "m.onnx"),
                       [0, 5, -5, 2.5, 3, 3.5])
        // One scale and zero point per row (axis 0, and -2 for the same axis).
        var scales = tensor("s", dims: [2], type: .float)
        scales.floatData = [1, 0.25]
        var zeros = tensor("z", dims: [2], type: .int8)
        zeros.int32Data = [0, 4]
        for axis in [0, -2] {
            XCTAssertEqual(try ONNXTensor.dequantize(q, scale: scales, zeroPoint: zeros, axis: axis, file: "m.onnx"),
                           [0, 10, -10, 0.25, 0.5, 0.75], "axis \(axis)")
        }
        // Two scales along an axis of three: one line.
        XCTAssertThrowsError(try ONNXTensor.dequantize(q, scale: scales, zeroPoint: nil, axis: 1, file: "m.onnx")) {
            XCTAssertEqual("\($0)", "m.onnx: tensor q has 2 scales for axis 1 of shape [2, 3]")
        }
    }
}
