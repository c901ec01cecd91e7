/// Per-channel mean and standard deviation of feature maps: the statistics AdaIN (Huang &
/// Belongie 2017) transfers and its style loss compares. As naoto0804/pytorch-AdaIN's
/// `calc_mean_std`: σ = sqrt(var + ε) with the unbiased variance (Σ (x − μ)² / (HW − 1), torch's
/// `var` default) and ε = 1e-5.
public enum ChannelMoments {
    public static let epsilon: Float = 1e-5

    /// x: [N, C, H, W] (H·W ≥ 2) → mean and std, each [N, C, 1, 1].
    public static func forward(_ x: Tensor) -> (mean: Tensor, std: Tensor) {
        let m = x.plane
        precondition(m >= 2, "channel moments need at least 2 pixels")
        let mean = Tensor(x.n, x.c, 1, 1, zeroed: false), std = Tensor(x.n, x.c, 1, 1, zeroed: false)
        Parallel.forEach(x.n * x.c, cost: m) { j in
            let p = UnsafePointer(x.pointer + j * m)
            // Two passes in Double: the mean, then the squared deviations from it.
            var sum = 0.0
            for i in 0..<m { sum += Double(p[i]) }
            let mu = sum / Double(m)
            var squares = 0.0
            for i in 0..<m { let d = Double(p[i]) - mu; squares += d * d }
            mean.data[j] = Float(mu)
            std.data[j] = Float((squares / Double(m - 1) + Double(epsilon)).squareRoot())
        }
        return (mean, std)
    }

    /// Adjoint of `forward`: dx += dMean / HW + dStd · (x − μ) / ((HW − 1) σ). Either gradient
    /// may be nil (zero).
    public static func backward(_ x: Tensor, mean: Tensor, std: Tensor, dMean: Tensor?, dStd: Tensor?, dx: Tensor) {
        let m = x.plane
        precondition(dx.sameShape(x), "channel moments backward: dx shape")
        Parallel.forEach(x.n * x.c, cost: m) { j in
            let p = UnsafePointer(x.pointer + j * m), d = dx.pointer + j * m
            let a = (dMean?.data[j] ?? 0) / Float(m)
            let b = (dStd?.data[j] ?? 0) / (Float(m - 1) * std.data[j])
            let mu = mean.data[j]
            for i in 0..<m { d[i] += a + b * (p[i] - mu) }
        }
    }
}

/// Adaptive instance normalisation (Huang & Belongie 2017, eq. 8): each channel of the content
/// features takes the style's mean and standard deviation,
///   t = σ_s · (c − μ(c)) / σ(c) + μ_s,
/// with μ, σ as `ChannelMoments` computes them (naoto0804/pytorch-AdaIN's `adaptive_instance_normalization`).
public enum AdaIN {
    /// content [N, C, H, W], styleMean and styleStd [N, C, 1, 1] → t [N, C, H, W].
    public static func forward(_ content: Tensor, styleMean: Tensor, styleStd: Tensor) -> Tensor {
        let (mean, std) = ChannelMoments.forward(content)
        return forward(content, mean: mean, std: std, styleMean: styleMean, styleStd: styleStd)
    }

    /// With the content's moments already computed (the backward reuses them).
    public static func forward(_ content: Tensor, mean: Tensor, std: Tensor, styleMean: Tensor, styleStd: Tensor) -> Tensor {
        precondition(styleMean.count == content.n * content.c && styleStd.count == content.n * content.c,
                     "AdaIN: one style mean and std per content channel")
        let m = content.plane
        let t = Tensor(content.n, content.c, content.h, content.w, zeroed: false)
        Parallel.forEach(content.n * content.c, cost: m) { j in
            let p = UnsafePointer(content.pointer + j * m), out = t.pointer + j * m
            let scale = styleStd.data[j] / std.data[j], mu = mean.data[j], shift = styleMean.data[j]
            for i in 0..<m { out[i] = scale * (p[i] - mu) + shift }
        }
        return t
    }

