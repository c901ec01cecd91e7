import CPasticheKernels

/// Conditional instance norm with a style per region (spatial control, as in Huang & Belongie
/// 2017 §7.3, on Ghiasi et al.'s conditional norms): region r has its own gamma_r, beta_r, a
/// weight plane w_r (the planes summing to 1 at every pixel) and its own statistics, the
/// soft-mask-weighted mean and variance over its region:
///   mean_r[c] = Σ_p w_r[p]·x[c, p] / Σ_p w_r[p],  var_r[c] = Σ_p w_r[p]·(x[c, p] − mean_r[c])² / Σ_p w_r[p],
///   y[c, p] = Σ_r w_r[p] · (gamma_r[c] · (x[c, p] − mean_r[c]) / sqrt(var_r[c] + eps) + beta_r[c]),
/// computed as x·S + T with S = Σ_r w_r·gamma_r/σ_r and T = Σ_r w_r·(beta_r − mean_r·gamma_r/σ_r).
/// Each region is normalised by its own features, so it takes its style at full strength, as
/// if the whole image had that style; image-wide statistics would mix every region's features
/// into each region's normalisation (a busy region then flattens a calm one's style and is
/// over-textured itself). One region (weight 1 everywhere) is the plain norm bit for bit.
extension InstanceNorm {
    /// Replaces region r's moments ([C] each): video carries each region's statistics across frames.
    public typealias RegionMomentsOverride = (_ region: Int, _ mean: [Float], _ variance: [Float]) -> (mean: [Float], variance: [Float])

    /// Each region's weighted mean and biased variance per channel (`x` [1, C, H, W],
    /// `regionWeights` [K, 1, H, W]): [K][C]. Sums of w, w·d and w·d² with d = x − (the channel's
    /// image-wide mean) (`pk_weighted_moments`, Double totals). A region whose weight sums to less
    /// than one pixel here is mixed towards the image-wide moments in proportion (no region
    /// statistics from a few fractional pixels); a region of zero weight takes them outright.
    public static func regionMoments(_ x: Tensor, regionWeights: Tensor) -> [(mean: [Float], variance: [Float])] {
        precondition(x.n == 1 && regionWeights.c == 1 && regionWeights.h == x.h && regionWeights.w == x.w,
                     "region moments: weights must be [K, 1, H, W] at the layer's size")
        let (mean, variance) = moments(x)
        let regions = regionWeights.n, planes = x.c, hw = x.plane
        if regions == 1 { return [(mean, variance)] }
        var means = [Float](repeating: 0, count: regions * planes), variances = means
        means.withUnsafeMutableBufferPointer { mb in
            variances.withUnsafeMutableBufferPointer { vb in
                let mp = mb.baseAddress!, vp = vb.baseAddress!
                Parallel.forEach(regions * planes, cost: 2 * hw) { job in
                    let r = job / planes, j = job % planes
                    var weight = 0.0, sum = 0.0, sumsq = 0.0
                    pk_weighted_moments(x.pointer + j * hw, regionWeights.pointer + r * hw, hw, mean[j], &weight, &sum, &sumsq)
                    let share = min(1, max(0, weight))
                    guard weight > 0 else { mp[job] = mean[j]; vp[job] = variance[j]; return }
                    let d = sum / weight
                    let v = max(0, sumsq / weight - d * d)
                    mp[job] = Float(Double(mean[j]) + share * d)
                    vp[job] = Float(share * v + (1 - share) * Double(variance[j]))
                }
            }
        }
        return (0..<regions).map { r in
            (Array(means[(r * planes)..<((r + 1) * planes)]), Array(variances[(r * planes)..<((r + 1) * planes)]))
        }
    }

    /// `x` [1, C, H, W] normalised in place. `gamma`, `beta`: [K, C] (one row per region, e.g.
    /// `styleParameters` of a batch of K embeddings). `regionWeights`: [K, 1, H, W].
    /// `activation` and `residual` as in `forward(_:gamma:beta:…)`; `moments` sees and replaces
    /// each region's statistics.
    public static func forward(_ x: Tensor, gamma: Tensor, beta: Tensor, regionWeights: Tensor,
                               activation: Activation = .none, residual: Tensor? = nil,
                               epsilon: Float = InstanceNorm.epsilon, moments override: RegionMomentsOverride? = nil) {
        let regions = regionWeights.n
        precondition(x.n == 1, "spatial instance norm: one image at a time")
        precondition(regions > 0 && regionWeights.c == 1 && regionWeights.h == x.h && regionWeights.w == x.w,
                     "spatial instance norm: region weights must be [K, 1, H, W] at the layer's size")
        precondition(gamma.count == regions * x.c && beta.count == regions * x.c, "spatial instance norm: gamma/beta must be [K, C]")
        if let residual { precondition(residual.sameShape(x), "instance norm: residual shape") }
        var statistics = regionMoments(x, regionWeights: regionWeights)
        if let override {
            for r in 0..<regions {
                statistics[r] = override(r, statistics[r].mean, statistics[r].variance)
                precondition(statistics[r].mean.count == x.c && statistics[r].variance.count == x.c,
                             "instance norm: moments must be [C]")
            }
        }
        let hw = x.plane, planes = x.c
        let pieces = planes >= 2 * Parallel.cores || hw < 1 << 16 ? 1 : (2 * Parallel.cores + planes - 1) / planes
        let pieceLength = (hw + pieces - 1) / pieces
        Parallel.forEach(planes * pieces, cost: pieceLength * (regions + 1)) { job in
            let j = job / pieces
            let lo = (job % pieces) * pieceLength, count = min(hw, lo + pieceLength) - lo
            guard count > 0 else { return }
            // The plain norm's scale and shift, per region with that region's moments.
            var scale = [Float](repeating: 0, count: regions), shift = scale
            for r in 0..<regions {
                let (mean, variance) = statistics[r]
                scale[r] = gamma.data[r * planes + j] / (variance[j] + epsilon).squareRoot()
                shift[r] = beta.data[r * planes + j] - mean[j] * scale[r]
            }
            let weights = (0..<regions).map { UnsafePointer(regionWeights.pointer + $0 * hw + lo) as UnsafePointer<Float>? }
            let p = x.pointer + j * hw + lo
            let r = residual.map { UnsafePointer($0.pointer + j * hw + lo) }
            let fused = activation == .relu || activation == .none
            weights.withUnsafeBufferPointer { w in
                pk_scale_shift_regions(p, count, regions, w.baseAddress, scale, shift, activation == .relu ? 1 : 0,
                                       fused ? r : nil)
            }
            if !fused {
                for k in 0..<count { p[k] = activation.apply(p[k]) }
                if let r { for k in 0..<count { p[k] += r[k] } }
            }
        }
    }
}
