import Foundation
import PasticheCore
import PasticheONNX
import SwiftProtobuf

/// Writes Pastiche's networks as float32 ONNX graphs (opset 17) that onnxruntime and
/// onnxruntime-web run as they are: Magenta's NHWC layout at the edges, dynamic batch, height
/// and width, and the layers read from `PredictorArchitecture` and `TransferArchitecture`,
/// the same description the Swift forwards follow.
///
/// Initializers carry Pastiche's dotted parameter names and raw float bytes, so
/// `ONNXImporter` reads an exported pair back bit for bit.
public enum ONNXExporter {
    public static let opset = 17
    public static let producer = "pastiche"

    /// Who wrote a graph and from which weights; it becomes the graph's `metadata_props`.
    public struct Provenance: Sendable {
        public let pasticheVersion: String
        public init(pasticheVersion: String) { self.pasticheVersion = pasticheVersion }
    }

    public static let styleImageInput = "style_image"
    public static let contentImageInput = "content_image"
    public static let embeddingName = "style_embedding"
    public static let stylizedImageOutput = "stylized_image"

    /// The metadata every exported graph carries: the weights' own metadata (source, width,
    /// training provenance), the predictor id their embeddings are tagged with, and the version.
    static func metadata(_ weights: ModelWeights, _ provenance: Provenance, extra: [String: String] = [:]) -> [String: String] {
        var m = weights.metadata
        m["architecture"] = ModelWeights.architecture
        m["predictor_id"] = weights.predictorID
        m["predictor_width"] = weights.predictorArchitecture.widthText
        m[ModelWeights.transferWidthKey] = weights.transferArchitecture.widthText
        m["pastiche_version"] = provenance.pasticheVersion
        m["embedding_size"] = String(PredictorArchitecture.embeddingSize)
        for (k, v) in extra { m[k] = v }
        return m
    }

    static func serialize(_ model: Onnx_ModelProto) throws -> Data {
        do { return try model.serializedData() } catch { throw ModelError("cannot encode the ONNX graph: \(error)") }
    }

    // MARK: predictor

    /// style_image [N, H, W, 3] in [0, 1] → style_embedding [N, 100].
    public static func predictor(_ weights: ModelWeights, provenance: Provenance) throws -> Data {
        let arch = weights.predictorArchitecture
        var g = GraphBuilder(name: "pastiche_style_predictor")
        g.input(styleImageInput, [.symbolic("N"), .symbolic("H"), .symbolic("W"), .fixed(3)])
        var b = Builder(graph: g, weights: weights)
        var x = b.graph.node("Transpose", [styleImageInput], [.ints("perm", [0, 3, 1, 2])], name: "to_nchw")
        // TF "SAME" padding (extra row and column at the end) is ONNX's SAME_UPPER.
        func conv(_ name: String, _ input: String, _ geometry: ConvGeometry, relu6: Bool) -> String {
            let y = b.conv(name, input, geometry, pads: nil)
            return relu6 ? b.relu6(y, name: name) : y
        }
        x = conv(PredictorArchitecture.conv0Name, x, arch.conv0Geometry(h: 2, w: 2), relu6: true)
        for block in arch.blocks {
            let shortcut = x
            if block.hasExpand { x = conv(block.name(.expand), x, block.expandGeometry, relu6: true) }
            x = conv(block.name(.depthwise), x, block.depthwiseGeometry(h: 2, w: 2), relu6: true)
            x = conv(block.name(.project), x, block.projectGeometry, relu6: false)
            if block.hasResidual { x = b.graph.node("Add", [x, shortcut], name: block.name(.project) + ".shortcut") }
        }
        x = conv(PredictorArchitecture.lastConvName, x, arch.lastConvGeometry, relu6: true)
        x = b.graph.node("GlobalAveragePool", [x], name: "pool")
        let bottleneck = ConvGeometry(inChannels: arch.lastChannels, outChannels: PredictorArchitecture.embeddingSize, kernel: 1)
        x = b.conv(PredictorArchitecture.bottleneckName, x, bottleneck, pads: nil)
        b.graph.node("Flatten", [x], [.int("axis", 1)], name: "embedding", output: embeddingName)
        b.graph.output(embeddingName, [.symbolic("N"), .fixed(PredictorArchitecture.embeddingSize)])
        return try serialize(b.graph.model(opset: opset, producer: producer, version: provenance.pasticheVersion,
                                           metadata: metadata(weights, provenance, extra: ["graph": "predictor"])))
    }

