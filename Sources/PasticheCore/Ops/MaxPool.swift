/// 2×2, stride-2 max pooling: VGG's pool1…pool5 (ONNX MaxPool kernel_shape [2, 2], strides
/// [2, 2], no padding, floor mode: an odd last row or column is dropped, as in VGG and
/// PyTorch/ONNX with ceil_mode = 0).
public enum MaxPool2x2 {
    /// y[n, c, oy, ox] = max over a, b ∈ {0, 1} of x[n, c, 2·oy + a, 2·ox + b]
    ///
    ///   x: [N, C, H, W] → y: [N, C, H/2, W/2] (floor)
    public static func forward(_ x: Tensor) -> Tensor {
        pool2x2(x) { a, b, c, d in max(max(a, b), max(c, d)) }
    }

    /// Adjoint of `forward`: each window's gradient goes to its maximum, found again from the
    /// saved input (on ties the first in row-major window order, the same element forward
    /// picked up first). Pixels of a dropped odd row/column get nothing.
    ///
    ///   x:  [N, C, H, W]       forward input (saved)
    ///   dy: [N, C, H/2, W/2]
    ///   dx: [N, C, H, W]       dx[n, c, argmax of window (oy, ox)] += dy[n, c, oy, ox]
    public static func backward(_ x: Tensor, dy: Tensor, dx: Tensor) {
        let oh = x.h / 2, ow = x.w / 2
        precondition(dy.n == x.n && dy.c == x.c && dy.h == oh && dy.w == ow, "max pool backward: dy shape")
        precondition(dx.sameShape(x), "max pool backward: dx shape")
        let w = x.w
        Parallel.forEach(x.n * x.c, cost: x.plane) { j in
            let src = UnsafePointer(x.pointer + j * x.plane)
            let grad = UnsafePointer(dy.pointer + j * oh * ow)
            let dst = dx.pointer + j * x.plane
            for oy in 0..<oh {
                for ox in 0..<ow {
                    // Window offsets in row-major order: (0,0), (0,1), (1,0), (1,1).
                    let base = 2 * oy * w + 2 * ox
                    var best = base
                    if src[base + 1] > src[best] { best = base + 1 }
                    if src[base + w] > src[best] { best = base + w }
                    if src[base + w + 1] > src[best] { best = base + w + 1 }
                    dst[best] += grad[oy * ow + ox]
                }
            }
        }
    }
}

extension MaxPool2x2 {
    /// Ceil mode (PyTorch `ceil_mode=True`, the AdaIN encoder's pools): an odd last row or
    /// column is a window of its own, its maximum over the pixels that exist.
    ///
    ///   x: [N, C, H, W] → y: [N, C, ⌈H/2⌉, ⌈W/2⌉]
    public static func forwardCeil(_ x: Tensor) -> Tensor {
        if x.h % 2 == 0 && x.w % 2 == 0 { return forward(x) }
        let oh = (x.h + 1) / 2, ow = (x.w + 1) / 2
        let y = Tensor(x.n, x.c, oh, ow, zeroed: false)
        let (h, w) = (x.h, x.w)
        Parallel.forEach(x.n * x.c, cost: x.plane) { j in
            let src = UnsafePointer(x.pointer + j * x.plane)
            let dst = y.pointer + j * oh * ow
            for oy in 0..<oh {
                let rows = min(2, h - 2 * oy)
                for ox in 0..<ow {
                    let cols = min(2, w - 2 * ox)
                    var best = -Float.infinity
                    for a in 0..<rows { for b in 0..<cols { best = max(best, src[(2 * oy + a) * w + 2 * ox + b]) } }
                    dst[oy * ow + ox] = best
                }
            }
        }
        return y
    }
}

