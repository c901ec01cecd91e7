import Foundation

/// The trainable parameters of one run in ONE flat Float buffer (`values`), with a matching
/// gradient buffer, so the optimiser is a single loop over `count` floats, the allreduce one
/// call and a checkpoint three contiguous arrays. Each parameter is an `Entry` (dotted Pastiche
/// name → offset, shape), and its tensor (`tensor(_:)`) and gradient (`gradient(_:)`) are views
/// into the two buffers, as llm.c points its parameter tensors into one allocation: the ops
/// read the values the optimizer wrote and the backward ops accumulate straight into the
/// gradient buffer, with nothing copied either way.
public final class ParameterSet: @unchecked Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let entries: [Entry]
    public let count: Int
    private let valueStorage: FlatStorage
    private let gradientStorage: FlatStorage
    public var values: UnsafeMutableBufferPointer<Float> { valueStorage.buffer }
    public var gradients: UnsafeMutableBufferPointer<Float> { gradientStorage.buffer }
    private var views: [String: (value: Tensor, gradient: Tensor)] = [:]
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
        valueStorage = FlatStorage(count: offset)
        gradientStorage = FlatStorage(count: offset)
        for (i, (name, t)) in parameters.enumerated() {
            index[name] = i
            let e = entries[i]
            (valueStorage.buffer.baseAddress! + e.offset).update(from: t.pointer, count: e.count)
            views[name] = (Tensor(viewing: valueStorage, offset: e.offset, shape: e.shape),
                           Tensor(viewing: gradientStorage, offset: e.offset, shape: e.shape))
        }
    }

    public var names: [String] { entries.map(\.name) }
    public func contains(_ name: String) -> Bool { index[name] != nil }
    /// The parameter as a tensor: a view of its slice of `values`.
    public func tensor(_ name: String) -> Tensor { views[name]!.value }
    /// Its gradient, a view of its slice of `gradients`, which the backward ops accumulate into.
    public func gradient(_ name: String) -> Tensor { views[name]!.gradient }
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    public func zeroGradients() {
        gradients.update(repeating: 0)
    }

    /// L2 norm of the flat gradient.
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