    // MARK: transfer

    /// content_image [N, H, W, 3] and style_embedding [N, 100] → stylized_image [N, H, W, 3];
    /// or, with `bakedStyle`, content_image alone, the style's gamma and beta stored as constants.
    /// Any H and W: reflect-padded at the bottom and right to the network's size multiple, then
    /// cropped back, as `TransferNetwork` does.
    public static func transfer(_ weights: ModelWeights, provenance: Provenance,
                                bakedStyle: (name: String, embedding: Embedding)? = nil) throws -> Data {
        var g = GraphBuilder(name: bakedStyle == nil ? "pastiche_transfer" : "pastiche_transfer_\(bakedStyle!.name)")
        let image: [GraphBuilder.Dimension] = [.symbolic("N"), .symbolic("H"), .symbolic("W"), .fixed(3)]
        g.input(contentImageInput, image)
        if bakedStyle == nil { g.input(embeddingName, [.symbolic("N"), .fixed(PredictorArchitecture.embeddingSize)]) }
        var b = Builder(graph: g, weights: weights)

        // The style parameters: 1×1 convs on the embedding [N, 100, 1, 1] → [N, C, 1, 1] (the
        // weights keep Pastiche's [C, 100, 1, 1] shapes), or the baked style's values [1, C, 1, 1].
        let architecture = weights.transferArchitecture
        var baked: TransferArchitecture.StyleParameters?
        var embedding = ""
        if let bakedStyle {
            precondition(bakedStyle.embedding.count == PredictorArchitecture.embeddingSize, "embedding size")
            let e = Tensor(shape: [1, PredictorArchitecture.embeddingSize, 1, 1], values: bakedStyle.embedding)
            baked = architecture.styleParameters(e) { weights[$0] }
        } else {
            embedding = b.graph.node("Unsqueeze", [embeddingName, b.graph.int64s("axes_2_3", [2, 3])], name: "embedding")
        }
        func styleParameter(_ layer: TransferArchitecture.Layer, gamma: Bool) -> String {
            let name = gamma ? layer.gammaName : layer.betaName
            if let baked {
                let t = gamma ? baked.gamma[layer.name]! : baked.beta[layer.name]!
                return b.graph.initializer(name, dims: [1, layer.outChannels, 1, 1], values: UnsafeBufferPointer(t.data))
            }
            let map = ConvGeometry(inChannels: PredictorArchitecture.embeddingSize, outChannels: layer.outChannels, kernel: 1)
            return b.conv(name, embedding, map, pads: nil)
        }

        var x = b.graph.node("Transpose", [contentImageInput], [.ints("perm", [0, 3, 1, 2])], name: "to_nchw")
        // Pad bottom and right to a multiple of m: (m − size mod m) mod m, from the input's shape.
        let m = TransferArchitecture.sizeMultiple
        let shape = b.graph.node("Shape", [x], name: "size")
        let size = b.graph.node("Slice", [shape, b.graph.int64s("two", [2]), b.graph.int64s("four", [4]),
                                          b.graph.int64s("zero", [0])], name: "size")
        let multiple = b.graph.int64s("size_multiple", [m])
        let extra = b.graph.node("Mod", [b.graph.node("Sub", [multiple, b.graph.node("Mod", [size, multiple], name: "size")],
                                                      name: "size"), multiple], name: "size_pad")
        let pads = b.graph.node("Concat", [b.graph.int64s("zeros_6", [0, 0, 0, 0, 0, 0]), extra], [.int("axis", 0)],
                                name: "size_pad")
        x = b.graph.node("Pad", [x, pads], [.string("mode", "reflect")], name: "size_pad")

        func layer(_ l: TransferArchitecture.Layer, _ input: String, shortcut: String? = nil) -> String {
            var y = input
            if l.upsample != 1 {
                // Nearest ×2 that repeats each pixel (output i reads input ⌊i/2⌋), as ConvInput does.
                let u = Float(l.upsample)
                let scales = b.graph.constant("scales_up\(l.upsample)", [1, 1, u, u])
                y = b.graph.node("Resize", [y, "", scales], [.string("mode", "nearest"),
                                 .string("coordinate_transformation_mode", "asymmetric"),
                                 .string("nearest_mode", "floor")], name: l.name + ".upsample")
            }
            let p = l.kernel / 2
            y = b.graph.node("Pad", [y, b.graph.int64s("pads_\(p)", [0, 0, p, p, 0, 0, p, p])],
                             [.string("mode", "reflect")], name: l.name)
            y = b.conv(l.name, y, l.geometry(padded: false), pads: [0, 0, 0, 0])
            if l.normalized {
                let c = l.outChannels
                let normed = b.graph.node("InstanceNormalization",
                                          [y, b.graph.filled("ones_\(c)", dims: [c], value: 1),
                                           b.graph.filled("zeros_\(c)", dims: [c], value: 0)],
                                          [.float("epsilon", InstanceNorm.epsilon)], name: l.name + ".norm")
                y = b.graph.node("Mul", [normed, styleParameter(l, gamma: true)], name: l.name + ".norm")
                y = b.graph.node("Add", [y, styleParameter(l, gamma: false)], name: l.name + ".norm")
            }
            if let shortcut { y = b.graph.node("Add", [y, shortcut], name: l.name + ".shortcut") }
            switch l.activation {
            case .relu: return b.graph.node("Relu", [y], name: l.name)
            case .sigmoid: return b.graph.node("Sigmoid", [y], name: l.name)
            case .relu6: return b.relu6(y, name: l.name)
            case .none: return y
            }
        }
        for l in architecture.contract { x = layer(l, x) }
        let residual = architecture.residual
        for r in 0..<TransferArchitecture.residualBlocks {
            let h = layer(residual[2 * r], x)
            x = layer(residual[2 * r + 1], h, shortcut: x)
        }
        for l in architecture.expand { x = layer(l, x) }
        x = b.graph.node("Slice", [x, b.graph.int64s("zeros_2", [0, 0]), size, b.graph.int64s("axes_2_3", [2, 3])],
                         name: "crop")
        b.graph.node("Transpose", [x], [.ints("perm", [0, 2, 3, 1])], name: "to_nhwc", output: stylizedImageOutput)
        b.graph.output(stylizedImageOutput, image)

        var extraMetadata = ["graph": bakedStyle == nil ? "transfer" : "transfer_baked_style"]
        if let bakedStyle {
            extraMetadata["style_name"] = bakedStyle.name
            extraMetadata["style_embedding"] = bakedStyle.embedding.map { "\($0)" }.joined(separator: ",")
        }
        return try serialize(b.graph.model(opset: opset, producer: producer, version: provenance.pasticheVersion,
                                           metadata: metadata(weights, provenance, extra: extraMetadata)))
    }

