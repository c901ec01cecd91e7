import Foundation
import PasticheCore
import PasticheModels

/// The trainable parameters of one run in ONE flat Float buffer (`values`), with a matching
/// gradient buffer, so the optimiser is a single loop over `count` floats and a checkpoint is
/// three contiguous arrays. Each parameter is an `Entry` (dotted Pastiche name → offset, shape).
///
/// `PasticheCore.Tensor` owns its storage and cannot alias another buffer, so the ops read
/// and write per-parameter working tensors (`tensor(_:)`, `gradient(_:)`); `scatter()` copies
/// the flat values into them after an update and `gather()` copies their gradients into the
/// flat gradient buffer before one. Both are a memcpy per parameter (≈ 2.3 M floats for the
/// predictor), negligible next to one convolution.
public final class ParameterSet: @unchecked Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let entries: [Entry]
    public let count: Int
    public let values: UnsafeMutableBufferPointer<Float>
    public let gradients: UnsafeMutableBufferPointer<Float>
    private var working: [String: Tensor] = [:]
    private var workingGrad: [String: Tensor] = [:]
    private var index: [String: Int] = [:]

    /// Takes copies of `parameters` in the given order.
    public init(_ parameters: [(String, Tensor)]) {
        var offset = 0
        var entries: [Entry] = []
        for (name, t) in parameters {
            entries.append(Entry(name: name, shape: t.shape, offset: offset))
            offset += t.count
        }
        self.entries = entries
        count = offset
        values = .allocate(capacity: max(1, offset))
        gradients = .allocate(capacity: max(1, offset))
        values.initialize(repeating: 0); gradients.initialize(repeating: 0)
        for (i, (name, t)) in parameters.enumerated() {
            index[name] = i
            let e = entries[i]
            (values.baseAddress! + e.offset).update(from: t.pointer, count: e.count)
            working[name] = Tensor(shape: e.shape)
            workingGrad[name] = Tensor(shape: e.shape)
        }
        scatter()
    }

    deinit { values.deallocate(); gradients.deallocate() }

    public var names: [String] { entries.map(\.name) }
    public func contains(_ name: String) -> Bool { index[name] != nil }
    /// The working tensor the ops read (valid after `scatter()`).
    public func tensor(_ name: String) -> Tensor { working[name]! }
    /// The working gradient the backward ops accumulate into.
    public func gradient(_ name: String) -> Tensor { workingGrad[name]! }
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// Flat values → working tensors.
    public func scatter() {
        for e in entries { working[e.name]!.pointer.update(from: values.baseAddress! + e.offset, count: e.count) }
    }

    /// Working gradients → flat gradient buffer.
    public func gather() {
        for e in entries { (gradients.baseAddress! + e.offset).update(from: workingGrad[e.name]!.pointer, count: e.count) }
    }

    public func zeroGradients() {
        for t in workingGrad.values { t.fill(0) }
        gradients.update(repeating: 0)
    }

    /// L2 norm of the flat gradient (after `gather()`).
    public func gradientNorm() -> Double {
        var s: Double = 0
        for i in 0..<count { let g = Double(gradients[i]); s += g * g }
        return s.squareRoot()
    }

    /// The current values as tensors by name (copies), e.g. to save a model.
    public func exportTensors() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for e in entries {
            let t = Tensor(shape: e.shape, zeroed: false)
            t.pointer.update(from: values.baseAddress! + e.offset, count: e.count)
            out[e.name] = t
        }
        return out
    }

    /// A [count] tensor holding a copy of a flat buffer (for checkpoints).
    public static func flatTensor(_ buffer: UnsafeMutableBufferPointer<Float>, count: Int) -> Tensor {
        let t = Tensor(shape: [max(1, count)])
        t.pointer.update(from: buffer.baseAddress!, count: count)
        return t
    }
}

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

    /// One update from `p.gradients` (call `p.gather()` first); scatters the new values.
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
        let lr = config.learningRate
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
        p.scatter()
        return norm
    }
}
