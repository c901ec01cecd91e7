import Foundation

extension Activation {
    /// dx += dy · f′, with f′ taken from the forward OUTPUT y = f(x) for every activation, so
    /// the forward pass may run in place and keep only y:
    ///   none:    f′ = 1
    ///   relu:    f′ = 1 where y > 0, else 0            (same as x > 0)
    ///   relu6:   f′ = 1 where 0 < y < 6, else 0        (x exactly 0 or 6 counts as flat)
    ///   sigmoid: f′ = y (1 − y)
    ///
    ///   output: [any shape]  y = f(x) saved from forward
    ///   dy, dx: same count as output
    public func backward(output y: Tensor, dy: Tensor, dx: Tensor) {
        precondition(y.count == dy.count && y.count == dx.count, "activation backward: shapes")
        chainRule(output: y, dy: dy, into: dx, accumulate: true)
    }

    /// The gradient before the activation as a new tensor: dy · f′ written, not accumulated,
    /// so the buffer needs no zeroing pass first (one pass instead of two over fresh memory).
    public func gradient(output y: Tensor, dy: Tensor) -> Tensor {
        precondition(y.count == dy.count, "activation gradient: shapes")
        let dx = Tensor(shape: dy.shape, zeroed: false)
        chainRule(output: y, dy: dy, into: dx, accumulate: false)
        return dx
    }

    /// dx (+)= dy · f′(y), element by element on all cores.
    private func chainRule(output y: Tensor, dy: Tensor, into dx: Tensor, accumulate: Bool) {
        let yp = UnsafePointer(y.pointer), gp = UnsafePointer(dy.pointer), dp = dx.pointer
        let act = self
        Parallel.forEachChunk(y.count) { r in
            // One loop per case with `accumulate` hoisted out, each a select rather than a branch,
            // so every loop vectorises (the per-element test kept ReLU6's backward scalar).
            @inline(__always) func run(_ f: (Float, Float) -> Float) {
                if accumulate { for i in r { dp[i] += f(yp[i], gp[i]) } } else { for i in r { dp[i] = f(yp[i], gp[i]) } }
            }
            switch act {
            case .none: run { _, g in g }
            case .relu: run { y, g in y > 0 ? g : 0 }
            case .relu6: run { y, g in y > 0 && y < 6 ? g : 0 }
            case .sigmoid: run { y, g in g * y * (1 - y) }
            }
        }
    }
}