    /// The graph under construction and the weights its initializers come from.
    private struct Builder {
        var graph: GraphBuilder
        let weights: ModelWeights

        /// Conv with the parameters `<name>.weight` and `<name>.bias` as initializers; `pads`
        /// nil means TF "SAME" (SAME_UPPER) for kernels above 1×1.
        mutating func conv(_ name: String, _ input: String, _ g: ConvGeometry, pads: [Int]?) -> String {
            let weight = weights["\(name).weight"], bias = weights["\(name).bias"]
            precondition(weight.shape == g.weightShape, "\(name): weight \(weight.shape) is not \(g.weightShape)")
            graph.initializer("\(name).weight", dims: weight.shape, values: UnsafeBufferPointer(weight.data))
            graph.initializer("\(name).bias", dims: bias.shape, values: UnsafeBufferPointer(bias.data))
            var attributes: [GraphBuilder.Attribute] = [.ints("kernel_shape", [g.kernelH, g.kernelW]),
                                                        .ints("strides", [g.stride, g.stride]), .int("group", g.groups)]
            if let pads {
                attributes.append(.ints("pads", pads))
            } else if g.kernelH > 1 || g.kernelW > 1 {
                attributes.append(.string("auto_pad", "SAME_UPPER"))
            }
            return graph.node("Conv", [input, "\(name).weight", "\(name).bias"], attributes, name: name)
        }

