import CPasticheKernels

/// A 1×1 convolution followed by a global average pool, y [N, Cout, 1, 1] = mean over pixels of
/// act(W · x + b) (MobileNetV2's Conv_1 and the pool after it), without the [Cout × P] map:
/// each core multiplies shares of the output channels into its own scratch and averages them
/// there, where the predictor wrote 1280 × 64 floats and then pooled them on one core.
public enum PooledPointwise {
    /// The output channels go in `options.pooledSharesPerCore` shares per core, taken in turn.
    /// Each output channel is computed whole by one share, so the result does not depend on which
    /// core took which share.
    public static func forward(_ x: Tensor, weight: PackedRows, bias: Tensor?, activation: Activation,
                               workspace: Workspace = .shared, options: ExecutionOptions = .default) -> Tensor {
        let cin = x.c, plane = x.plane, cout = weight.weight.count / max(1, weight.k)
        precondition(weight.k == cin, "pooled pointwise: weight is not [Cout × \(cin)]")
        precondition(bias.map { $0.count == cout } ?? true, "pooled pointwise bias")
        guard let (lo, hi) = activation.clampRange else { preconditionFailure("pooled pointwise needs a clamp") }
        let workers = max(1, min(Parallel.cores, cout / 8))
        let shares = workers == 1 ? 1 : min(max(1, cout / 6), options.pooledSharesPerCore * workers)
        let share = (cout + shares - 1) / shares
        // x copied once per core into the GEMM kernel's panels, for all the core's shares.
        let packInput = shares > workers && plane % 16 == 0
        let inputCount = packInput ? cin * plane : 0, outCount = share * plane
        let perWorker = inputCount + outCount + pk_gemm_scratch(Int32(cin))
        let scratch = (0..<workers).map { workspace.floats(perWorker, slot: $0) }
        let y = Tensor(x.n, cout, 1, 1, zeroed: false)
        let started = UnsafeMutablePointer<Bool>.allocate(capacity: workers)
        defer { started.deallocate() }
        for i in 0..<x.n {
            let xi = UnsafePointer(x.image(i)), yi = y.pointer + i * cout
            started.initialize(repeating: false, count: workers)
            Parallel.forEachDynamic(shares, workers: workers) { t, s in
                let rows = min(cout, s * share)..<min(cout, (s + 1) * share)
                guard !rows.isEmpty else { return }
                let panels = scratch[t], out = panels + inputCount, pack = out + outCount
                if packInput && !started[t] { pk_gemm_pack_b(xi, plane, Int32(cin), Int32(plane), panels) }
                started[t] = true
                // out [rows × P] = act(W[rows] · x + b[rows])
                pk_gemm(weight.rows(rows).pointer, 0, Int32(rows.count), Int32(cin),
                        packInput ? UnsafePointer(panels) : xi, packInput ? 0 : plane, out, plane, Int32(plane),
                        bias.map { UnsafePointer($0.pointer + rows.lowerBound) }, lo, hi, nil, 0, pack)
                for (j, r) in rows.enumerated() {
                    var sum = 0.0, sumsq = 0.0
                    pk_moments(out + j * plane, plane, 0, &sum, &sumsq)
                    yi[r] = Float(sum / Double(plane))
                }
            }
        }
        return y
    }
}