    /// Adjoint of `forward`, accumulating (+=). With x̂ = (c − μ)/σ and g = σ_s · dt:
    ///   dμ_s += Σ dt,  dσ_s += Σ dt · x̂,
    ///   dc += (g − mean(g) − x̂ · Σ (g · x̂) / (HW − 1)) / σ   (the unbiased variance's derivative).
    /// Any of the three gradients may be nil.
    public static func backward(_ content: Tensor, mean: Tensor, std: Tensor, styleStd: Tensor, dt: Tensor,
                                dContent: Tensor?, dStyleMean: Tensor?, dStyleStd: Tensor?) {
        let m = content.plane
        precondition(dt.sameShape(content), "AdaIN backward: dt shape")
        Parallel.forEach(content.n * content.c, cost: m) { j in
            let p = UnsafePointer(content.pointer + j * m), g = UnsafePointer(dt.pointer + j * m)
            let mu = mean.data[j], sigma = std.data[j]
            var sumG = 0.0, sumGX = 0.0
            for i in 0..<m {
                let xhat = Double((p[i] - mu) / sigma)
                sumG += Double(g[i]); sumGX += Double(g[i]) * xhat
            }
            dStyleMean?.data[j] += Float(sumG)
            dStyleStd?.data[j] += Float(sumGX)
            guard let dContent else { return }
            let s = Double(styleStd.data[j])
            let meanG = s * sumG / Double(m), projection = s * sumGX / Double(m - 1)
            let d = dContent.pointer + j * m
            for i in 0..<m {
                let xhat = Double((p[i] - mu) / sigma)
                d[i] += Float((s * Double(g[i]) - meanG - xhat * projection) / Double(sigma))
            }
        }
    }
}

extension AdaIN {
    /// AdaIN with a style per region (spatial control): `regionWeights` [K, 1, H, W] at the
    /// features' size say how much of each region every position takes (summing to 1 per
    /// position), and region k's content statistics are its own, weighted by its plane:
    ///   μ_k = Σ a_k·c / Σ a_k,   σ_k² = Σ a_k·(c − μ_k)² / max(Σ a_k − 1, 1) + ε,
    ///   t = Σ_k a_k · (σ_s,k · (c − μ_k) / σ_k + μ_s,k).
    /// A region with all the weight everywhere is plain AdaIN (the unbiased variance), and each
    /// hard region takes its style's statistics whatever the others hold, so every region is at
    /// full strength. `styleMean`/`styleStd` are [K, C, 1, 1]; a region whose row is nil keeps the
    /// content as it is (the photo's own style: AdaIN with its own statistics is the identity).
    public static func forward(_ content: Tensor, regionWeights: Tensor, styleMean: [Tensor?], styleStd: [Tensor?]) -> Tensor {
        precondition(content.n == 1, "regions: one image")
        let k = regionWeights.n, m = content.plane, c = content.c
        precondition(regionWeights.c == 1 && regionWeights.h == content.h && regionWeights.w == content.w, "region weights [K, 1, H, W]")
        precondition(styleMean.count == k && styleStd.count == k, "one style (or nil) per region")
        let t = Tensor(1, c, content.h, content.w)
        for r in 0..<k {
            let a = UnsafePointer(regionWeights.pointer + r * m)
            var total = 0.0
            for i in 0..<m { total += Double(a[i]) }
            guard total > 0 else { continue }
            let mean = styleMean[r], std = styleStd[r]
            Parallel.forEach(c, cost: m) { ch in
                let p = UnsafePointer(content.pointer + ch * m), out = t.pointer + ch * m
                guard let mean, let std else {
                    for i in 0..<m { out[i] += a[i] * p[i] }
                    return
                }
                var sum = 0.0
                for i in 0..<m { sum += Double(a[i]) * Double(p[i]) }
                let mu = sum / total
                var squares = 0.0
                for i in 0..<m { let d = Double(p[i]) - mu; squares += Double(a[i]) * d * d }
                let sigma = (squares / max(total - 1, 1) + Double(ChannelMoments.epsilon)).squareRoot()
                let scale = Float(Double(std.data[ch]) / sigma), shift = mean.data[ch], muF = Float(mu)
                for i in 0..<m { out[i] += a[i] * (scale * (p[i] - muF) + shift) }
            }
        }
        return t
    }
}
