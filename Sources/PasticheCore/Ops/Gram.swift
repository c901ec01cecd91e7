import CBLAS

/// Gram matrices of feature maps, the style statistic of Gatys et al. / Ghiasi et al.:
/// for F = x[n] viewed as [C, H·W], G[n] = F Fᵀ / (H·W).
public enum Gram {
    /// x: [N, C, H, W] → G: [N, 1, C, C] (one C×C matrix per image, `G.image(n)`).
    public static func forward(_ x: Tensor) -> Tensor {
        let g = Tensor(x.n, 1, x.c, x.c, zeroed: false)
        forward(x, into: g)
        return g
    }

    public static func forward(_ x: Tensor, into g: Tensor) {
        let c = x.c, hw = x.plane
        precondition(g.count == x.n * c * c, "gram: output must be [N, C, C]")
        for i in 0..<x.n {
            // G [C × C] = F [C × HW] · Fᵀ [HW × C] / HW
            Gemm.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                        Int32(c), Int32(c), Int32(hw),
                        1 / Float(hw), x.image(i), Int32(hw), x.image(i), Int32(hw),
                        0, g.pointer + i * c * c, Int32(c))
        }
    }

    /// dF[n] += (dG[n] + dG[n]ᵀ) · F[n] / (H·W)
    ///
    ///   x:  [N, C, H, W]  forward input (saved)
    ///   dG: [N, C, C]     gradient w.r.t. the Gram matrices (need not be symmetric)
    ///   dx: [N, C, H, W]
    public static func backward(_ x: Tensor, dGram dG: Tensor, dx: Tensor) {
        let c = x.c, hw = x.plane
        precondition(dG.count == x.n * c * c, "gram backward: dG must be [N, C, C]")
        precondition(dx.sameShape(x), "gram backward: dx shape")
        let alpha = 1 / Float(hw)
        for i in 0..<x.n {
            let dg = dG.pointer + i * c * c
            // dF += dG · F / HW
            Gemm.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        Int32(c), Int32(hw), Int32(c),
                        alpha, dg, Int32(c), x.image(i), Int32(hw),
                        1, dx.image(i), Int32(hw))
            // dF += dGᵀ · F / HW
            Gemm.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                        Int32(c), Int32(hw), Int32(c),
                        alpha, dg, Int32(c), x.image(i), Int32(hw),
                        1, dx.image(i), Int32(hw))
        }
    }
}
