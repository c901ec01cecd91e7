import CBLAS
import Foundation
import CPasticheKernels

/// Conditional instance normalisation (Dumoulin et al. 2017; Ghiasi et al. 2017 §3):
/// y[n, c] = gamma[n, c] · (x[n, c] − mean[n, c]) / sqrt(var[n, c] + eps) + beta[n, c],
/// with mean and (biased) variance over H×W of each image and channel. gamma and beta are
/// per image: they come from that image's style embedding.
public enum InstanceNorm {
    public static let epsilon: Float = 1e-5

    /// Per-(image, channel) mean and biased variance: vectorised float sums of short blocks,
    /// accumulated in Double (`pk_moments`), of the values shifted by a rough mean taken from 64
    /// samples of the plane, so E[d²] − E[d]² does not cancel when the mean dwarfs the spread.
    public static func moments(_ x: Tensor) -> (mean: [Float], variance: [Float]) {
        var mean = [Float](repeating: 0, count: x.n * x.c)
        var variance = mean
        let hw = x.plane
        mean.withUnsafeMutableBufferPointer { m in
            variance.withUnsafeMutableBufferPointer { v in
                let mp = m.baseAddress!, vp = v.baseAddress!
                Parallel.forEach(x.n * x.c, cost: hw) { j in
                    let p = x.pointer + j * hw
                    let samples = min(hw, 64), step = max(1, hw / samples)
                    var shift: Float = 0
                    for k in 0..<samples { shift += p[k * step] }
                    shift /= Float(max(1, samples))
                    var s: Double = 0, s2: Double = 0
                    pk_moments(p, hw, shift, &s, &s2)
                    let d = s / Double(hw)
                    mp[j] = Float(Double(shift) + d)
                    vp[j] = Float(max(0, s2 / Double(hw) - d * d))
                }
            }
        }
        return (mean, variance)
    }

    /// Replaces the moments a norm normalises with (per image and channel, [N·C] each): how
    /// video carries statistics from frame to frame.
    public typealias MomentsOverride = (_ mean: [Float], _ variance: [Float]) -> (mean: [Float], variance: [Float])

    /// Normalises `x` in place with gamma/beta of shape [N, C] (flattened), then applies
    /// `activation`, then adds `residual` if given (the transfer network's block output).
    /// `moments`, when given, sees this tensor's mean and variance and returns the ones to use.
    public static func forward(_ x: Tensor, gamma: Tensor, beta: Tensor, activation: Activation = .none,
                               residual: Tensor? = nil, epsilon: Float = InstanceNorm.epsilon,
                               moments override: MomentsOverride? = nil) {
        precondition(gamma.count == x.n * x.c && beta.count == x.n * x.c, "instance norm: gamma/beta must be [N, C]")
        if let residual { precondition(residual.sameShape(x), "instance norm: residual shape") }
        var (mean, variance) = moments(x)
        if let override {
            (mean, variance) = override(mean, variance)
            precondition(mean.count == x.n * x.c && variance.count == x.n * x.c, "instance norm: moments must be [N·C]")
        }
        let hw = x.plane, planes = x.n * x.c
        // Fewer planes than twice the cores (the 3-channel output layer): split planes too, so
        // no core idles through the last one.
        let pieces = planes >= 2 * Parallel.cores || hw < 1 << 16 ? 1 : (2 * Parallel.cores + planes - 1) / planes
        let pieceLength = (hw + pieces - 1) / pieces
        Parallel.forEach(planes * pieces, cost: pieceLength) { job in
            let j = job / pieces
            let lo = (job % pieces) * pieceLength, count = min(hw, lo + pieceLength) - lo
            guard count > 0 else { return }
            let scale = gamma.data[j] / (variance[j] + epsilon).squareRoot()
            let shift = beta.data[j] - mean[j] * scale
            let p = x.pointer + j * hw + lo
            let r = residual.map { UnsafePointer($0.pointer + j * hw + lo) }
            switch activation {
            case .relu, .none:
                // One pass: scale, shift, clamp and the shortcut add together.
                pk_scale_shift(p, count, scale, shift, activation == .relu ? 1 : 0, r)
            default:
                for k in 0..<count { p[k] = activation.apply(p[k] * scale + shift) }
                if let r { for k in 0..<count { p[k] += r[k] } }
            }
        }
    }
}

/// A fully connected layer as ONNX stores it (a 1×1 conv on a 1×1 map): y[n] = W x[n] + b,
/// W: [out, in]. Used for the embedding → gamma/beta maps and the predictor's bottleneck.
public enum Linear {
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let inF = x.c * x.h * x.w
        let outF = weight.n
        precondition(weight.count == outF * inF, "linear: weight has \(weight.count) values, expected \(outF)×\(inF)")
        let y = Tensor(x.n, outF, 1, 1)
        for i in 0..<x.n {
            let xi = x.pointer + i * inF, yi = y.pointer + i * outF
            // y_i = W x_i + b. OpenBLAS's sgemv (one thread: `Gemm.singleThreadedBLAS`): a plain
            // loop's float sum is one dependent chain the compiler may not reorder, which made
            // the predictor's 1280 → 100 bottleneck a visible part of its forward.
            _ = Gemm.singleThreadedBLAS
            if let bias { yi.update(from: bias.pointer, count: outF) } else { yi.update(repeating: 0, count: outF) }
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outF), Int32(inF), 1, weight.pointer, Int32(inF),
                        xi, 1, 1, yi, 1)
        }
        return y
    }
}
