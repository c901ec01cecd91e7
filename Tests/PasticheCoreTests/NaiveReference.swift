import Foundation
import PasticheCore

/// Plain nested-loop references with Double accumulation. Written from the op definitions
/// (ONNX Conv / Pad reflect / Resize nearest / GlobalAveragePool, Gemm), not from the
/// optimised code, so they check it independently.
enum Naive {
    /// ONNX Conv (cross-correlation) with zero padding [top, left, bottom, right] and groups.
    static func conv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: ConvGeometry) -> (shape: [Int], values: [Double]) {
        let N = x.n, C = x.c, H = x.h, W = x.w
        let kh = g.kernelH, kw = g.kernelW, s = g.stride
        let OH = (H + g.padding.top + g.padding.bottom - kh) / s + 1
        let OW = (W + g.padding.left + g.padding.right - kw) / s + 1
        let cinG = C / g.groups, coutG = g.outChannels / g.groups
        var y = [Double](repeating: 0, count: N * g.outChannels * OH * OW)
        for n in 0..<N {
            for co in 0..<g.outChannels {
                let grp = co / coutG
                for oy in 0..<OH {
                    for ox in 0..<OW {
                        var acc = b.map { Double($0.data[co]) } ?? 0
                        for ci in 0..<cinG {
                            for ky in 0..<kh {
                                let iy = oy * s - g.padding.top + ky
                                if iy < 0 || iy >= H { continue }
                                for kx in 0..<kw {
                                    let ix = ox * s - g.padding.left + kx
                                    if ix < 0 || ix >= W { continue }
                                    let xv = Double(x.data[idx(n, grp * cinG + ci, iy, ix, C, H, W)])
                                    let wv = Double(w.data[((co * cinG + ci) * kh + ky) * kw + kx])
                                    acc += xv * wv
                                }
                            }
                        }
                        y[idx(n, co, oy, ox, g.outChannels, OH, OW)] = acc
                    }
                }
            }
        }
        return ([N, g.outChannels, OH, OW], y)
    }

    /// numpy.pad(mode="reflect") index map: the edge sample is not repeated; the pattern is
    /// periodic with period 2(size − 1), so pads ≥ size keep bouncing.
    static func reflectIndex(_ i: Int, _ size: Int) -> Int {
        if size == 1 { return 0 }
        let period = 2 * (size - 1)
        var m = i % period
        if m < 0 { m += period }
        return m < size ? m : period - m
    }

    static func reflectPad(_ x: Tensor, _ p: Padding) -> [Double] {
        let OH = x.h + p.top + p.bottom, OW = x.w + p.left + p.right
        var y = [Double](repeating: 0, count: x.n * x.c * OH * OW)
        for n in 0..<x.n { for c in 0..<x.c { for oy in 0..<OH { for ox in 0..<OW {
            let iy = reflectIndex(oy - p.top, x.h), ix = reflectIndex(ox - p.left, x.w)
            y[idx(n, c, oy, ox, x.c, OH, OW)] = Double(x.data[idx(n, c, iy, ix, x.c, x.h, x.w)])
        } } } }
        return y
    }

    static func upsample(_ x: Tensor, _ s: Int) -> [Double] {
        let OH = x.h * s, OW = x.w * s
        var y = [Double](repeating: 0, count: x.n * x.c * OH * OW)
        for n in 0..<x.n { for c in 0..<x.c { for oy in 0..<OH { for ox in 0..<OW {
            y[idx(n, c, oy, ox, x.c, OH, OW)] = Double(x.data[idx(n, c, oy / s, ox / s, x.c, x.h, x.w)])
        } } } }
        return y
    }

    static func globalAveragePool(_ x: Tensor) -> [Double] {
        var y = [Double](repeating: 0, count: x.n * x.c)
        for n in 0..<x.n { for c in 0..<x.c {
            var acc = 0.0
            for yy in 0..<x.h { for xx in 0..<x.w { acc += Double(x.data[idx(n, c, yy, xx, x.c, x.h, x.w)]) } }
            y[n * x.c + c] = acc / Double(x.h * x.w)
        } }
        return y
    }

    /// y[n, o] = b[o] + Σ_k W[o, k] x[n, k], x flattened per image.
    static func linear(_ x: Tensor, _ w: Tensor, _ b: Tensor?, outFeatures: Int) -> [Double] {
        let inF = x.count / x.n
        var y = [Double](repeating: 0, count: x.n * outFeatures)
        for n in 0..<x.n { for o in 0..<outFeatures {
            var acc = b.map { Double($0.data[o]) } ?? 0
            for k in 0..<inF { acc += Double(w.data[o * inF + k]) * Double(x.data[n * inF + k]) }
            y[n * outFeatures + o] = acc
        } }
        return y
    }

    static func activation(_ a: Activation, _ v: Double) -> Double {
        switch a {
        case .none: return v
        case .relu: return max(v, 0)
        case .relu6: return min(max(v, 0), 6)
        case .sigmoid: return 1 / (1 + exp(-v))
        }
    }

    /// Conditional instance norm with biased variance (two-pass, Double), then activation,
    /// then residual add.
    static func instanceNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, activation act: Activation,
                             residual: Tensor?, epsilon: Double = 1e-5) -> [Double] {
        let hw = x.h * x.w
        var y = [Double](repeating: 0, count: x.count)
        for j in 0..<(x.n * x.c) {
            var mean = 0.0
            for k in 0..<hw { mean += Double(x.data[j * hw + k]) }
            mean /= Double(hw)
            var v = 0.0
            for k in 0..<hw { let d = Double(x.data[j * hw + k]) - mean; v += d * d }
            v /= Double(hw)
            let rstd = 1 / (v + epsilon).squareRoot()
            for k in 0..<hw {
                let xhat = (Double(x.data[j * hw + k]) - mean) * rstd
                var o = activation(act, Double(gamma.data[j]) * xhat + Double(beta.data[j]))
                if let residual { o += Double(residual.data[j * hw + k]) }
                y[j * hw + k] = o
            }
        }
        return y
    }

    /// im2col of one image [C, H, W] → [C·kh·kw, OH·OW], zero outside the image.
    static func im2col(_ x: [Float], channels C: Int, h H: Int, w W: Int, _ g: ConvGeometry) -> [Double] {
        let OH = (H + g.padding.top + g.padding.bottom - g.kernelH) / g.stride + 1
        let OW = (W + g.padding.left + g.padding.right - g.kernelW) / g.stride + 1
        var cols = [Double](repeating: 0, count: C * g.kernelH * g.kernelW * OH * OW)
        for c in 0..<C { for ky in 0..<g.kernelH { for kx in 0..<g.kernelW {
            let r = (c * g.kernelH + ky) * g.kernelW + kx
            for oy in 0..<OH { for ox in 0..<OW {
                let iy = oy * g.stride - g.padding.top + ky, ix = ox * g.stride - g.padding.left + kx
                if iy >= 0 && iy < H && ix >= 0 && ix < W {
                    cols[r * OH * OW + oy * OW + ox] = Double(x[(c * H + iy) * W + ix])
                }
            } }
        } } }
        return cols
    }
}
