import PasticheCore

/// The 2×2 stride-2 pooling between VGG blocks.
public enum VGGPooling: String, Codable, CaseIterable, Sendable {
    /// Max pooling, as VGG was trained (the ONNX files' MaxPool nodes).
    case max
    /// Average pooling: Gatys et al. 2016 (§2) found it gives slightly more appealing results, and
    /// Magenta's `vgg_16` uses it (pooling='avg' in magenta/models/image_stylization/vgg.py).
    case avg
}

/// One 3×3 convolution (+ ReLU) of VGG-19, named as the Keras "notop" port names it:
/// `block4_conv2`, whose ReLU output is `block4_relu2` (relu4_2 in Gatys et al.).
public struct VGGLayer: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// 1-based block and conv within the block, as in the names.
    public let block: Int
    public let conv: Int
    public init(block: Int, conv: Int) { self.block = block; self.conv = conv }

    public var convName: String { "block\(block)_conv\(conv)" }
    public var reluName: String { "block\(block)_relu\(conv)" }
    public var description: String { reluName }
    public static func < (a: VGGLayer, b: VGGLayer) -> Bool { (a.block, a.conv) < (b.block, b.conv) }

    /// `block4_relu2`, `block4_conv2` or `relu4_2` (the papers' names).
    public init?(name: String) {
        let digits = name.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        let shapes = ["block\(digits.first ?? 0)_relu\(digits.last ?? 0)", "block\(digits.first ?? 0)_conv\(digits.last ?? 0)",
                      "relu\(digits.first ?? 0)_\(digits.last ?? 0)"]
        guard digits.count == 2, shapes.contains(name) else { return nil }
        self.init(block: digits[0], conv: digits[1])
    }
}

/// VGG-19's convolutional trunk (Simonyan & Zisserman 2015, configuration E): five blocks of
/// 2, 2, 4, 4, 4 convolutions (3×3, stride 1, zero pad 1, each followed by a ReLU), the blocks
/// separated by 2×2 stride-2 pooling. `widths` are the blocks' channel counts (64, 128, 256, 512,
/// 512 for the real network); the tests run the same definition at a few channels.
///
/// Inputs are Caffe's: BGR, 0–255, minus the ImageNet mean pixel (B, G, R) = (103.939, 116.779,
/// 123.68) (https://gist.github.com/ksimonyan/3785162f95cd2d5fee77). The network takes RGB in
/// [0, 1] and applies that map itself, so every caller feeds the same images as every other net.
public struct VGG19Architecture: Equatable, Sendable {
    public static let convsPerBlock = [2, 2, 4, 4, 4]
    public static let standardWidths = [64, 128, 256, 512, 512]
    public static let standard = VGG19Architecture(widths: standardWidths)
    /// Caffe's mean pixel, in B, G, R order.
    public static let meanBGR: [Float] = [103.939, 116.779, 123.68]

    public let widths: [Int]
    public init(widths: [Int]) {
        precondition(widths.count == 5 && widths.allSatisfy { $0 > 0 }, "VGG-19 has five blocks")
        self.widths = widths
    }

    /// Every conv in order.
    public var layers: [VGGLayer] {
        Self.convsPerBlock.enumerated().flatMap { b, n in (1...n).map { VGGLayer(block: b + 1, conv: $0) } }
    }
    /// Position of `layer` in `layers`.
    public func index(of layer: VGGLayer) -> Int? { layers.firstIndex(of: layer) }

    public func geometry(_ layer: VGGLayer) -> ConvGeometry {
        let input = layer.conv > 1 ? widths[layer.block - 1] : (layer.block == 1 ? 3 : widths[layer.block - 2])
        return ConvGeometry(inChannels: input, outChannels: widths[layer.block - 1], kernel: 3, padding: .same(1))
    }

    /// Parameter names in the safetensors file: `vgg19.block1_conv1.weight` [Cout, Cin, 3, 3]
    /// (BGR input channels, as trained) and `.bias` [Cout].
    public static func weightName(_ layer: VGGLayer) -> String { "vgg19.\(layer.convName).weight" }
    public static func biasName(_ layer: VGGLayer) -> String { "vgg19.\(layer.convName).bias" }

    public var expectedParameters: [(String, [Int])] {
        layers.flatMap { l -> [(String, [Int])] in
            let g = geometry(l)
            return [(Self.weightName(l), g.weightShape), (Self.biasName(l), [g.outChannels])]
        }
    }

    /// Size of `layer`'s output for an h × w input (floor pooling, as VGG, PyTorch and ONNX).
    public func outputSize(_ layer: VGGLayer, h: Int, w: Int) -> (h: Int, w: Int) {
        var oh = h, ow = w
        for _ in 1..<layer.block { oh /= 2; ow /= 2 }
        return (oh, ow)
    }

    /// Multiply-adds × 2 of the forward through `last`, for one h × w image.
    public func flops(through last: VGGLayer, h: Int, w: Int) -> Double {
        layers.filter { $0 <= last }.reduce(0) { sum, l in
            let s = outputSize(l, h: h, w: w)
            return sum + geometry(l).flops(h: s.h, w: s.w)
        }
    }

    /// The smallest side the forward through `last` accepts: every pooled plane keeps a pixel.
    public func minimumSide(through last: VGGLayer) -> Int { 1 << (last.block - 1) }

    /// Floats of the Winograd weights a forward and backward through `last` make and keep
    /// (`VGG19`'s transforms of its frozen weights, for the memory plan).
    public func transformedWeightFloats(through last: VGGLayer) -> Int {
        var four = ExecutionOptions()
        four.winograd4x4 = true
        return layers.filter { $0 <= last }.reduce(0) { sum, layer in
            let g = geometry(layer)
            return sum + [g, Conv2D.transposedGeometry(g)!].reduce(0) { s, g in
                s + g.inChannels * g.outChannels
                    * (Winograd4x4.applies(g, .plain, four) ? 36 : Winograd.applies(g, .plain, .default) ? 16 : 0)
            }
        }
    }
}
