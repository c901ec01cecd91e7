import Foundation
import SwiftProtobuf

/// Builds an ONNX graph node by node (https://onnx.ai/onnx/repo-docs/IR.html): float32
/// initializers stored as little-endian raw_data, int64 constants, typed graph inputs and
/// outputs with fixed or symbolic dimensions. Every `node` call returns its output's name, so a
/// network is written as a chain of calls.
package struct GraphBuilder {
    package enum Dimension: Equatable {
        case fixed(Int)
        case symbolic(String)
    }

    package enum Attribute {
        case int(String, Int)
        case ints(String, [Int])
        case float(String, Float)
        case floats(String, [Float])
        case string(String, String)
    }

    package private(set) var graph = Onnx_GraphProto()
    private var initializerNames: Set<String> = []
    private var counters: [String: Int] = [:]

    package init(name: String) {
        graph.name = name
    }

    package mutating func input(_ name: String, _ dims: [Dimension]) {
        graph.input.append(Self.valueInfo(name, dims))
    }

    package mutating func output(_ name: String, _ dims: [Dimension]) {
        graph.output.append(Self.valueInfo(name, dims))
    }

    /// A float32 initializer; its name is returned so it can be used as a node input.
    @discardableResult
    package mutating func initializer(_ name: String, dims: [Int], values: UnsafeBufferPointer<Float>) -> String {
        precondition(values.count == dims.reduce(1, *), "\(name): \(values.count) values for shape \(dims)")
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map(Int64.init)
        t.dataType = ONNXTensor.DataType.float.rawValue
        var raw = Data(count: values.count * 4)
        raw.withUnsafeMutableBytes { out in
            for (i, v) in values.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        t.rawData = raw
        add(t)
        return name
    }

    @discardableResult
    package mutating func initializer(_ name: String, dims: [Int], values: [Float]) -> String {
        values.withUnsafeBufferPointer { initializer(name, dims: dims, values: $0) }
    }

    /// A 1-D int64 initializer (shapes, pads, axes), shared by name.
    package mutating func int64s(_ name: String, _ values: [Int]) -> String {
        if initializerNames.contains(name) { return name }
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = [Int64(values.count)]
        t.dataType = ONNXTensor.DataType.int64.rawValue
        t.int64Data = values.map(Int64.init)
        add(t)
        return name
    }

    /// A 1-D float32 constant, shared by name.
    package mutating func constant(_ name: String, _ values: [Float]) -> String {
        if initializerNames.contains(name) { return name }
        return initializer(name, dims: [values.count], values: values)
    }

    /// A float32 constant filled with one value, shared by name (InstanceNormalization's unit
    /// scale and zero bias).
    package mutating func filled(_ name: String, dims: [Int], value: Float) -> String {
        if initializerNames.contains(name) { return name }
        return initializer(name, dims: dims, values: [Float](repeating: value, count: dims.reduce(1, *)))
    }

    /// Appends a node with one output and returns the output's name: `output` when given (graph
    /// outputs), otherwise a fresh "<name>/<op>" or "<op>_<k>".
    @discardableResult
    package mutating func node(_ op: String, _ inputs: [String], _ attributes: [Attribute] = [],
                               name: String? = nil, output: String? = nil) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.name = uniqueName(name.map { "\($0)/\(op)" } ?? op)
        n.output = [output ?? n.name]
        n.attribute = attributes.map(Self.attribute)
        graph.node.append(n)
        return n.output[0]
    }

    /// The model: IR version 8 (the one that goes with opset 17), the default ONNX domain at
    /// `opset`, and string metadata (`metadata_props`) in key order.
    package func model(opset: Int, producer: String, version: String, metadata: [String: String]) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var op = Onnx_OperatorSetIdProto()
        op.domain = ""
        op.version = Int64(opset)
        m.opsetImport = [op]
        m.producerName = producer
        m.producerVersion = version
        m.graph = graph
        m.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
            var e = Onnx_StringStringEntryProto()
            e.key = key
            e.value = value
            return e
        }
        return m
    }

    private mutating func add(_ t: Onnx_TensorProto) {
        precondition(initializerNames.insert(t.name).inserted, "initializer \(t.name) defined twice")
        graph.initializer.append(t)
    }

    private mutating func uniqueName(_ base: String) -> String {
        let k = counters[base, default: 0]
        counters[base] = k + 1
        return k == 0 ? base : "\(base)_\(k)"
    }

    private static func valueInfo(_ name: String, _ dims: [Dimension]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = ONNXTensor.DataType.float.rawValue
        tensor.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let n): dim.dimValue = Int64(n)
            case .symbolic(let s): dim.dimParam = s
            }
            return dim
        }
        v.type.tensorType = tensor
        return v
    }

    private static func attribute(_ a: Attribute) -> Onnx_AttributeProto {
        var p = Onnx_AttributeProto()
        switch a {
        case .int(let name, let v): p.name = name; p.type = .int; p.i = Int64(v)
        case .ints(let name, let v): p.name = name; p.type = .ints; p.ints = v.map(Int64.init)
        case .float(let name, let v): p.name = name; p.type = .float; p.f = v
        case .floats(let name, let v): p.name = name; p.type = .floats; p.floats = v
        case .string(let name, let v): p.name = name; p.type = .string; p.s = Data(v.utf8)
        }
        return p
    }
}
