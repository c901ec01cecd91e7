import Foundation
import PasticheCore
import PasticheModels

/// Which loss network, layers and weights the perceptual loss uses.
///
/// **MobileNetV2** (default, `vggPath == nil`): the frozen pretrained trunk of the predictor.
/// Blocks are `PredictorArchitecture.blocks` indices; features are the (linear) projection
/// outputs of those blocks:
///   block 0: 16 ch at 1/2, block 2: 24 ch at 1/4, block 5: 32 ch at 1/8, block 9: 64 ch at 1/16.
/// Content at block 5 (the last 1/8-resolution block, as Magenta's content layer conv3 sits
/// before the deepest style layer); style at the ends of the 1/2, 1/4, 1/8 and 1/16 stages,
/// mirroring Magenta's conv1…conv4 (one per resolution).
///
/// **VGG-16** (`vggPath` = an ONNX file, see `vgg16(path:)`): Magenta's loss network. Blocks are
/// 1…4 = `vgg_16/conv1`…`conv4`, each the ReLU output of the block's last conv before its pool;
/// content conv3, style conv1…conv4, weights 1 / 0.5e-3 / 1e4
/// (arbitrary_image_stylization_train.py DEFAULT_CONTENT_WEIGHTS / DEFAULT_STYLE_WEIGHTS,
/// total_variation_weight).
///
/// **VGG-19** (`vgg19Path` = the safetensors of `model fetch`, see `vgg19(path:)`): the same
/// blocks and weights as VGG-16 above, on `VGG19` (the network `optimize` uses): block b's
/// feature is the ReLU output of its last conv (block1_relu2, block2_relu2, block3_relu4,
/// block4_relu4), with Caffe's input (BGR, 0–255 minus the mean pixel), the scale Magenta's
/// TF-slim VGG-16 also sees, so Magenta's weights carry over.
public struct LossConfig: Codable, Equatable, Sendable {
    public var contentBlock: Int = 5
    public var styleBlocks: [Int] = [0, 2, 5, 9]
    public var contentWeight: Float = 1
    /// Weight of each style layer's Gram MSE (the same for all layers, as in Magenta).
    public var styleWeight: Float = 0.5
    /// Weight of Magenta's normalised total variation.
    public var tvWeight: Float = 100
    /// A VGG-16 ONNX file to use as the loss network; nil: the MobileNetV2 trunk.
    public var vggPath: String? = nil
    /// How images in [0, 1] are fed to VGG (VGG only).
    public var vggNormalization: VGGNormalization = .imagenet
    /// Pooling between VGG blocks (VGG only).
    public var vggPooling: VGGPooling = .max
    /// VGG-19 weights (safetensors) as the loss network; nil: see `vggPath`.
    public var vgg19Path: String? = nil
    public init() {}

    /// Magenta's VGG-16 blocks and weights on VGG-19.
    public static func vgg19(path: String, pooling: VGGPooling = .max) -> LossConfig {
        var c = vgg16(path: "", pooling: pooling)
        c.vggPath = nil
        c.vgg19Path = path
        return c
    }

    /// Magenta's VGG-16 loss: content conv3, style conv1…conv4, weights 1 / 0.5e-3 / 1e4.
    public static func vgg16(path: String, normalization: VGGNormalization = .imagenet,
                             pooling: VGGPooling = .max) -> LossConfig {
        var c = LossConfig()
        c.vggPath = path
        c.vggNormalization = normalization
        c.vggPooling = pooling
        c.contentBlock = 3
        c.styleBlocks = [1, 2, 3, 4]
        c.contentWeight = 1
        c.styleWeight = 0.5e-3
        c.tvWeight = 1e4
        return c
    }

    enum CodingKeys: String, CodingKey {
        case contentBlock, styleBlocks, contentWeight, styleWeight, tvWeight, vggPath, vggNormalization, vggPooling, vgg19Path
    }

