import CPasticheKernels

/// Conditional instance norm with a style per region (spatial control, as in AdaIN's masks but
/// on Ghiasi et al.'s conditional norms): region r has its own gamma_r, beta_r and a weight
/// plane w_r, the planes summing to 1 at every pixel, and
///   y[c, p] = Σ_r w_r[p] · (gamma_r[c] · (x[c, p] − mean[c]) / sqrt(var[c] + eps) + beta_r[c]),
/// computed as x·S + T with S = Σ_r w_r·gamma_r/σ and T = Σ_r w_r·(beta_r − mean·gamma_r/σ).
/// gamma and beta are affine in the embedding, so this is the norm of the per-pixel mixed
/// embedding; the mean and variance stay the image-wide ones, so one region of weight 1 is the
/// plain norm bit for bit.
extension InstanceNorm {
    /// `x` [1, C, H, W] normalised in place. `gamma`, `beta`: [K, C] (one row per region, e.g.
    /// `styleParameters` of a batch of K embeddings). `regionWeights`: [K, 1, H, W].
    /// `activation`, `residual` and `moments` as in `forward(_:gamma:beta:…)`.
    public static func forward(_ x: Tensor, gamma: Tensor, beta: Tensor, regionWeights: Tensor,
                               activation: Activation = .none, residual: Tensor? = nil,
                               epsilon: Float = InstanceNorm.epsilon, moments override: MomentsOverride? = nil) {
        let regions = regionWeights.n
        precondition(x.n == 1, "spatial instance norm: one image at a time")
        precondition(regions > 0 && regionWeights.c == 1 && regionWeights.h == x.h && regionWeights.w == x.w,
                     "spatial instance norm: region weights must be [K, 1, H, W] at the layer's size")
        precondition(gamma.count == regions * x.c && beta.count == regions * x.c, "spatial instance norm: gamma/beta must be [K, C]")
        if let residual { precondition(residual.sameShape(x), "instance norm: residual shape") }
        var (mean, variance) = moments(x)
        if let override {
            (mean, variance) = override(mean, variance)
            precondition(mean.count == x.c && variance.count == x.c, "instance norm: moments must be [N·C]")
        }
        let hw = x.plane, planes = x.c
        let pieces = planes >= 2 * Parallel.cores || hw < 1 << 16 ? 1 : (2 * Parallel.cores + planes - 1) / planes
        let pieceLength = (hw + pieces - 1) / pieces
        Parallel.forEach(planes * pieces, cost: pieceLength * (regions + 1)) { job in
            let j = job / pieces
            let lo = (job % pieces) * pieceLength, count = min(hw, lo + pieceLength) - lo
            guard count > 0 else { return }
            // The same scale and shift per region as the plain norm computes.
            let root = (variance[j] + epsilon).squareRoot()
            var scale = [Float](repeating: 0, count: regions), shift = scale
            for r in 0..<regions {
                scale[r] = gamma.data[r * planes + j] / root
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
