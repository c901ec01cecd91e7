import CBLAS
import Dispatch

/// 1×1 convolutions (MobileNetV2's expand and project layers, the predictor's Conv_1):
/// y [Cout × P] = act(W [Cout × Cin] · x [Cin × P] + bias), one GEMM per image.
///
/// Filling y with the bias, multiplying, then activating are three passes over an output that
/// is often larger than the cache (96 × 128² floats = 6 MB). Here each core takes a range of
/// pixels and walks it in column chunks small enough to stay in L2, doing all three steps on a
/// chunk before the next, so the output travels to memory once.
public enum Pointwise {
    /// Output floats per chunk (× 4 bytes ≈ 192 KB: leaves room for x's chunk in a 512 KB L2).
    static let chunkFloats = 48 * 1024

    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor, activation: Activation) {
        let cin = x.c, cout = y.c, plane = y.plane
        precondition(x.plane == plane && weight.count == cin * cout, "pointwise conv shapes")
        _ = Gemm.singleThreadedBLAS
        let cores = Parallel.cores
        // Chunk width: a multiple of 16 columns, at least 64 (so packing W stays negligible).
        let chunk = max(64, chunkFloats / max(1, cout) / 16 * 16)
        // Wide planes split by pixels; small late planes (16², 8²) by output channels.
        let splitColumns = plane >= 64 * cores
        let workers = cores == 1 || (!splitColumns && cout < 2 * cores) ? 1 : cores
        let colStep = splitColumns ? ((plane + workers - 1) / workers + 15) / 16 * 16 : plane
        let rowStep = splitColumns ? cout : (cout + workers - 1) / workers
        let w = UnsafePointer(weight.pointer), b = bias.map { UnsafePointer($0.pointer) }
        for i in 0..<x.n {
            let xi = UnsafePointer(x.image(i)), yi = y.image(i)
            let run = { (t: Int) in
                let rows = splitColumns ? 0..<cout : min(cout, t * rowStep)..<min(cout, (t + 1) * rowStep)
                var j0 = splitColumns ? t * colStep : 0
                let end = splitColumns ? min(plane, j0 + colStep) : plane
                guard !rows.isEmpty else { return }
                while j0 < end {
                    let cols = min(chunk, end - j0)
                    for co in rows { (yi + co * plane + j0).update(repeating: b?[co] ?? 0, count: cols) }
                    // y[rows, j0..<j0+cols] += W[rows, :] · x[:, j0..<j0+cols]
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows.count), Int32(cols), Int32(cin),
                                1, w + rows.lowerBound * cin, Int32(cin), xi + j0, Int32(plane),
                                1, yi + rows.lowerBound * plane + j0, Int32(plane))
                    if activation != .none {
                        for co in rows { activation.apply(yi + co * plane + j0, count: cols) }
                    }
                    j0 += cols
                }
            }
            if workers == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: run) }
        }
    }
}
