import Foundation
import PasticheCore
import PasticheModels
import PasticheONNX
import SwiftProtobuf

/// One convolution of a VGG feature stack: 3×3, stride 1, pad 1, followed by a ReLU.
public struct VGGConvShape: Equatable, Sendable, CustomStringConvertible {
    /// The ONNX node name (or the weight's name when the node has none).
    public let name: String
    public let inChannels: Int
    public let outChannels: Int
    public var description: String { "\(name) \(inChannels)→\(outChannels)" }
}

/// A VGG convolution with its weights.
public struct VGGConvLayer: @unchecked Sendable {
    public let shape: VGGConvShape
    /// [Cout, Cin, 3, 3]
    public let weight: Tensor
    /// [Cout]
    public let bias: Tensor
}

/// The convolutional trunk of a VGG network read from ONNX: blocks of (3×3 conv + ReLU)s, the
/// blocks separated by 2×2 stride-2 max pools. Block b (0-based) is Magenta's `vgg_16/conv{b+1}`
/// (magenta/models/image_stylization/vgg.py); its endpoint is the ReLU output of its last conv,
/// before the pool.
public struct VGGFeatures: @unchecked Sendable {
    public let path: String
    /// The graph's image input (ONNX model zoo: "data", [1, 3, 224, 224]).
    public let inputName: String
    /// Every block found before the classifier (VGG-16: 2, 2, 3, 3, 3 convs of 64, 128, 256,
    /// 512, 512 channels).
    public let architecture: [[VGGConvShape]]
    /// Weights of the first blocks only, as many as `VGGImport.load(path:blocks:)` was asked for.
    public let blocks: [[VGGConvLayer]]
}

/// Reads the feature layers of a VGG-style ONNX classifier (the ONNX model zoo's vgg16-7.onnx /
/// vgg16-12.onnx, or a torchvision export): starting at the single image input, it follows
/// Conv(3×3, stride 1, pad 1) → Relu and MaxPool(2×2, stride 2) nodes in graph order and stops
/// at the first other node on that chain (the classifier's Flatten/Reshape/Gemm, a 7×7 fc6
/// Conv, a GlobalAveragePool…). Only the blocks asked for are decoded: the file is
/// memory-mapped and walked at the protobuf wire level, so the classifier's weights (fc6 alone
/// is 400 MB in VGG-16) are never read.
public enum VGGImport {
    /// Magenta's loss uses conv1…conv4, so a network must have at least these.
    public static let requiredBlocks = 4

