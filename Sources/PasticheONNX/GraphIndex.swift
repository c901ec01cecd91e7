import Foundation
import SwiftProtobuf

package struct WireError: Error, CustomStringConvertible {
    package let description: String
}

/// An ONNX graph indexed at the protobuf wire level (https://protobuf.dev/programming-guides/encoding/):
/// nodes and inputs are decoded (they are small), initializers only as far as name and shape;
/// their values are decoded on demand from their byte range in the (memory-mapped) file.
package struct GraphIndex {
    /// A constant tensor: an initializer's bytes in the file, or a Constant node's value.
    package struct TensorRef {
        package let dims: [Int]
        let bytes: Range<Int>?
        let constant: Onnx_TensorProto?
    }

    let data: Data
    package private(set) var nodes: [Onnx_NodeProto] = []
    package private(set) var inputs: [Onnx_ValueInfoProto] = []
    package private(set) var tensors: [String: TensorRef] = [:]

    // ModelProto.graph = 7; GraphProto.node = 1, initializer = 5, input = 11;
    // TensorProto: float_data 4, int32_data 5, string_data 6, int64_data 7, raw_data 9,
    // double_data 10, uint64_data 11 hold the values.
    static let tensorValueFields: Set<Int> = [4, 5, 6, 7, 9, 10, 11]

    package init(_ data: Data) throws {
        self.data = data
        let count = data.count
        let fields = try data.withUnsafeBytes { try Self.fields($0, 0..<count) }
        // Repeated occurrences of a message field merge (their repeated fields concatenate).
        let graphs = fields.filter { $0.number == 7 && $0.wireType == 2 }
        guard !graphs.isEmpty else { throw WireError(description: "no graph") }
        let graphFields = try data.withUnsafeBytes { bytes in try graphs.flatMap { try Self.fields(bytes, $0.payload) } }
        for f in graphFields where f.wireType == 2 {
            switch f.number {
            case 1: nodes.append(try Onnx_NodeProto(serializedBytes: data[f.payload]))
            case 11: inputs.append(try Onnx_ValueInfoProto(serializedBytes: data[f.payload]))
            case 5:
                // Decode everything but the values: name, dims, data type, data location.
                let parts = try data.withUnsafeBytes { try Self.fields($0, f.payload) }
                var header = Data()
                for p in parts where !Self.tensorValueFields.contains(p.number) { header.append(data[p.whole]) }
                let t = try Onnx_TensorProto(serializedBytes: header)
                tensors[t.name] = TensorRef(dims: t.dims.map(Int.init), bytes: f.payload, constant: nil)
            default: break
            }
        }
        for n in nodes where n.opType == "Constant" && n.output.count == 1 {
            if let v = n.attribute.first(where: { $0.name == "value" && $0.hasT })?.t {
                tensors[n.output[0]] = TensorRef(dims: v.dims.map(Int.init), bytes: nil, constant: v)
            }
        }
    }

    /// The values of a constant, as Float (ONNXImporter's decoding: raw_data or typed fields).
    package func floats(_ ref: TensorRef, file: String) throws -> [Float] {
        let t = try ref.constant ?? Onnx_TensorProto(serializedBytes: data[ref.bytes!])
        if t.dataLocation == .external {
            throw ONNXError("\(file): tensor \(t.name) keeps its values in an external file; save the model with the weights inside")
        }
        return try ONNXTensor.floats(t, file: file)
    }

    struct Field {
        let number: Int
        let wireType: Int
        /// Key, length and payload.
        let whole: Range<Int>
        /// The payload (for wire type 2, without its length prefix).
        let payload: Range<Int>
    }

    /// The fields of the message stored in `bytes[range]`, in order.
    static func fields(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) throws -> [Field] {
        var out: [Field] = []
        var i = range.lowerBound
        let end = range.upperBound
        func varint() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < end else { throw WireError(description: "a number at byte \(i) runs past the end") }
                guard shift < 64 else { throw WireError(description: "malformed number at byte \(i)") }
                let b = bytes[i]; i += 1
                value |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return value }
                shift += 7
            }
        }
        while i < end {
            let start = i
            let key = try varint()
            let number = Int(key >> 3), wireType = Int(key & 7)
            guard number > 0 else { throw WireError(description: "field number 0 at byte \(start)") }
            let payloadStart: Int
            switch wireType {
            case 0: payloadStart = i; _ = try varint()
            case 1, 5:
                payloadStart = i
                let size = wireType == 1 ? 8 : 4
                guard end - i >= size else { throw WireError(description: "field at byte \(start) runs past the end") }
                i += size
            case 2:
                let length = try varint()
                payloadStart = i
                guard length <= UInt64(end - i) else {
                    throw WireError(description: "field at byte \(start) needs \(length) bytes, \(end - i) left")
                }
                i += Int(length)
            default:
                throw WireError(description: "unsupported wire type \(wireType) at byte \(start)")
            }
            out.append(Field(number: number, wireType: wireType, whole: start..<i, payload: payloadStart..<i))
        }
        return out
    }
}
