import CBLAS

extension Linear {
    /// Gradients of `Linear.forward`, y[n] = W x[n] + b with x flattened per image.
    ///
    ///   x:       [N, in]  (any [N, C, H, W] with C·H·W = in; saved from forward)
    ///   weight:  [out, in] (stored [out, in, 1, 1])
    ///   dy:      [N, out] (as [N, out, 1, 1])
    ///   dx:      [N, in] or nil   += dy · W          (sgemm)
    ///   dWeight: [out, in]        += dyᵀ · x         (sgemm, summed over the batch)
    ///   dBias:   [out] or nil     += Σ_n dy[n]
    public static func backward(_ x: Tensor, weight: Tensor, dy: Tensor,
                                dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        let n = x.n, inF = x.count / max(1, x.n)
        precondition(inF > 0 && weight.count % inF == 0, "linear backward: weight shape")
        let outF = weight.count / inF
        precondition(dy.count == n * outF, "linear backward: dy must be [N, out]")
        precondition(dWeight.count == weight.count, "linear backward: dWeight shape")
        if let dx { precondition(dx.count == x.count, "linear backward: dx shape") }
        if let dBias { precondition(dBias.count == outF, "linear backward: dBias shape") }
        guard n > 0 else { return }
        // dW [out × in] += dyᵀ [out × N] · x [N × in]
        Gemm.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                    Int32(outF), Int32(inF), Int32(n),
                    1, dy.pointer, Int32(outF), x.pointer, Int32(inF),
                    1, dWeight.pointer, Int32(inF))
        if let dx {
            // dx [N × in] += dy [N × out] · W [out × in]
            Gemm.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        Int32(n), Int32(inF), Int32(outF),
                        1, dy.pointer, Int32(outF), weight.pointer, Int32(inF),
                        1, dx.pointer, Int32(inF))
        }
        if let dBias {
            for o in 0..<outF {
                var acc: Float = 0
                for i in 0..<n { acc += dy.data[i * outF + o] }
                dBias.data[o] += acc
            }
        }
    }
}
