import Foundation
import PasticheCore
import PasticheModels

/// Which loss-network layers and weights the perceptual loss uses.
///
/// The loss network is the frozen pretrained MobileNetV2 trunk of the predictor (VGG-16, which
/// Magenta used, cannot be obtained here). Blocks are `PredictorArchitecture.blocks` indices;
/// features are the (linear) projection outputs of those blocks:
///   block 0: 16 ch at 1/2, block 2: 24 ch at 1/4, block 5: 32 ch at 1/8, block 9: 64 ch at 1/16.
/// Content at block 5 (the last 1/8-resolution block, as Magenta's content layer conv3 sits
/// before the deepest style layer); style at the ends of the 1/2, 1/4, 1/8 and 1/16 stages,
/// mirroring Magenta's conv1…conv4 (one per resolution).
public struct LossConfig: Codable, Equatable, Sendable {
    public var contentBlock: Int = 5
    public var styleBlocks: [Int] = [0, 2, 5, 9]
    public var contentWeight: Float = 1
    /// Weight of each style layer's Gram MSE (the same for all layers, as in Magenta).
    public var styleWeight: Float = 0.5
    /// Weight of Magenta's normalised total variation.
    public var tvWeight: Float = 100
    public init() {}
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

/// content(y, c) + style(y, s) + tv(y) through the frozen loss network.
public final class PerceptualLoss: @unchecked Sendable {
    public let config: LossConfig
    let source: ParameterSource
    var lastBlock: Int { max(config.contentBlock, config.styleBlocks.max() ?? 0) }

    /// `weights`: the pretrained model whose predictor trunk is the loss network.
    public init(weights: ModelWeights, config: LossConfig) {
        self.config = config
        var frozen: [String: Tensor] = [:]
        for (name, t) in weights.tensors where name.hasPrefix("predictor.") { frozen[name] = t }
        source = ParameterSource(trainable: nil, frozen: frozen)
    }

    public struct Targets {
        public var content: Tensor
        public var grams: [Int: Tensor]
    }

    /// Content features of `content` and style Grams of `style` (both [N, 3, H, W] in [0, 1]).
    public func targets(content: Tensor, style: Tensor) -> Targets {
        let ct = MobileNetTrunk.forward(content, lastBlock: config.contentBlock, source)
        let st = MobileNetTrunk.forward(style, lastBlock: config.styleBlocks.max() ?? 0, source)
        var grams: [Int: Tensor] = [:]
        for b in config.styleBlocks { grams[b] = Gram.forward(st.blocks[b].output) }
        return Targets(content: ct.blocks[config.contentBlock].output, grams: grams)
    }

    /// Loss of the stylized batch `y` and, when `gradient`, dLoss/dy. Terms are means over the
    /// batch (Magenta's reductions: MSE over all elements, TV divided by the batch size).
    public func evaluate(_ y: Tensor, targets: Targets, gradient: Bool) -> (LossValues, Tensor?) {
        let tape = MobileNetTrunk.forward(y, lastBlock: lastBlock, source)
        var values = LossValues()
        var dBlock: [Int: Tensor] = [:]
        func dTap(_ b: Int) -> Tensor {
            if let t = dBlock[b] { return t }
            let o = tape.blocks[b].output
            let t = Tensor(o.n, o.c, o.h, o.w)
            dBlock[b] = t
            return t
        }
        let fc = tape.blocks[config.contentBlock].output
        values.content = Double(config.contentWeight) * Double(MSELoss.forward(fc, targets.content))
        if gradient {
            MSELoss.backward(fc, targets.content, dLoss: config.contentWeight, da: dTap(config.contentBlock), db: nil)
        }
        for b in config.styleBlocks {
            let f = tape.blocks[b].output
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
        if gradient {
            if let dIn = MobileNetTrunk.backward(tape, dBlock: dBlock, source, needInput: true) {
                Elementwise.accumulate(dy!, dIn)
            }
        }
        return (values, dy)
    }
}

/// Magenta's total variation loss (arbitrary_image_stylization_losses.total_variation_loss):
///   (l2(y[:, 1:] − y[:, :-1]) / ((H−1)·W·C) + l2(y[:, :, 1:] − y[:, :, :-1]) / (H·(W−1)·C)) / N
/// with l2(t) = Σ t² / 2.
public enum TotalVariation {
    /// Returns the unweighted loss; when `dx` is given, adds weight · dLoss/dy to it.
    public static func forward(_ y: Tensor, dx: Tensor?, weight: Float) -> Double {
        let n = y.n, c = y.c, h = y.h, w = y.w
        guard h > 1, w > 1 else { return 0 }
        let ySize = Double((h - 1) * w * c), xSize = Double(h * (w - 1) * c)
        var sy: Double = 0, sx: Double = 0
        let gy = Float(Double(weight) / ySize / Double(n)), gx = Float(Double(weight) / xSize / Double(n))
        for j in 0..<(n * c) {
            let p = y.pointer + j * h * w
            let d = dx.map { $0.pointer + j * h * w }
            for r in 0..<h {
                for col in 0..<w {
                    let v = p[r * w + col]
                    if r + 1 < h {
                        let diff = p[(r + 1) * w + col] - v
                        sy += Double(diff * diff)
                        if let d { d[(r + 1) * w + col] += gy * diff; d[r * w + col] -= gy * diff }
                    }
                    if col + 1 < w {
                        let diff = p[r * w + col + 1] - v
                        sx += Double(diff * diff)
                        if let d { d[r * w + col + 1] += gx * diff; d[r * w + col] -= gx * diff }
                    }
                }
            }
        }
        return (sy / 2 / ySize + sx / 2 / xSize) / Double(n)
    }
}
