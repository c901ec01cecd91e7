import PasticheCore

/// One inverted-residual block of MobileNetV2 (Sandler et al. 2018, Table 2).
public struct MobileNetBlock: Sendable {
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
/// arbitrary-image-stylization v1-256: MobileNetV2 (width 1.0) up to the 1280-channel Conv_1,
/// global average pool, then a 1×1 conv ("bottleneck") to the style embedding.
public enum PredictorArchitecture {
    public static let embeddingSize = 100
    public static let inputSize = 256
    public static let firstChannels = 32
    public static let lastChannels = 1280

    /// (expansion t, channels c, repeats n, first stride s) from the MobileNetV2 paper.
    static let stages: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    public static let blocks: [MobileNetBlock] = {
        var result: [MobileNetBlock] = []
        var cin = firstChannels
        for stage in stages {
            for r in 0..<stage.n {
                result.append(MobileNetBlock(index: result.count, inChannels: cin, expansion: stage.t,
                                             outChannels: stage.c, stride: r == 0 ? stage.s : 1))
                cin = stage.c
            }
        }
        return result
    }()

    /// Every parameter name and shape, in forward order.
    public static var parameters: [(String, [Int])] {
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
        conv("predictor.bottleneck", embeddingSize, lastChannels, 1)
        return p
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
