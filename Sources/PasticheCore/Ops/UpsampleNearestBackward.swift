extension UpsampleNearest {
    /// Adjoint of `UpsampleNearest.forward`: each input pixel receives the sum of its s×s block.
    ///
    ///   dy: [N, C, H·s, W·s]
    ///   dx: [N, C, H, W]   dx[n, c, iy, ix] += Σ_{a, b < s} dy[n, c, iy·s + a, ix·s + b]
    public static func backward(dy: Tensor, scale s: Int, dx: Tensor) {
        precondition(dy.n == dx.n && dy.c == dx.c && dy.h == dx.h * s && dy.w == dx.w * s, "upsample backward: shapes")
        let h = dx.h, w = dx.w, ow = w * s
        Parallel.forEach(dx.n * dx.c, cost: dy.plane) { j in
            let src = UnsafePointer(dy.pointer + j * dy.plane)
            let dst = dx.pointer + j * dx.plane
            for iy in 0..<h {
                let d = dst + iy * w
                for a in 0..<s {
                    let row = src + (iy * s + a) * ow
                    for ix in 0..<w {
                        var acc: Float = 0
                        for b in 0..<s { acc += row[ix * s + b] }
                        d[ix] += acc
                    }
                }
            }
        }
    }
}
