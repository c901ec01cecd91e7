import Foundation

/// The values of an ONNX TensorProto as Swift arrays: raw_data (little-endian) or the typed
/// fields, float or the integer types Magenta's QDQ graphs use, and DequantizeLinear as the
/// ONNX spec defines it.
package enum ONNXTensor {
    package enum DataType: Int32 { case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7 }

    package static func integers(_ t: Onnx_TensorProto, file: String) throws -> [Int32] {
        let count = t.dims.reduce(1) { $0 * Int($1) }
        switch DataType(rawValue: t.dataType) {
        case .int8, .uint8:
            if !t.rawData.isEmpty {
                guard t.rawData.count == count else { throw ONNXError("\(file): tensor \(t.name) is truncated") }
                return t.dataType == DataType.int8.rawValue
                    ? t.rawData.map { Int32(Int8(bitPattern: $0)) } : t.rawData.map { Int32($0) }
            }
            return t.int32Data
        case .int32:
            if !t.rawData.isEmpty {
                guard t.rawData.count == count * 4 else { throw ONNXError("\(file): tensor \(t.name) is truncated") }
                return t.rawData.withUnsafeBytes { raw in
                    (0..<count).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
                }
            }
            return t.int32Data
        default:
            throw ONNXError("\(file): tensor \(t.name) has unsupported data type \(t.dataType)")
        }
    }

    package static func floats(_ t: Onnx_TensorProto, file: String) throws -> [Float] {
        guard t.dataType == DataType.float.rawValue else {
            return try integers(t, file: file).map(Float.init)
        }
        let count = t.dims.reduce(1) { $0 * Int($1) }
        if !t.rawData.isEmpty {
            guard t.rawData.count == count * 4 else { throw ONNXError("\(file): tensor \(t.name) is truncated") }
            return t.rawData.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
        }
        guard t.floatData.count == count else { throw ONNXError("\(file): tensor \(t.name) is truncated") }
        return t.floatData
    }

    /// ONNX DequantizeLinear: y = (x − zero_point) · scale, with scale/zero_point either scalars
    /// or 1-D along `axis`.
    package static func dequantize(_ q: Onnx_TensorProto, scale: Onnx_TensorProto, zeroPoint: Onnx_TensorProto?,
                           axis: Int, file: String) throws -> [Float] {
        let values = try integers(q, file: file)
        let scales = try floats(scale, file: file)
        let zeros = try zeroPoint.map { try integers($0, file: file) } ?? [0]
        let dims = q.dims.map(Int.init)
        if scales.count == 1 {
            let s = scales[0], z = zeros.first ?? 0
            return values.map { Float($0 - z) * s }
        }
        let ax = axis < 0 ? axis + dims.count : axis
        guard ax >= 0, ax < dims.count, dims[ax] == scales.count, zeros.count == scales.count || zeros.count == 1 else {
            throw ONNXError("\(file): tensor \(q.name) has \(scales.count) scales for axis \(axis) of shape \(dims)")
        }
        let inner = dims[(ax + 1)...].reduce(1, *)
        var out = [Float](repeating: 0, count: values.count)
        for i in 0..<values.count {
            let ch = (i / inner) % scales.count
            let z = zeros.count == 1 ? zeros[0] : zeros[ch]
            out[i] = Float(values[i] - z) * scales[ch]
        }
        return out
    }
}