        mutating func relu6(_ x: String, name: String) -> String {
            graph.node("Clip", [x, graph.filled("zero_f", dims: [], value: 0), graph.filled("six_f", dims: [], value: 6)],
                       name: name)
        }
    }
}

// MARK: VGG-19

extension ONNXExporter {
    public static let vggInput = "vgg_input"

    /// VGG-19 through `last` as a float32 graph: vgg_input [N, 3, H, W], Caffe's input (BGR,
    /// 0–255, minus the mean pixel: the map `VGG19.caffeInput` applies, done outside the graph so
    /// a reference feeds exactly the network's input), to the ReLU output of every layer in
    /// `outputs` (by their Keras names, `block4_relu2`). Pools are MaxPool or AveragePool 2×2,
    /// stride 2, floor, as `VGG19`'s pooling.
    public static func vgg19(_ network: VGG19, through last: VGGLayer, outputs: [VGGLayer],
                             provenance: Provenance) throws -> Data {
        precondition(outputs.allSatisfy { $0 <= last }, "VGG-19 export: an output past the last layer")
        var g = GraphBuilder(name: "pastiche_vgg19")
        g.input(vggInput, [.symbolic("N"), .fixed(3), .symbolic("H"), .symbolic("W")])
        let tensors = network.tensors
        var x = vggInput
        for layer in network.architecture.layers where layer <= last {
            if layer.conv == 1 && layer.block > 1 {
                x = g.node(network.pooling == .max ? "MaxPool" : "AveragePool", [x],
                           [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])], name: "block\(layer.block - 1)_pool")
            }
            let w = tensors[VGG19Architecture.weightName(layer)]!, b = tensors[VGG19Architecture.biasName(layer)]!
            let wName = g.initializer(VGG19Architecture.weightName(layer), dims: w.shape, values: UnsafeBufferPointer(w.data))
            let bName = g.initializer(VGG19Architecture.biasName(layer), dims: b.shape, values: UnsafeBufferPointer(b.data))
            x = g.node("Conv", [x, wName, bName], [.ints("kernel_shape", [3, 3]), .ints("pads", [1, 1, 1, 1]),
                                                   .ints("strides", [1, 1])], name: layer.convName)
            let exported = outputs.contains(layer)
            x = g.node("Relu", [x], name: layer.convName, output: exported ? layer.reluName : nil)
            if exported {
                g.output(layer.reluName, [.symbolic("N"), .fixed(network.architecture.widths[layer.block - 1]),
                                          .symbolic("H\(layer.block)"), .symbolic("W\(layer.block)")])
            }
        }
        var metadata = network.metadata
        metadata["graph"] = "vgg19"
        metadata["pooling"] = network.pooling.rawValue
        metadata["input"] = "vgg_input [N, 3, H, W]: BGR, 0-255, minus (103.939, 116.779, 123.68)"
        metadata["pastiche_version"] = provenance.pasticheVersion
        return try serialize(g.model(opset: opset, producer: producer, version: provenance.pasticheVersion, metadata: metadata))
    }
}