    /// Checkpoints written before the VGG option have no vgg* keys: they mean MobileNetV2.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        contentBlock = try c.decode(Int.self, forKey: .contentBlock)
        styleBlocks = try c.decode([Int].self, forKey: .styleBlocks)
        contentWeight = try c.decode(Float.self, forKey: .contentWeight)
        styleWeight = try c.decode(Float.self, forKey: .styleWeight)
        tvWeight = try c.decode(Float.self, forKey: .tvWeight)
        vggPath = try c.decodeIfPresent(String.self, forKey: .vggPath)
        vggNormalization = try c.decodeIfPresent(VGGNormalization.self, forKey: .vggNormalization) ?? .imagenet
        vggPooling = try c.decodeIfPresent(VGGPooling.self, forKey: .vggPooling) ?? .max
        vgg19Path = try c.decodeIfPresent(String.self, forKey: .vgg19Path)
    }
}

/// Weighted loss terms (total = content + style + tv).
public struct LossValues: Codable, Equatable, Sendable {
    public var content: Double = 0
    public var style: Double = 0
    public var tv: Double = 0
    public var total: Double { content + style + tv }
    public init(content: Double = 0, style: Double = 0, tv: Double = 0) {
        self.content = content; self.style = style; self.tv = tv
    }
    public var isFinite: Bool { content.isFinite && style.isFinite && tv.isFinite }
    static func + (a: LossValues, b: LossValues) -> LossValues {
        LossValues(content: a.content + b.content, style: a.style + b.style, tv: a.tv + b.tv)
    }
    func scaled(_ s: Double) -> LossValues { LossValues(content: content * s, style: style * s, tv: tv * s) }
}

/// content(y, c) + style(y, s) + tv(y) through the frozen loss network (MobileNetV2 trunk or
/// VGG-16, as `config.vggPath` says).
public final class PerceptualLoss: @unchecked Sendable {
    public let config: LossConfig
    enum Network {
        case mobileNet(ParameterSource)
        case vgg(VGGLossNetwork)
        case vgg19(VGG19)
    }
    let network: Network
    var lastBlock: Int { max(config.contentBlock, config.styleBlocks.max() ?? 0) }

    /// `weights`: the pretrained model whose predictor trunk is the loss network (unused when
    /// `config.vggPath` is set; then the VGG file is read, and a bad file throws).
    public init(weights: ModelWeights, config: LossConfig) throws {
        self.config = config
        if let path = config.vgg19Path {
            if let bad = ([config.contentBlock] + config.styleBlocks).first(where: { !(1...5).contains($0) }) {
                throw TrainingError("VGG loss layer \(bad) does not exist; VGG layers are 1…5 (conv1…conv5)")
            }
            network = .vgg19(try VGG19.load(path: path, pooling: config.vggPooling))
        } else if let path = config.vggPath {
            let blocks = [config.contentBlock] + config.styleBlocks
            if let bad = blocks.first(where: { !(1...5).contains($0) }) {
                throw TrainingError("VGG loss layer \(bad) does not exist; VGG layers are 1…5 (conv1…conv5)")
            }
            network = .vgg(try VGGLossNetwork.load(path: path, blocks: blocks.max()!, normalization: config.vggNormalization,
                                                   pooling: config.vggPooling))
        } else {
            var frozen: [String: Tensor] = [:]
            for (name, t) in weights.tensors where name.hasPrefix("predictor.") { frozen[name] = t }
            network = .mobileNet(ParameterSource(trainable: nil, frozen: frozen))
        }
    }

    public struct Targets {
        public var content: Tensor
        public var grams: [Int: Tensor]
    }

    /// The loss network's forward pass up to `lastBlock`, the features of each block, and a
    /// backward from gradients at those features to the image.
    struct Features {
        let output: (Int) -> Tensor
        let backward: ([Int: Tensor]) -> Tensor?
    }

