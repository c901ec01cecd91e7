import PasticheCore

/// Magenta's style transformer network (`transformer_model`, alpha 0.25): three contracting
/// convs with folded batch norm, five residual blocks and three expanding convs, each of the
/// latter 13 followed by a conditional instance norm whose gamma/beta are linear in the embedding.
///
/// The one description of the network: layers, parameter names, padding, upsampling and
/// activations, the size multiple and the style-parameter maps. The fused inference forward
/// (`TransferNetwork`) and the training forward/backward (`TransferNetwork.Training`) both
/// follow it.
public enum TransferArchitecture {
    public struct Layer: Sendable {
        public let name: String
        public let inChannels: Int
        public let outChannels: Int
        public let kernel: Int
        public let stride: Int
        /// Conditional instance norm after the conv (all but the contracting convs).
        public let normalized: Bool
        /// Nearest-neighbour upsampling of the layer's input (Magenta's `upsampling`: the first
        /// two expanding convs read their input ×2).
        public let upsample: Int
        /// After the conv (contracting) or the norm; none on a residual block's second conv,
        /// whose output is added to the shortcut instead (Magenta's residual_block).
        public let activation: Activation

        /// Reflection padding by k/2 on every side (Magenta's `conv2d` with MirrorPad).
        public var padding: Padding { .same(kernel / 2) }
        /// The conv with its padding (as inference folds it into the column unfolding), or
        /// without (as training pads explicitly first).
        public func geometry(padded: Bool) -> ConvGeometry {
            ConvGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                         padding: padded ? padding : .zero)
        }
        public var gammaName: String { "\(name).norm.gamma" }
        public var betaName: String { "\(name).norm.beta" }
    }

    public static let contract: [Layer] = [
        Layer(name: "transfer.contract.conv1", inChannels: 3, outChannels: 8, kernel: 9, stride: 1, normalized: false,
              upsample: 1, activation: .relu),
        Layer(name: "transfer.contract.conv2", inChannels: 8, outChannels: 16, kernel: 3, stride: 2, normalized: false,
              upsample: 1, activation: .relu),
        Layer(name: "transfer.contract.conv3", inChannels: 16, outChannels: 32, kernel: 3, stride: 2, normalized: false,
              upsample: 1, activation: .relu),
    ]
    public static let residualBlocks = 5
    /// Block r's two convs are `residual[2r]` and `residual[2r + 1]`:
    /// out = norm2(conv2(relu(norm1(conv1(x))))) + x.
    public static let residual: [Layer] = (1...residualBlocks).flatMap { r in
        (1...2).map { j in
            Layer(name: "transfer.residual.\(r).conv\(j)", inChannels: 32, outChannels: 32, kernel: 3, stride: 1,
                  normalized: true, upsample: 1, activation: j == 1 ? .relu : .none)
        }
    }
    public static let expand: [Layer] = [
        Layer(name: "transfer.expand.conv1", inChannels: 32, outChannels: 16, kernel: 3, stride: 1, normalized: true,
              upsample: 2, activation: .relu),
        Layer(name: "transfer.expand.conv2", inChannels: 16, outChannels: 8, kernel: 3, stride: 1, normalized: true,
              upsample: 2, activation: .relu),
        Layer(name: "transfer.expand.conv3", inChannels: 8, outChannels: 3, kernel: 9, stride: 1, normalized: true,
              upsample: 1, activation: .sigmoid),
    ]
    public static var layers: [Layer] { contract + residual + expand }
    /// Spatial sizes must be multiples of this (two stride-2 convs, two ×2 upsamplings).
    public static let sizeMultiple = 4

    public static var parameters: [(String, [Int])] {
        var p: [(String, [Int])] = []
        for l in layers {
            p.append(("\(l.name).weight", l.geometry(padded: false).weightShape))
            p.append(("\(l.name).bias", [l.outChannels]))
            if l.normalized {
                for map in [l.gammaName, l.betaName] {
                    p.append(("\(map).weight", [l.outChannels, PredictorArchitecture.embeddingSize, 1, 1]))
                    p.append(("\(map).bias", [l.outChannels]))
                }
            }
        }
        return p
    }

    /// The conditional instance norm parameters of every normalised layer for one embedding
    /// batch: gamma[name], beta[name], each [N, C, 1, 1], linear in the embedding
    /// (Ghiasi et al. 2017, §3.1; Dumoulin et al. 2017).
    public struct StyleParameters {
        public var gamma: [String: Tensor] = [:]
        public var beta: [String: Tensor] = [:]
    }

    /// embedding [N, 100, 1, 1] → gamma and beta of every normalised layer; `parameter` reads
    /// a tensor by its dotted name (the model's weights, or a training `ParameterSource`).
    public static func styleParameters(_ embedding: Tensor, parameter: (String) -> Tensor) -> StyleParameters {
        var p = StyleParameters()
        for l in layers where l.normalized {
            p.gamma[l.name] = Linear.forward(embedding, weight: parameter("\(l.gammaName).weight"),
                                             bias: parameter("\(l.gammaName).bias"))
            p.beta[l.name] = Linear.forward(embedding, weight: parameter("\(l.betaName).weight"),
                                            bias: parameter("\(l.betaName).bias"))
        }
        return p
    }

    /// Multiply-adds ×2 for one image of size h×w.
    public static func flops(h: Int, w: Int) -> Double { layerFlops(h: h, w: w).reduce(0, +) }

    /// Multiply-adds ×2 of each layer, in `layers` order, for one image of size h×w.
    public static func layerFlops(h: Int, w: Int) -> [Double] {
        var (hh, ww) = (h, w)
        return layers.map { l in
            hh *= l.upsample; ww *= l.upsample
            let g = l.geometry(padded: true)
            defer { (hh, ww) = g.outputSize(h: hh, w: ww) }
            return g.flops(h: hh, w: ww)
        }
    }
}
