import CPasticheKernels
import Foundation

/// Point-wise activations and arithmetic, in place where the network allows it.
public enum Activation: String, Sendable, Codable {
    case none, relu, relu6, sigmoid

    @inline(__always)
    public func apply(_ v: Float) -> Float {
        switch self {
        case .none: return v
        case .relu: return max(v, 0)
        case .relu6: return min(max(v, 0), 6)
        case .sigmoid: return 1 / (1 + expf(-v))
        }
    }

    /// The activation as a clamp [lo, hi] that kernels apply as they write (nil: sigmoid).
    public var clampRange: (lo: Float, hi: Float)? {
        switch self {
        case .none: return (-.infinity, .infinity)
        case .relu: return (0, .infinity)
        case .relu6: return (0, 6)
        case .sigmoid: return nil
        }
    }

    /// Applies the activation to every element of `x`, in place.
    public func forward(_ x: Tensor) {
        if self == .none { return }
        let p = x.pointer
        let act = self
        Parallel.forEachChunk(x.count) { r in
            switch act {
            case .relu: for i in r { p[i] = max(p[i], 0) }
            case .relu6: for i in r { p[i] = min(max(p[i], 0), 6) }
            case .sigmoid: for i in r { p[i] = 1 / (1 + expf(-p[i])) }
            case .none: break
            }
        }
    }
}

public enum Elementwise {
    /// y += x (shapes equal).
    public static func addInPlace(_ y: Tensor, _ x: Tensor) {
        precondition(y.sameShape(x), "add: shapes \(y.shapeDescription) and \(x.shapeDescription) differ")
        let a = y.pointer, b = UnsafePointer(x.pointer)
        Parallel.forEachChunk(y.count) { r in for i in r { a[i] += b[i] } }
    }
}

/// Global average pool: [N, C, H, W] → [N, C, 1, 1] (ONNX GlobalAveragePool).
public enum GlobalAveragePool {
    public static func forward(_ x: Tensor) -> Tensor {
        let y = Tensor(x.n, x.c, 1, 1)
        let hw = x.plane
        for j in 0..<(x.n * x.c) {
            // The vectorised moments kernel (a scalar Double sum is one dependent chain of adds).
            var sum = 0.0, sumsq = 0.0
            pk_moments(x.pointer + j * hw, hw, 0, &sum, &sumsq)
            y.data[j] = Float(sum / Double(hw))
        }
        return y
    }
}

/// Nearest-neighbour ×s upsampling (ONNX Resize mode=nearest, asymmetric, floor: out[y] = in[y / s]).
public enum UpsampleNearest {
    public static func forward(_ x: Tensor, scale s: Int) -> Tensor {
        let y = Tensor(x.n, x.c, x.h * s, x.w * s, zeroed: false)
        let ow = x.w * s
        Parallel.forEach(x.n * x.c, cost: y.plane) { j in
            let src = x.pointer + j * x.plane
            let dst = y.pointer + j * y.plane
            for iy in 0..<x.h {
                let row = dst + iy * s * ow
                let inRow = src + iy * x.w
                for ix in 0..<x.w {
                    let v = inRow[ix]
                    for k in 0..<s { row[ix * s + k] = v }
                }
                for k in 1..<s { (row + k * ow).update(from: row, count: ow) }
            }
        }
        return y
    }
}

/// Reflection padding (TF MirrorPad REFLECT / ONNX Pad mode=reflect): the edge pixel is not
/// repeated, so pad p needs p < size.
public enum ReflectPad {
    @inline(__always)
    public static func reflect(_ i: Int, _ size: Int) -> Int {
        if size == 1 { return 0 }
        var j = i
        // One bounce is enough while pad < size; loop for safety on tiny inputs.
        while j < 0 || j >= size {
            if j < 0 { j = -j }
            if j >= size { j = 2 * (size - 1) - j }
        }
        return j
    }

    public static func forward(_ x: Tensor, _ p: Padding) -> Tensor {
        let oh = x.h + p.top + p.bottom, ow = x.w + p.left + p.right
        let y = Tensor(x.n, x.c, oh, ow, zeroed: false)
        let w = x.w, h = x.h
        Parallel.forEach(x.n * x.c, cost: oh * ow) { j in
            let src = x.pointer + j * x.plane
            let dst = y.pointer + j * oh * ow
            for oy in 0..<oh {
                let iy = reflect(oy - p.top, h)
                let s = src + iy * w
                let d = dst + oy * ow
                for ox in 0..<p.left { d[ox] = s[reflect(ox - p.left, w)] }
                (d + p.left).update(from: s, count: w)
                for ox in (p.left + w)..<ow { d[ox] = s[reflect(ox - p.left, w)] }
            }
        }
        return y
    }
}