extension MaxPool2x2 {
    /// Adjoint of `forwardCeil`: each window's gradient goes to its maximum over the pixels that
    /// exist (ties: the first in row-major order, as the forward scans).
    ///
    ///   x:  [N, C, H, W] forward input (saved)
    ///   dy: [N, C, ⌈H/2⌉, ⌈W/2⌉]
    ///   dx: [N, C, H, W]   accumulated (+=)
    public static func backwardCeil(_ x: Tensor, dy: Tensor, dx: Tensor) {
        if x.h % 2 == 0 && x.w % 2 == 0 { return backward(x, dy: dy, dx: dx) }
        let oh = (x.h + 1) / 2, ow = (x.w + 1) / 2
        precondition(dy.n == x.n && dy.c == x.c && dy.h == oh && dy.w == ow, "max pool backward: dy shape")
        precondition(dx.sameShape(x), "max pool backward: dx shape")
        let (h, w) = (x.h, x.w)
        Parallel.forEach(x.n * x.c, cost: x.plane) { j in
            let src = UnsafePointer(x.pointer + j * x.plane)
            let grad = UnsafePointer(dy.pointer + j * oh * ow)
            let dst = dx.pointer + j * x.plane
            for oy in 0..<oh {
                let rows = min(2, h - 2 * oy)
                for ox in 0..<ow {
                    let cols = min(2, w - 2 * ox)
                    var best = 2 * oy * w + 2 * ox
                    for a in 0..<rows {
                        for b in 0..<cols where src[(2 * oy + a) * w + 2 * ox + b] > src[best] { best = (2 * oy + a) * w + 2 * ox + b }
                    }
                    dst[best] += grad[oy * ow + ox]
                }
            }
        }
    }
}

/// 2×2, stride-2 average pooling: the pooling Magenta's VGG-16 uses instead of max pooling
/// (magenta/models/image_stylization/vgg.py, `pooling='avg'`, slim.avg_pool2d, VALID = floor).
public enum AveragePool2x2 {
    /// y[n, c, oy, ox] = ¼ Σ_{a, b ∈ {0, 1}} x[n, c, 2·oy + a, 2·ox + b]
    ///
    ///   x: [N, C, H, W] → y: [N, C, H/2, W/2] (floor)
    public static func forward(_ x: Tensor) -> Tensor {
        pool2x2(x) { a, b, c, d in 0.25 * ((a + b) + (c + d)) }
    }

    /// Adjoint of `forward`: each of the four window pixels receives a quarter of dy.
    ///
    ///   dy: [N, C, H/2, W/2]
    ///   dx: [N, C, H, W]       dx[n, c, 2·oy + a, 2·ox + b] += dy[n, c, oy, ox] / 4
    public static func backward(dy: Tensor, dx: Tensor) {
        let oh = dx.h / 2, ow = dx.w / 2
        precondition(dy.n == dx.n && dy.c == dx.c && dy.h == oh && dy.w == ow, "average pool backward: shapes")
        let w = dx.w
        Parallel.forEach(dx.n * dx.c, cost: dx.plane) { j in
            let grad = UnsafePointer(dy.pointer + j * oh * ow)
            let dst = dx.pointer + j * dx.plane
            for oy in 0..<oh {
                let top = dst + 2 * oy * w, bottom = top + w
                for ox in 0..<ow {
                    let g = 0.25 * grad[oy * ow + ox]
                    top[2 * ox] += g; top[2 * ox + 1] += g
                    bottom[2 * ox] += g; bottom[2 * ox + 1] += g
                }
            }
        }
    }
}

/// The window walk both poolings share: y[n, c, oy, ox] = combine(top-left, top-right,
/// bottom-left, bottom-right) of the 2×2 window at (2·oy, 2·ox); floor output size.
@inline(__always)
private func pool2x2(_ x: Tensor, _ combine: (Float, Float, Float, Float) -> Float) -> Tensor {
    let oh = x.h / 2, ow = x.w / 2
    let y = Tensor(x.n, x.c, oh, ow, zeroed: false)
    let w = x.w
    Parallel.forEach(x.n * x.c, cost: x.plane) { j in
        let src = UnsafePointer(x.pointer + j * x.plane)
        let dst = y.pointer + j * oh * ow
        for oy in 0..<oh {
            let top = src + 2 * oy * w, bottom = top + w
            for ox in 0..<ow {
                dst[oy * ow + ox] = combine(top[2 * ox], top[2 * ox + 1], bottom[2 * ox], bottom[2 * ox + 1])
            }
        }
    }
    return y
}
