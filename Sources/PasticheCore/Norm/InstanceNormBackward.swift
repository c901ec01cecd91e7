import Foundation

extension InstanceNorm {
    /// Training forward: the conditional instance norm WITHOUT activation or residual,
    /// out of place so the input survives for the backward pass, saving the statistics:
    ///   mean[n, c] = Σ x / HW,  rstd[n, c] = 1 / sqrt(Σ (x − mean)² / HW + ε)  (two-pass, Double)
    ///   y = gamma[n, c] · (x − mean) · rstd + beta[n, c]
    /// Apply `Activation.forward` / `Elementwise.addInPlace` to `y` afterwards, as
    /// `InstanceNorm.forward` does internally.
    ///
    ///   x: [N, C, H, W]; gamma, beta: N·C values ([N, C] or [N, C, 1, 1])
    ///   → y: [N, C, H, W], mean: [N, C], rstd: [N, C]
    public static func normalize(_ x: Tensor, gamma: Tensor, beta: Tensor,
                                 epsilon: Float = InstanceNorm.epsilon) -> (y: Tensor, mean: Tensor, rstd: Tensor) {
        let y = Tensor(x.n, x.c, x.h, x.w, zeroed: false)
        let mean = Tensor(shape: [x.n, x.c], zeroed: false)
        let rstd = Tensor(shape: [x.n, x.c], zeroed: false)
        normalize(x, gamma: gamma, beta: beta, epsilon: epsilon, into: y, mean: mean, rstd: rstd)
        return (y, mean, rstd)
    }

    /// As above, into preallocated buffers (y may be x itself if x is not needed later).
    public static func normalize(_ x: Tensor, gamma: Tensor, beta: Tensor, epsilon: Float = InstanceNorm.epsilon,
                                 into y: Tensor, mean: Tensor, rstd: Tensor) {
        let planes = x.n * x.c
        precondition(gamma.count == planes && beta.count == planes, "instance norm: gamma/beta must be [N, C]")
        precondition(y.sameShape(x) && mean.count == planes && rstd.count == planes, "instance norm: output shapes")
        let hw = x.plane
        Parallel.forEach(planes, cost: 3 * hw) { j in
            let p = UnsafePointer(x.pointer + j * hw)
            var s: Double = 0
            for k in 0..<hw { s += Double(p[k]) }
            let mu = s / Double(hw)
            var s2: Double = 0
            for k in 0..<hw { let d = Double(p[k]) - mu; s2 += d * d }
            let r = 1 / (s2 / Double(hw) + Double(epsilon)).squareRoot()
            mean.data[j] = Float(mu)
            rstd.data[j] = Float(r)
            let scale = Float(Double(gamma.data[j]) * r)
            let m = Float(mu), b = beta.data[j]
            let q = y.pointer + j * hw
            for k in 0..<hw { q[k] = (p[k] - m) * scale + b }
        }
    }

    /// Gradients of `normalize`, per (image, channel) plane with x̂ = (x − mean) · rstd:
    ///   dBeta[n, c]  += Σ dy
    ///   dGamma[n, c] += Σ dy · x̂
    ///   dx           += rstd / HW · (HW · g · dy − Σ(g · dy) − x̂ · Σ(g · dy · x̂))
    /// (exact for rstd = 1/sqrt(var + ε), ε included).
    ///
    ///   x:      [N, C, H, W]  pre-norm input (saved)
    ///   gamma:  [N, C]        mean, rstd: [N, C] saved by `normalize`
    ///   dy:     [N, C, H, W]  gradient w.r.t. the normalized output (before any activation)
    ///   dx:     [N, C, H, W] or nil;  dGamma, dBeta: [N, C] or nil
    public static func backward(_ x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor, dy: Tensor,
                                dx: Tensor?, dGamma: Tensor?, dBeta: Tensor?) {
        let planes = x.n * x.c
        precondition(gamma.count == planes && mean.count == planes && rstd.count == planes, "instance norm backward: [N, C] shapes")
        precondition(dy.sameShape(x), "instance norm backward: dy shape")
        if let dx { precondition(dx.sameShape(x), "instance norm backward: dx shape") }
        if let dGamma { precondition(dGamma.count == planes, "instance norm backward: dGamma shape") }
        if let dBeta { precondition(dBeta.count == planes, "instance norm backward: dBeta shape") }
        let hw = x.plane
        Parallel.forEach(planes, cost: 3 * hw) { j in
            let p = UnsafePointer(x.pointer + j * hw), gp = UnsafePointer(dy.pointer + j * hw)
            let m = mean.data[j], r = rstd.data[j], g = gamma.data[j]
            var sumDy: Double = 0, sumDyXhat: Double = 0
            for k in 0..<hw {
                let xhat = Double((p[k] - m) * r)
                let d = Double(gp[k])
                sumDy += d
                sumDyXhat += d * xhat
            }
            if let dBeta { dBeta.data[j] += Float(sumDy) }
            if let dGamma { dGamma.data[j] += Float(sumDyXhat) }
            guard let dx else { return }
            // Σ(g·dy) = g·Σdy and Σ(g·dy·x̂) = g·Σ(dy·x̂); divide by HW once.
            let meanGdy = Float(Double(g) * sumDy / Double(hw))
            let meanGdyXhat = Float(Double(g) * sumDyXhat / Double(hw))
            let q = dx.pointer + j * hw
            for k in 0..<hw {
                let xhat = (p[k] - m) * r
                q[k] += r * (g * gp[k] - meanGdy - xhat * meanGdyXhat)
            }
        }
    }
}
