import CPasticheKernels

/// 1×1 convolutions (MobileNetV2's expand and project layers, the predictor's Conv_1):
/// y [Cout × P] = act(W [Cout × Cin] · x [Cin × P] + bias) (+ residual), one product per image.
///
/// `pk_gemm` writes each output block once with bias, clamp and shortcut applied (OpenBLAS
/// needed a bias fill before and an activation pass after, three trips over an output that is
/// often larger than the cache: 96 × 128² floats = 6 MB), and it does not pack W per call.
public enum Pointwise {
    /// y = act(W · x + bias) + residual; `residual` (same shape as y, not y itself) is
    /// MobileNetV2's shortcut, added after the activation.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor, activation: Activation,
                               residual: Tensor? = nil, workspace: Workspace = .shared) {
        let cin = x.c, cout = y.c, plane = y.plane
        precondition(x.plane == plane && weight.count == cin * cout, "pointwise conv shapes")
        precondition(residual.map { $0.shape == y.shape && $0.pointer != y.pointer } ?? true, "pointwise residual")
        let fused = activation.clampRange
        precondition(residual == nil || fused != nil, "pointwise residual after sigmoid")
        let (lo, hi) = fused ?? (-.infinity, .infinity)
        let cores = Parallel.cores
        // Wide planes split by pixels (multiples of 16 columns); small late planes (16², 8²) by
        // output channels, where the weights are the larger operand.
        let splitColumns = plane >= 64 * cores
        let workers = cores == 1 || (!splitColumns && cout < 2 * cores) ? 1 : cores
        let colStep = splitColumns ? ((plane + workers - 1) / workers + 15) / 16 * 16 : plane
        let rowStep = splitColumns ? cout : (cout + workers - 1) / workers
        let scratchCount = pk_gemm_scratch(Int32(cin))
        let scratch = (0..<workers).map { workspace.floats(scratchCount, slot: $0) }
        let w = UnsafePointer(weight.pointer), b = bias.map { UnsafePointer($0.pointer) }
        for i in 0..<x.n {
            let xi = UnsafePointer(x.image(i)), yi = y.image(i)
            let ri = residual.map { UnsafePointer($0.image(i)) }
            Parallel.forEach(workers, cost: Int.max / 4) { t in
                let rows = splitColumns ? 0..<cout : min(cout, t * rowStep)..<min(cout, (t + 1) * rowStep)
                let cols = splitColumns ? min(plane, t * colStep)..<min(plane, (t + 1) * colStep) : 0..<plane
                guard !rows.isEmpty, !cols.isEmpty else { return }
                let r0 = rows.lowerBound, c0 = cols.lowerBound
                pk_gemm(w + r0 * cin, cin, Int32(rows.count), Int32(cin), xi + c0, plane,
                        yi + r0 * plane + c0, plane, Int32(cols.count), b.map { $0 + r0 }, lo, hi,
                        ri.map { $0 + r0 * plane + c0 }, plane, scratch[t])
            }
        }
        if fused == nil { activation.forward(y) }
    }
}
