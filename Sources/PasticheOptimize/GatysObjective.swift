import Foundation
import PasticheCore
import PasticheModels

/// The terms of the objective at one image.
public struct ObjectiveTerms: Codable, Equatable, Sendable {
    public var content: Double
    public var style: Double
    public var tv: Double
    public var total: Double { content + style + tv }
    public init(content: Double, style: Double, tv: Double) { self.content = content; self.style = style; self.tv = tv }
}

/// The weights and layers of Gatys et al.'s objective. The defaults are those of the PyPI
/// `pastiche` 1.6.0 (pastiche.py, `_calc_loss`), so the same weights give the same numbers.
public struct ObjectiveSettings: Equatable, Sendable {
    public var contentWeight: Double = 1
    public var styleWeight: Double = 1
    public var tvWeight: Double = 0
    public var contentLayers: [VGGLayer] = [VGGLayer(block: 4, conv: 2)]
    public var styleLayers: [VGGLayer] = (1...5).map { VGGLayer(block: $0, conv: 1) }
    public init() {}

    /// The deepest layer any term reads: the forward stops there.
    public var deepestLayer: VGGLayer { (contentLayers + styleLayers).max()! }
}

/// Gatys, Ecker & Bethge 2016's objective over the pixels x ([1, 3, H, W], RGB in [0, 1]) in a
/// frozen VGG-19, with v = 255·x in BGR minus the mean pixel as the network's input and Fᴸ the
/// ReLU output of layer L:
///
///   content = content_weight · Σ_{L ∈ content layers} 0.01 · mean((Fᴸ(v) − Fᴸ(c))²)
///   style   = style_weight · Σ_s w_s · Σ_{L ∈ style layers} (10 / Cᴸ²) · mean((Gᴸ(v) − Gᴸ(s))²),
///             Gᴸ = F Fᵀ / (Hᴸ·Wᴸ) over the Cᴸ channels, the means over the Cᴸ² entries
///   tv      = 0.5 · tv_weight · (mean|v[:, :, :, 1:] − v[:, :, :, :−1]| + mean|v[:, :, 1:, :] − v[:, :, :−1, :]|)
///
/// Σ_s w_s = 1, so the style term is (10/C²)·mean((G − Ḡ)²) + Σ_s w_s·mean(G_s²) − mean(Ḡ²) with
/// Ḡ = Σ_s w_s G_s: one target Gram per layer whatever the number of styles, and the gradient
/// (2·10/C⁴)·(G − Ḡ) exactly as the sum over styles gives it.
public final class GatysObjective {
    public let network: VGG19
    public let settings: ObjectiveSettings
    public let width: Int, height: Int
    let contentTargets: [VGGLayer: Tensor]
    /// Per style layer: Ḡ [1, 1, C, C] and the constant Σ_s w_s·mean(G_s²) − mean(Ḡ²).
    let styleTargets: [VGGLayer: (gram: Tensor, constant: Double)]
    let options: ExecutionOptions

    /// `content` is the photo at the size to optimize; `styles` the style images (each already at
    /// the size it is to be seen at), `styleWeights` summing to 1.
    public init(network: VGG19, settings: ObjectiveSettings, content: Tensor, styles: [Tensor], styleWeights: [Double],
                options: ExecutionOptions = .default) {
        precondition(styles.count == styleWeights.count && !styles.isEmpty, "one weight per style")
        self.network = network; self.settings = settings; self.options = options
        width = content.w; height = content.h
        var contentTargets: [VGGLayer: Tensor] = [:]
        if !settings.contentLayers.isEmpty {
            let tape = network.forward(content, through: settings.contentLayers.max()!, options: options)
            for l in settings.contentLayers { contentTargets[l] = tape.output(l) }
        }
        self.contentTargets = contentTargets
        var sums: [VGGLayer: (gram: Tensor, squares: Double)] = [:]
        if let deepest = settings.styleLayers.max() {
            for (style, w) in zip(styles, styleWeights) {
                let tape = network.forward(style, through: deepest, options: options)
                for l in settings.styleLayers {
                    let g = Gram.forward(tape.output(l))
                    let squares = g.data.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(g.count)
                    if let acc = sums[l] {
                        for k in 0..<g.count { acc.gram.data[k] += Float(w) * g.data[k] }
                        sums[l] = (acc.gram, acc.squares + w * squares)
                    } else {
                        for k in 0..<g.count { g.data[k] *= Float(w) }
                        sums[l] = (g, w * squares)
                    }
                }
            }
        }
        styleTargets = sums.mapValues { entry in
            let meanSquare = entry.gram.data.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(entry.gram.count)
            return (entry.gram, entry.squares - meanSquare)
        }
    }

