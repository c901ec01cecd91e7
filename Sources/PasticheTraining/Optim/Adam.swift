import Foundation
import PasticheCore

/// Adam (Kingma & Ba 2015) with bias correction and optional global-norm gradient clipping,
/// as one loop over the flat buffers of a `ParameterSet`.
public final class Adam: @unchecked Sendable {
    public struct Config: Codable, Equatable, Sendable {
        public var learningRate: Float
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        /// Scale the gradient down to this global L2 norm when it is larger (nil: no clipping).
        public var clipNorm: Float?
        /// Inverse-time decay: update t uses lr / (1 + decay·(t − 1)), as naoto0804/pytorch-AdaIN's
        /// `adjust_learning_rate` (nil: a constant rate).
        public var learningRateDecay: Float?
        public init(learningRate: Float, clipNorm: Float? = nil) {
            self.learningRate = learningRate; self.clipNorm = clipNorm
        }
    }

    public var config: Config
    public let m: UnsafeMutableBufferPointer<Float>
    public let v: UnsafeMutableBufferPointer<Float>
    public let count: Int
    /// Number of updates applied so far (t in the paper).
    public var step: Int = 0

    public init(count: Int, config: Config) {
        self.count = count
        self.config = config
        m = .allocate(capacity: max(1, count)); m.initialize(repeating: 0)
        v = .allocate(capacity: max(1, count)); v.initialize(repeating: 0)
    }
    deinit { m.deallocate(); v.deallocate() }

    /// One update of `p.values` from `p.gradients`, in place (the parameter tensors view them).
    /// Returns the gradient norm before clipping.
    @discardableResult
    public func update(_ p: ParameterSet) -> Double {
        precondition(p.count == count, "adam: parameter count changed")
        let norm = p.gradientNorm()
        var scale: Float = 1
        if let c = config.clipNorm, norm > Double(c), norm > 0 { scale = Float(Double(c) / norm) }
        step += 1
        let b1 = config.beta1, b2 = config.beta2, eps = config.epsilon
        let c1 = 1 - powf(b1, Float(step)), c2 = 1 - powf(b2, Float(step))
        let lr = config.learningRate / (1 + (config.learningRateDecay ?? 0) * Float(step - 1))
        let x = p.values.baseAddress!, g = UnsafePointer(p.gradients.baseAddress!)
        let mp = m.baseAddress!, vp = v.baseAddress!
        Parallel.forEachChunk(count) { r in
            for i in r {
                let gi = g[i] * scale
                mp[i] = b1 * mp[i] + (1 - b1) * gi
                vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                let mhat = mp[i] / c1, vhat = vp[i] / c2
                x[i] -= lr * mhat / (vhat.squareRoot() + eps)
            }
        }
        return norm
    }
}
