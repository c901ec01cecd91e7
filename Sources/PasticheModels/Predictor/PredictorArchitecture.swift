import PasticheCore

/// The style prediction network of Ghiasi et al. 2017 as shipped in Magenta's
/// arbitrary-image-stylization v1-256: MobileNetV2 up to the 1280-channel Conv_1, global average
/// pool, then a 1×1 conv ("bottleneck") to the style embedding. `width` is MobileNetV2's width
/// multiplier (Sandler et al. 2018, §6.1): the shipped predictor is 1.0; `train distill` makes
/// narrower students (0.5, 0.75) whose channel counts follow the reference implementation.
///
/// The one description of the network: its layers, parameter names, padding rule and the
/// geometry of every conv. The fused inference forward (`StylePredictor`) and the training
/// forward/backward (`StylePredictor.Training`) both read their layers from here.
public struct PredictorArchitecture: Sendable, Equatable {
    /// One inverted-residual block of MobileNetV2 (Sandler et al. 2018, Table 2), run by
    /// PasticheCore's `InvertedResidual` op: [1×1 expand → ReLU6] → 3×3 depthwise → ReLU6 →
    /// 1×1 linear projection [+ x].
    public struct Block: Sendable, Equatable {
        public let index: Int
        public let inChannels: Int
        public let expansion: Int
        public let outChannels: Int
        public let stride: Int
        public var hidden: Int { inChannels * expansion }
        public var hasExpand: Bool { expansion != 1 }
        /// Identity shortcut when the block keeps both resolution and width.
        public var hasResidual: Bool { stride == 1 && inChannels == outChannels }

        /// "predictor.block.3.expand": the dotted prefix of one of the block's convs.
        public func name(_ conv: Conv) -> String { "predictor.block.\(index).\(conv.rawValue)" }
        public enum Conv: String, CaseIterable, Sendable { case expand, depthwise, project }

        public var expandGeometry: ConvGeometry {
            ConvGeometry(inChannels: inChannels, outChannels: hidden, kernel: 1)
        }
        /// The depthwise conv for an h×w input (TF "SAME" padding depends on the size).
        public func depthwiseGeometry(h: Int, w: Int) -> ConvGeometry {
            ConvGeometry(inChannels: hidden, outChannels: hidden, kernel: 3, stride: stride,
                         padding: .tfSame(h: h, w: w, kernel: 3, stride: stride), groups: hidden)
        }
        public var projectGeometry: ConvGeometry {
            ConvGeometry(inChannels: hidden, outChannels: outChannels, kernel: 1)
        }
    }

    public static let embeddingSize = 100
    public static let inputSize = 256
    /// Magenta's predictor (width 1.0).
    public static let standard = PredictorArchitecture(width: 1)
    /// Widths `train distill --width` offers.
    public static let distillWidths: [Double] = [0.5, 0.75, 1.0]

    public static let conv0Name = "predictor.conv0"
    public static let lastConvName = "predictor.conv_last"
    public static let bottleneckName = "predictor.bottleneck"

    public let width: Double
    public let firstChannels: Int
    public let lastChannels: Int
    public let blocks: [Block]

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
        var result: [Block] = []
        var cin = firstChannels
        for stage in Self.stages {
            let cout = Self.scaled(stage.c, width)
            for r in 0..<stage.n {
                result.append(Block(index: result.count, inChannels: cin, expansion: stage.t,
                                    outChannels: cout, stride: r == 0 ? stage.s : 1))
                cin = cout
            }
        }
        blocks = result
    }

    /// conv0: 3×3 stride 2 from RGB, for an h×w image.
    public func conv0Geometry(h: Int, w: Int) -> ConvGeometry {
        ConvGeometry(inChannels: 3, outChannels: firstChannels, kernel: 3, stride: 2,
                     padding: .tfSame(h: h, w: w, kernel: 3, stride: 2))
    }

    /// Conv_1: 1×1 from the last block's channels to `lastChannels`, before the global pool.
    public var lastConvGeometry: ConvGeometry {
        ConvGeometry(inChannels: blocks.last!.outChannels, outChannels: lastChannels, kernel: 1)
    }

    /// Every parameter name and shape, in forward order.
    public var parameters: [(String, [Int])] {
        var p: [(String, [Int])] = []
        func conv(_ name: String, _ g: ConvGeometry) {
            p.append(("\(name).weight", g.weightShape))
            p.append(("\(name).bias", [g.outChannels]))
        }
        conv(Self.conv0Name, conv0Geometry(h: Self.inputSize, w: Self.inputSize))
        for b in blocks {
            if b.hasExpand { conv(b.name(.expand), b.expandGeometry) }
            conv(b.name(.depthwise), b.depthwiseGeometry(h: 1, w: 1))
            conv(b.name(.project), b.projectGeometry)
        }
        conv(Self.lastConvName, lastConvGeometry)
        // The bottleneck is a 1×1 conv on the pooled 1×1 map (run as a linear layer).
        conv(Self.bottleneckName, ConvGeometry(inChannels: lastChannels, outChannels: Self.embeddingSize, kernel: 1))
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
        func add(_ g: ConvGeometry) {
            total += g.flops(h: hh, w: ww)
            (hh, ww) = g.outputSize(h: hh, w: ww)
        }
        add(conv0Geometry(h: hh, w: ww))
        for b in blocks {
            if b.hasExpand { add(b.expandGeometry) }
            add(b.depthwiseGeometry(h: hh, w: ww))
            add(b.projectGeometry)
        }
        add(lastConvGeometry)
        return total + 2 * Double(lastChannels * Self.embeddingSize)
    }
}