    /// The architecture and the weights of the first `blocks` blocks (at least
    /// `requiredBlocks` must exist). Errors are one-line `ModelError`s naming the file.
    public static func load(path: String, blocks wanted: Int = requiredBlocks) throws -> VGGFeatures {
        func fail(_ what: String) -> ModelError { ModelError("\(path): \(what)") }
        guard FileManager.default.fileExists(atPath: path) else { throw fail("no such file") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw fail("cannot read (\(error.localizedDescription))")
        }
        let graph: GraphIndex
        do { graph = try GraphIndex(data) } catch let e as WireError {
            throw fail("not an ONNX model, or truncated (\(e.description))")
        } catch {
            throw fail("not an ONNX model (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        let walk = try walkFeatureChain(graph, fail: fail)
        let needed = max(wanted, requiredBlocks)
        guard walk.blocks.count >= needed else {
            let found = "\(walk.blocks.count) conv block\(walk.blocks.count == 1 ? "" : "s")"
            let need = needed == requiredBlocks ? "conv1…conv4" : "\(needed) blocks"
            throw fail("not a VGG-style network: \(walk.stop ?? "the graph ends") after \(found); "
                + "need \(need) (3×3 conv + ReLU blocks separated by 2×2 max pools)")
        }
        var loaded: [[VGGConvLayer]] = []
        for block in walk.blocks.prefix(wanted) {
            loaded.append(try block.map { conv in
                let w: [Float], b: [Float]
                do {
                    w = try graph.floats(conv.weight, file: path)
                    b = try conv.bias.map { try graph.floats($0, file: path) }
                        ?? [Float](repeating: 0, count: conv.shape.outChannels)
                } catch let e as ONNXError { throw ModelError(e.description) }
                guard b.count == conv.shape.outChannels else {
                    throw fail("\(conv.shape.name): bias has \(b.count) values for \(conv.shape.outChannels) channels")
                }
                return VGGConvLayer(shape: conv.shape,
                                    weight: Tensor(shape: [conv.shape.outChannels, conv.shape.inChannels, 3, 3], values: w),
                                    bias: Tensor(shape: [conv.shape.outChannels], values: b))
            })
        }
        return VGGFeatures(path: path, inputName: walk.input, architecture: walk.blocks.map { $0.map(\.shape) },
                           blocks: loaded)
    }

    // MARK: walking the graph

    /// A conv found on the chain: its shape and where its weight and bias live.
    struct FoundConv {
        let shape: VGGConvShape
        let weight: GraphIndex.TensorRef
        let bias: GraphIndex.TensorRef?
    }

    struct Walk {
        var input: String
        var blocks: [[FoundConv]]
        /// Why the walk stopped ("node 37 is Flatten"), nil when the graph simply ended.
        var stop: String?
    }

    static func walkFeatureChain(_ graph: GraphIndex, fail: (String) -> ModelError) throws -> Walk {
        let inputs = graph.inputs.filter { graph.tensors[$0.name] == nil }
        guard inputs.count == 1, let image = inputs.first else {
            throw fail("expected one image input, found \(inputs.count) (\(inputs.map(\.name).joined(separator: ", ")))")
        }
        let dims = image.type.tensorType.shape.dim
        if dims.count != 4 && image.type.tensorType.hasShape {
            throw fail("input '\(image.name)' has \(dims.count) dimensions; VGG takes an [N, 3, H, W] image")
        }
        if dims.count == 4, case .dimValue(let c)? = dims[1].value, c != 3 {
            throw fail("input '\(image.name)' has \(c) channels; VGG takes 3 (RGB, NCHW)")
        }

        var current = image.name, channels = 3
        var blocks: [[FoundConv]] = [], block: [FoundConv] = []
        var pending: FoundConv? = nil    // a Conv whose Relu has not come yet
        var stop: String? = nil
        for (k, node) in graph.nodes.enumerated() where node.opType != "Constant" && node.input.contains(current) {
            let op = node.opType
            let label = "node \(k) is \(op)" + (node.name.isEmpty ? "" : " '\(node.name)'")
            guard node.input.first == current, node.output.count >= 1 else { stop = label; break }
            if op == "Conv", pending == nil, let why = vggConvMismatch(node) {
                stop = "\(label) (\(why))"; break
            }
            if op == "Conv", pending == nil {
                guard node.input.count >= 2, let w = graph.tensors[node.input[1]] else {
                    throw fail("node \(k) (Conv) has no constant weight")
                }
                guard w.dims.count == 4, w.dims[2] == 3, w.dims[3] == 3 else {
                    stop = "\(label) with weight shape \(w.dims)"; break
                }
                guard w.dims[1] == channels else {
                    throw fail("node \(k) (Conv) takes \(w.dims[1]) channels but its input has \(channels)")
                }
                var bias: GraphIndex.TensorRef? = nil
                if node.input.count > 2, !node.input[2].isEmpty {
                    guard let b = graph.tensors[node.input[2]] else { throw fail("node \(k) (Conv) has no constant bias") }
                    bias = b
                }
                let shape = VGGConvShape(name: node.name.isEmpty ? node.input[1] : node.name,
                                         inChannels: w.dims[1], outChannels: w.dims[0])
                pending = FoundConv(shape: shape, weight: w, bias: bias)
            } else if op == "Relu", let conv = pending {
                block.append(conv)
                channels = conv.shape.outChannels
                pending = nil
            } else if op == "MaxPool", pending == nil, !block.isEmpty, vggPoolMismatch(node) == nil {
                blocks.append(block)
                block = []
            } else {
                let why = op == "MaxPool" ? vggPoolMismatch(node).map { " (\($0))" } ?? "" : ""
                stop = label + why
                break
            }
            current = node.output[0]
        }
        // A last block that ends without a pool (a truncated feature stack) still counts.
        if !block.isEmpty { blocks.append(block) }
        return Walk(input: image.name, blocks: blocks, stop: stop)
    }

    /// Why a Conv node is not VGG's 3×3 / stride 1 / pad 1 / ungrouped convolution, or nil.
    static func vggConvMismatch(_ node: Onnx_NodeProto) -> String? {
        let a = Attributes(node)
        if let k = a.ints("kernel_shape"), k != [3, 3] { return "kernel \(k)" }
        if let s = a.ints("strides"), s.contains(where: { $0 != 1 }) { return "strides \(s)" }
        if let d = a.ints("dilations"), d.contains(where: { $0 != 1 }) { return "dilations \(d)" }
        if let g = a.int("group"), g != 1 { return "group \(g)" }
        switch a.string("auto_pad") ?? "NOTSET" {
        case "SAME_UPPER", "SAME_LOWER": return nil    // 3×3 stride 1: one pixel on every side
        case "NOTSET", "": break
        case let other: return "auto_pad \(other)"
        }
        let pads = a.ints("pads") ?? [0, 0, 0, 0]
        return pads == [1, 1, 1, 1] ? nil : "pads \(pads)"
    }

    /// Why a MaxPool node is not VGG's 2×2 stride-2 unpadded floor-mode pool, or nil.
    static func vggPoolMismatch(_ node: Onnx_NodeProto) -> String? {
        let a = Attributes(node)
        if let k = a.ints("kernel_shape"), k != [2, 2] { return "kernel \(k)" }
        if a.ints("strides") != [2, 2] { return "strides \(a.ints("strides") ?? [1, 1])" }
        if let p = a.ints("pads"), p.contains(where: { $0 != 0 }) { return "pads \(p)" }
        if let d = a.ints("dilations"), d.contains(where: { $0 != 1 }) { return "dilations \(d)" }
        if let c = a.int("ceil_mode"), c != 0 { return "ceil_mode \(c)" }
        if let p = a.string("auto_pad"), !["NOTSET", "VALID", ""].contains(p) { return "auto_pad \(p)" }
        return nil
    }

    struct Attributes {
        let byName: [String: Onnx_AttributeProto]
        init(_ node: Onnx_NodeProto) {
            byName = Dictionary(node.attribute.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        }
        func ints(_ name: String) -> [Int]? { byName[name].map { $0.ints.map(Int.init) } }
        func int(_ name: String) -> Int? { byName[name].map { Int($0.i) } }
        func string(_ name: String) -> String? { byName[name].map { String(decoding: $0.s, as: UTF8.self) } }
    }
}
