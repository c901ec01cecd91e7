import Foundation

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
