import PasticheCore

/// Magenta's style transformer network (`transformer_model`, alpha 0.25): three contracting
/// convs with folded batch norm, five residual blocks and three expanding convs, each of the
/// latter 13 followed by a conditional instance norm whose gamma/beta are linear in the embedding.
///
/// The one description of the network: layers, parameter names, padding, upsampling and
/// activations, the size multiple and the style-parameter maps. `width` scales every layer's
/// channels (1: Magenta's 8/16/32; 0.5: 4/8/16, the narrower network `train transfer --width`
/// distils), as the width multiplier does for the predictor. The fused inference forward
/// (`TransferNetwork`) and the training forward/backward (`TransferNetwork.Training`) both
/// follow it.
public struct TransferArchitecture: Equatable, Sendable {
    /// The channel multiplier.
    public let width: Double

    public init(width: Double) { self.width = width }

    /// Magenta's network.
    public static let standard = TransferArchitecture(width: 1)
    /// The widths a network may have (`train transfer --width`).
    public static let widths: [Double] = [0.5, 0.75, 1]
    /// "1", "0.5", "0.75": as flags and metadata write it.
    public var widthText: String { width == width.rounded() ? String(Int(width)) : String(width) }

    /// `base` channels at this width (at least 1).
    func channels(_ base: Int) -> Int { max(1, Int((Double(base) * width).rounded())) }

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

    public var contract: [Layer] {
        [
            Layer(name: "transfer.contract.conv1", inChannels: 3, outChannels: channels(8), kernel: 9, stride: 1, normalized: false,
                  upsample: 1, activation: .relu),
            Layer(name: "transfer.contract.conv2", inChannels: channels(8), outChannels: channels(16), kernel: 3, stride: 2,
                  normalized: false, upsample: 1, activation: .relu),
            Layer(name: "transfer.contract.conv3", inChannels: channels(16), outChannels: channels(32), kernel: 3, stride: 2,
                  normalized: false, upsample: 1, activation: .relu),
        ]
    }
    public static let residualBlocks = 5
    /// Block r's two convs are `residual[2r]` and `residual[2r + 1]`:
    /// out = norm2(conv2(relu(norm1(conv1(x))))) + x.
    public var residual: [Layer] {
        (1...Self.residualBlocks).flatMap { r in
            (1...2).map { j in
                Layer(name: "transfer.residual.\(r).conv\(j)", inChannels: channels(32), outChannels: channels(32), kernel: 3,
                      stride: 1, normalized: true, upsample: 1, activation: j == 1 ? .relu : .none)
            }
        }
    }
    public var expand: [Layer] {
        [
            Layer(name: "transfer.expand.conv1", inChannels: channels(32), outChannels: channels(16), kernel: 3, stride: 1,
                  normalized: true, upsample: 2, activation: .relu),
            Layer(name: "transfer.expand.conv2", inChannels: channels(16), outChannels: channels(8), kernel: 3, stride: 1,
                  normalized: true, upsample: 2, activation: .relu),
            Layer(name: "transfer.expand.conv3", inChannels: channels(8), outChannels: 3, kernel: 9, stride: 1, normalized: true,
                  upsample: 1, activation: .sigmoid),
        ]
    }
    public var layers: [Layer] { contract + residual + expand }
    /// Spatial sizes must be multiples of this (two stride-2 convs, two ×2 upsamplings).
    public static let sizeMultiple = 4

    public var parameters: [(String, [Int])] {
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
    public func styleParameters(_ embedding: Tensor, parameter: (String) -> Tensor) -> StyleParameters {
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
    public func flops(h: Int, w: Int) -> Double { layerFlops(h: h, w: w).reduce(0, +) }

    /// Multiply-adds ×2 of each layer, in `layers` order, for one image of size h×w.
    public func layerFlops(h: Int, w: Int) -> [Double] {
        var (hh, ww) = (h, w)
        return layers.map { l in
            hh *= l.upsample; ww *= l.upsample
            let g = l.geometry(padded: true)
            defer { (hh, ww) = g.outputSize(h: hh, w: ww) }
            return g.flops(h: hh, w: ww)
        }
    }
}
