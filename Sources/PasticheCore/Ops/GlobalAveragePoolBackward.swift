extension GlobalAveragePool {
    /// Adjoint of `GlobalAveragePool.forward`: the mean spreads its gradient evenly.
    ///
    ///   dy: [N, C, 1, 1] (or [N, C])
    ///   dx: [N, C, H, W]   dx[n, c, y, x] += dy[n, c] / (H·W)
    public static func backward(dy: Tensor, dx: Tensor) {
        precondition(dy.count == dx.n * dx.c, "global average pool backward: dy must be [N, C]")
        let hw = dx.plane
        let scale = 1 / Float(hw)
        for j in 0..<(dx.n * dx.c) {
            let g = dy.data[j] * scale
            let p = dx.pointer + j * hw
            for k in 0..<hw { p[k] += g }
        }
    }
}
