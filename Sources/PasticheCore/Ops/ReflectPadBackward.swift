extension ReflectPad {
    /// Adjoint of `ReflectPad.forward`: every padded-output gradient is added back onto the
    /// input pixel it was copied from, so border pixels (reflected into the padding) collect
    /// several contributions.
    ///
    ///   dy: [N, C, H + top + bottom, W + left + right]
    ///   dx: [N, C, H, W]   dx[n, c, reflect(oy − top, H), reflect(ox − left, W)] += dy[n, c, oy, ox]
    public static func backward(dy: Tensor, _ p: Padding, dx: Tensor) {
        let h = dx.h, w = dx.w
        let oh = h + p.top + p.bottom, ow = w + p.left + p.right
        precondition(dy.n == dx.n && dy.c == dx.c && dy.h == oh && dy.w == ow, "reflect pad backward: shapes")
        Parallel.forEach(dx.n * dx.c, cost: oh * ow) { j in
            let src = UnsafePointer(dy.pointer + j * oh * ow)
            let dst = dx.pointer + j * h * w
            for oy in 0..<oh {
                let d = dst + reflect(oy - p.top, h) * w
                let s = src + oy * ow
                for ox in 0..<p.left { d[reflect(ox - p.left, w)] += s[ox] }
                let interior = s + p.left
                for ix in 0..<w { d[ix] += interior[ix] }
                for ox in (p.left + w)..<ow { d[reflect(ox - p.left, w)] += s[ox] }
            }
        }
    }
}