    func features(_ x: Tensor, lastBlock: Int) -> Features {
        switch network {
        case .mobileNet(let source):
            let tape = StylePredictor.Training.trunkForward(x, lastBlock: lastBlock, source)
            return Features(output: { tape.blocks[$0].output },
                            backward: { StylePredictor.Training.trunkBackward(tape, dBlock: $0, source, needInput: true) })
        case .vgg(let vgg):
            let tape = vgg.forward(x, lastBlock: lastBlock)
            return Features(output: { tape.output(block: $0) }, backward: { vgg.backward(tape, dBlock: $0) })
        case .vgg19(let vgg):
            // Block b's endpoint: the ReLU of its last conv.
            func endpoint(_ b: Int) -> VGGLayer { VGGLayer(block: b, conv: VGG19Architecture.convsPerBlock[b - 1]) }
            let tape = vgg.forward(x, through: endpoint(lastBlock))
            return Features(output: { tape.output(endpoint($0)) }, backward: { dBlock in
                var byLayer: [VGGLayer: Tensor] = [:]
                for (b, d) in dBlock { byLayer[endpoint(b)] = d.copy() }
                return vgg.backward(tape, gradients: byLayer)
            })
        }
    }

    /// Content features of `content` and style Grams of `style` (both [N, 3, H, W] in [0, 1]).
    public func targets(content: Tensor, style: Tensor) -> Targets {
        let ct = features(content, lastBlock: config.contentBlock)
        return Targets(content: ct.output(config.contentBlock), grams: styleGrams(style))
    }

    /// The Grams of the last few style images asked for, with their pixels: a per-style run
    /// gives the same style image at every step, an N-style run one of a few, and `eval` one
    /// style for many photos, so each style's Grams cost one loss-network pass, not one per
    /// sample. The same pixels give the same Grams bit for bit.
    private var recentStyles: [(shape: [Int], pixels: [Float], grams: [Int: Tensor])] = []
    private let recentStylesLock = NSLock()
    /// How many styles' Grams are kept (oldest dropped first).
    static let recentStyleCount = 16

    func styleGrams(_ style: Tensor) -> [Int: Tensor] {
        guard let last = config.styleBlocks.max() else { return [:] }
        let recent = recentStylesLock.withLock { recentStyles }
        if let hit = recent.first(where: { hit in
            hit.shape == style.shape && hit.pixels.withUnsafeBufferPointer { memcmp($0.baseAddress!, style.pointer, style.count * 4) == 0 }
        }) {
            return hit.grams
        }
        let st = features(style, lastBlock: last)
        var grams: [Int: Tensor] = [:]
        for b in config.styleBlocks { grams[b] = Gram.forward(st.output(b)) }
        recentStylesLock.withLock {
            recentStyles.append((style.shape, style.array, grams))
            if recentStyles.count > Self.recentStyleCount { recentStyles.removeFirst() }
        }
        return grams
    }

    /// Loss of the stylized batch `y` and, when `gradient`, dLoss/dy. Terms are means over the
    /// batch (Magenta's reductions: MSE over all elements, TV divided by the batch size).
    public func evaluate(_ y: Tensor, targets: Targets, gradient: Bool) -> (LossValues, Tensor?) {
        let tape = features(y, lastBlock: lastBlock)
        var values = LossValues()
        var dBlock: [Int: Tensor] = [:]
        func dTap(_ b: Int) -> Tensor {
            if let t = dBlock[b] { return t }
            let o = tape.output(b)
            let t = Tensor(o.n, o.c, o.h, o.w)
            dBlock[b] = t
            return t
        }
        let fc = tape.output(config.contentBlock)
        values.content = Double(config.contentWeight) * Double(MSELoss.forward(fc, targets.content))
        if gradient {
            MSELoss.backward(fc, targets.content, dLoss: config.contentWeight, da: dTap(config.contentBlock), db: nil)
        }
        for b in config.styleBlocks {
            let f = tape.output(b)
            let g = Gram.forward(f)
            values.style += Double(config.styleWeight) * Double(MSELoss.forward(g, targets.grams[b]!))
            if gradient {
                let dG = Tensor(g.n, g.c, g.h, g.w)
                MSELoss.backward(g, targets.grams[b]!, dLoss: config.styleWeight, da: dG, db: nil)
                Gram.backward(f, dGram: dG, dx: dTap(b))
            }
        }
        let dy = gradient ? Tensor(y.n, y.c, y.h, y.w) : nil
        values.tv = Double(config.tvWeight) * TotalVariation.forward(y, dx: dy, weight: config.tvWeight)
        if gradient, let dIn = tape.backward(dBlock) {
            Elementwise.accumulate(dy!, dIn)
        }
        return (values, dy)
    }
}
