import PasticheCore

/// One inverted-residual block of MobileNetV2 (Sandler et al. 2018, Table 2).
public struct MobileNetBlock: Sendable, Equatable {
    public let index: Int
    public let inChannels: Int
    public let expansion: Int
    public let outChannels: Int
    public let stride: Int
    public var hidden: Int { inChannels * expansion }
    public var hasExpand: Bool { expansion != 1 }
    /// Identity shortcut when the block keeps both resolution and width.
    public var hasResidual: Bool { stride == 1 && inChannels == outChannels }
}

/// The style prediction network of Ghiasi et al. 2017 as shipped in Magenta's
/// arbitrary-image-stylization v1-256: MobileNetV2 up to the 1280-channel Conv_1, global average
/// pool, then a 1×1 conv ("bottleneck") to the style embedding. `width` is MobileNetV2's width
/// multiplier (Sandler et al. 2018, §6.1): the shipped predictor is 1.0; `train distill` makes
/// narrower students (0.5, 0.75) whose channel counts follow the reference implementation.
public struct PredictorArchitecture: Sendable, Equatable {
    public static let embeddingSize = 100
    public static let inputSize = 256
    /// Magenta's predictor (width 1.0).
    public static let standard = PredictorArchitecture(width: 1)
    /// Widths `train distill --width` offers.
    public static let distillWidths: [Double] = [0.5, 0.75, 1.0]

    public let width: Double
    public let firstChannels: Int
    public let lastChannels: Int
    public let blocks: [MobileNetBlock]

    /// (expansion t, channels c, repeats n, first stride s) from the MobileNetV2 paper.
    static let stages: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    /// `_make_divisible` of the reference MobileNetV2 (tf.keras / slim): round to the nearest
    /// multiple of 8, never below 8 nor more than 10 % below the exact product.
    static func scaled(_ channels: Int, _ width: Double) -> Int {
        let v = Double(channels) * width
        var r = max(8, Int(v + 4) / 8 * 8)
        if Double(r) < 0.9 * v { r += 8 }
        return r
    }

    public init(width: Double) {
        precondition(width > 0 && width.isFinite, "width multiplier must be positive")
        self.width = width
        firstChannels = Self.scaled(32, width)
        // The paper keeps the last conv at 1280 channels for multipliers below one.
        lastChannels = width > 1 ? Self.scaled(1280, width) : 1280
        var result: [MobileNetBlock] = []
        var cin = firstChannels
        for stage in Self.stages {
            let cout = Self.scaled(stage.c, width)
            for r in 0..<stage.n {
                result.append(MobileNetBlock(index: result.count, inChannels: cin, expansion: stage.t,
                                             outChannels: cout, stride: r == 0 ? stage.s : 1))
                cin = cout
            }
        }
        blocks = result
    }

    /// Every parameter name and shape, in forward order.
    public var parameters: [(String, [Int])] {
        var p: [(String, [Int])] = []
        func conv(_ name: String, _ cout: Int, _ cinPerGroup: Int, _ k: Int) {
            p.append(("\(name).weight", [cout, cinPerGroup, k, k]))
            p.append(("\(name).bias", [cout]))
        }
        conv("predictor.conv0", firstChannels, 3, 3)
        for b in blocks {
            let prefix = "predictor.block.\(b.index)"
            if b.hasExpand { conv("\(prefix).expand", b.hidden, b.inChannels, 1) }
            conv("\(prefix).depthwise", b.hidden, 1, 3)
            conv("\(prefix).project", b.outChannels, b.hidden, 1)
        }
        conv("predictor.conv_last", lastChannels, blocks.last!.outChannels, 1)
        conv("predictor.bottleneck", Self.embeddingSize, lastChannels, 1)
        return p
    }

    /// The width as the safetensors metadata spells it ("1", "0.5", "0.75").
    public var widthText: String {
        width == width.rounded() ? String(Int(width)) : String(width)
    }

    /// Multiply-adds ×2 for one image of size h×w.
    public func flops(h: Int, w: Int) -> Double {
        var total = 0.0
        var (hh, ww) = (h, w)
        func add(_ cin: Int, _ cout: Int, _ k: Int, _ s: Int, _ groups: Int = 1) {
            let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: k, stride: s,
                                 padding: samePadding(h: hh, w: ww, kernel: k, stride: s), groups: groups)
            total += g.flops(h: hh, w: ww)
            (hh, ww) = g.outputSize(h: hh, w: ww)
        }
        add(3, firstChannels, 3, 2)
        for b in blocks {
            if b.hasExpand { add(b.inChannels, b.hidden, 1, 1) }
            add(b.hidden, b.hidden, 3, b.stride, b.hidden)
            add(b.hidden, b.outChannels, 1, 1)
        }
        add(blocks.last!.outChannels, lastChannels, 1, 1)
        return total + 2 * Double(lastChannels * Self.embeddingSize)
    }
}

/// Magenta's style transformer network (`transformer_model`, alpha 0.25): three contracting
/// convs with folded batch norm, five residual blocks and three expanding convs, each of the
/// latter 13 followed by a conditional instance norm whose gamma/beta are linear in the embedding.
public enum TransferArchitecture {
    public struct Layer: Sendable {
        public let name: String
        public let inChannels: Int
        public let outChannels: Int
        public let kernel: Int
        public let stride: Int
        /// Conditional instance norm after the conv (all but the contracting convs).
        public let normalized: Bool
    }

    public static let contract: [Layer] = [
        Layer(name: "transfer.contract.conv1", inChannels: 3, outChannels: 8, kernel: 9, stride: 1, normalized: false),
        Layer(name: "transfer.contract.conv2", inChannels: 8, outChannels: 16, kernel: 3, stride: 2, normalized: false),
        Layer(name: "transfer.contract.conv3", inChannels: 16, outChannels: 32, kernel: 3, stride: 2, normalized: false),
    ]
    public static let residualBlocks = 5
    public static let residual: [Layer] = (1...residualBlocks).flatMap { r in
        (1...2).map { j in
            Layer(name: "transfer.residual.\(r).conv\(j)", inChannels: 32, outChannels: 32, kernel: 3, stride: 1, normalized: true)
        }
    }
    public static let expand: [Layer] = [
        Layer(name: "transfer.expand.conv1", inChannels: 32, outChannels: 16, kernel: 3, stride: 1, normalized: true),
        Layer(name: "transfer.expand.conv2", inChannels: 16, outChannels: 8, kernel: 3, stride: 1, normalized: true),
        Layer(name: "transfer.expand.conv3", inChannels: 8, outChannels: 3, kernel: 9, stride: 1, normalized: true),
    ]
    public static var layers: [Layer] { contract + residual + expand }
    /// Spatial sizes must be multiples of this (two stride-2 convs, two ×2 upsamplings).
    public static let sizeMultiple = 4

    public static var parameters: [(String, [Int])] {
        var p: [(String, [Int])] = []
        for l in layers {
            p.append(("\(l.name).weight", [l.outChannels, l.inChannels, l.kernel, l.kernel]))
            p.append(("\(l.name).bias", [l.outChannels]))
            if l.normalized {
                for part in ["gamma", "beta"] {
                    p.append(("\(l.name).norm.\(part).weight", [l.outChannels, PredictorArchitecture.embeddingSize, 1, 1]))
                    p.append(("\(l.name).norm.\(part).bias", [l.outChannels]))
                }
            }
        }
        return p
    }
}
