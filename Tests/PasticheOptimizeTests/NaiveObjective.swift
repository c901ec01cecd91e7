import Foundation
import PasticheCore
import PasticheModels
import PasticheOptimize

/// The objective of docs/optimize.md written again the slow, obvious way, in Double, with none
/// of Pastiche's kernels: direct 3×3 convolution loops, max/average pools, Gram matrices and
/// means as the formula reads. The tests hold the engine to it, and take finite differences of it.
struct NaiveObjective {
    let weights: [[Double]], biases: [[Double]]
    let arch: VGG19Architecture
    let pooling: VGGPooling
    let settings: ObjectiveSettings
    var contentFeatures: [VGGLayer: Plane]
    var styleGrams: [[VGGLayer: [Double]]]
    let styleWeights: [Double]

    struct Plane { var c: Int, h: Int, w: Int, v: [Double] }

    init(network: VGG19, settings: ObjectiveSettings, content: Tensor, styles: [Tensor], styleWeights: [Double]) {
        arch = network.architecture
        pooling = network.pooling
        let t = network.tensors
        weights = arch.layers.map { t[VGG19Architecture.weightName($0)]!.array.map(Double.init) }
        biases = arch.layers.map { t[VGG19Architecture.biasName($0)]!.array.map(Double.init) }
        self.settings = settings
        self.styleWeights = styleWeights
        contentFeatures = [:]; styleGrams = []
        let c = features(Self.plane(content))
        contentFeatures = c
        styleGrams = styles.map { s in features(Self.plane(s)).mapValues(Self.gram) }
    }

    static func plane(_ t: Tensor) -> Plane { Plane(c: t.c, h: t.h, w: t.w, v: t.array.map(Double.init)) }

    /// Caffe input, then conv + ReLU (and pools) through the deepest layer; every ReLU output.
    func features(_ image: Plane) -> [VGGLayer: Plane] {
        let mean = VGG19Architecture.meanBGR.map(Double.init)
        var x = Plane(c: 3, h: image.h, w: image.w, v: [Double](repeating: 0, count: image.v.count))
        let hw = image.h * image.w
        for c in 0..<3 { for k in 0..<hw { x.v[c * hw + k] = 255 * image.v[(2 - c) * hw + k] - mean[c] } }
        var out: [VGGLayer: Plane] = [:]
        for (i, layer) in arch.layers.enumerated() where layer <= settings.deepestLayer {
            if layer.conv == 1 && layer.block > 1 { x = pool(x) }
            x = conv(x, weights[i], biases[i], outChannels: arch.widths[layer.block - 1])
            out[layer] = x
        }
        return out
    }

    func conv(_ x: Plane, _ w: [Double], _ b: [Double], outChannels: Int) -> Plane {
        var y = Plane(c: outChannels, h: x.h, w: x.w, v: [Double](repeating: 0, count: outChannels * x.h * x.w))
        for co in 0..<outChannels {
            for oy in 0..<x.h {
                for ox in 0..<x.w {
                    var s = b[co]
                    for ci in 0..<x.c {
                        for ky in 0..<3 {
                            let iy = oy + ky - 1
                            if iy < 0 || iy >= x.h { continue }
                            for kx in 0..<3 {
                                let ix = ox + kx - 1
                                if ix < 0 || ix >= x.w { continue }
                                s += w[((co * x.c + ci) * 3 + ky) * 3 + kx] * x.v[(ci * x.h + iy) * x.w + ix]
                            }
                        }
                    }
                    y.v[(co * x.h + oy) * x.w + ox] = max(s, 0)
                }
            }
        }
        return y
    }

    func pool(_ x: Plane) -> Plane {
        let oh = x.h / 2, ow = x.w / 2
        var y = Plane(c: x.c, h: oh, w: ow, v: [Double](repeating: 0, count: x.c * oh * ow))
        for c in 0..<x.c {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let a = [x.v[(c * x.h + 2 * oy) * x.w + 2 * ox], x.v[(c * x.h + 2 * oy) * x.w + 2 * ox + 1],
                             x.v[(c * x.h + 2 * oy + 1) * x.w + 2 * ox], x.v[(c * x.h + 2 * oy + 1) * x.w + 2 * ox + 1]]
                    y.v[(c * oh + oy) * ow + ox] = pooling == .max ? a.max()! : a.reduce(0, +) / 4
                }
            }
        }
        return y
    }

    static func gram(_ f: Plane) -> [Double] {
        let hw = f.h * f.w
        var g = [Double](repeating: 0, count: f.c * f.c)
        for i in 0..<f.c { for j in 0..<f.c {
            var s = 0.0
            for k in 0..<hw { s += f.v[i * hw + k] * f.v[j * hw + k] }
            g[i * f.c + j] = s / Double(hw)
        } }
        return g
    }

    func value(_ image: Plane) -> ObjectiveTerms {
        let f = features(image)
        var content = 0.0
        for l in settings.contentLayers {
            let a = f[l]!.v, b = contentFeatures[l]!.v
            content += settings.contentWeight * 0.01 * zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(a.count)
        }
        var style = 0.0
        for (s, grams) in styleGrams.enumerated() {
            for l in settings.styleLayers {
                let g = Self.gram(f[l]!), t = grams[l]!
                let c = Double(f[l]!.c)
                style += settings.styleWeight * styleWeights[s] * (10 / (c * c))
                    * zip(g, t).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(g.count)
            }
        }
        // TV on v = 255·x (BGR minus the mean): |Δv| = 255·|Δx|.
        var dx = 0.0, dy = 0.0
        let h = image.h, w = image.w
        for c in 0..<3 {
            for y in 0..<h { for x in 0..<(w - 1) { dx += abs(255 * (image.v[(c * h + y) * w + x + 1] - image.v[(c * h + y) * w + x])) } }
            for y in 0..<(h - 1) { for x in 0..<w { dy += abs(255 * (image.v[(c * h + y + 1) * w + x] - image.v[(c * h + y) * w + x])) } }
        }
        let tv = 0.5 * settings.tvWeight * (dx / Double(3 * h * (w - 1)) + dy / Double(3 * (h - 1) * w))
        return ObjectiveTerms(content: content, style: style, tv: tv)
    }
}