    /// The terms at `x` and, when asked, their gradient w.r.t. x (a new [1, 3, H, W] tensor).
    /// Each term's gradient w.r.t. its layer is made when the backward reaches that layer.
    public func evaluate(_ x: Tensor, gradient: Bool) -> (terms: ObjectiveTerms, gradient: Tensor?) {
        precondition(x.w == width && x.h == height && x.c == 3, "objective: image size")
        let tape = network.forward(x, through: settings.deepestLayer, options: options)
        var content = 0.0
        var contentScales: [VGGLayer: Float] = [:]
        for l in settings.contentLayers {
            let f = tape.output(l), target = contentTargets[l]!
            let count = Double(f.count)
            let scale = settings.contentWeight * 0.01
            var sum = 0.0
            let fp = f.pointer, tp = target.pointer
            for k in 0..<f.count { let d = Double(fp[k] - tp[k]); sum += d * d }
            content += scale * sum / count
            contentScales[l] = Float(2 * scale / count)
        }
        var style = 0.0
        var dGrams: [VGGLayer: Tensor] = [:]
        for l in settings.styleLayers {
            let f = tape.output(l), target = styleTargets[l]!
            let c = Double(f.c)
            let g = Gram.forward(f)
            let scale = settings.styleWeight * 10 / (c * c)
            var sum = 0.0
            let gp = g.pointer, tp = target.gram.pointer
            for k in 0..<g.count { let d = Double(gp[k] - tp[k]); sum += d * d }
            style += scale * (sum / Double(g.count) + target.constant)
            // dL/dG = scale · 2 (G − Ḡ) / C², kept in place of G.
            let a = Float(scale * 2 / Double(g.count))
            for k in 0..<g.count { gp[k] = a * (gp[k] - tp[k]) }
            dGrams[l] = g
        }
        var dImage: Tensor? = nil
        if gradient {
            dImage = network.backward(tape, options: options) { layer, f in
                let a = contentScales[layer], dG = dGrams[layer]
                guard a != nil || dG != nil else { return nil }
                let d = Tensor(f.n, f.c, f.h, f.w, zeroed: a == nil)
                if let a {
                    let fp = UnsafePointer(f.pointer), tp = UnsafePointer(contentTargets[layer]!.pointer), dp = d.pointer
                    Parallel.forEachChunk(f.count) { r in for k in r { dp[k] = a * (fp[k] - tp[k]) } }
                }
                // Gram.backward adds (dG + dGᵀ)·F / (H·W).
                if let dG { Gram.backward(f, dGram: dG, dx: d) }
                return d
            }
        }
        let tv = TotalVariation.add(x, weight: settings.tvWeight, gradient: dImage)
        return (ObjectiveTerms(content: content, style: style, tv: tv), dImage)
    }
}

/// The total-variation term of `GatysObjective` on v = 255·x (BGR, minus the mean): the channel
/// order and the mean do not change the absolute differences, so it is taken on x directly.
enum TotalVariation {
    /// 0.5 · weight · 255 · (mean|Δ_x x| + mean|Δ_y x|); adds its gradient (sign(Δ)·…, 0 where
    /// Δ = 0, as torch's abs) into `gradient` when given.
    static func add(_ x: Tensor, weight: Double, gradient: Tensor?) -> Double {
        guard weight != 0 else { return 0 }
        let h = x.h, w = x.w
        let countX = Double(x.n * x.c * h * max(0, w - 1)), countY = Double(x.n * x.c * max(0, h - 1) * w)
        let scale = 0.5 * weight * 255
        var sumX = 0.0, sumY = 0.0
        let ax = countX > 0 ? Float(scale / countX) : 0, ay = countY > 0 ? Float(scale / countY) : 0
        @inline(__always) func sign(_ d: Float) -> Float { d > 0 ? 1 : (d < 0 ? -1 : 0) }
        for p in 0..<(x.n * x.c) {
            let src = x.pointer + p * x.plane
            let dst = gradient.map { $0.pointer + p * x.plane }
            for yy in 0..<h {
                let row = src + yy * w
                for xx in 0..<(w - 1) {
                    let d = row[xx + 1] - row[xx]
                    sumX += Double(abs(d))
                    if let dst { let s = ax * sign(d); dst[yy * w + xx + 1] += s; dst[yy * w + xx] -= s }
                }
                if yy + 1 < h {
                    let next = row + w
                    for xx in 0..<w {
                        let d = next[xx] - row[xx]
                        sumY += Double(abs(d))
                        if let dst { let s = ay * sign(d); dst[(yy + 1) * w + xx] += s; dst[yy * w + xx] -= s }
                    }
                }
            }
        }
        return scale * ((countX > 0 ? sumX / countX : 0) + (countY > 0 ? sumY / countY : 0))
    }
}
