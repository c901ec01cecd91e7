/// Where a network reads its parameters: trainable ones from a `ParameterSet` (whose working
/// gradients the backward pass accumulates into), frozen ones from plain tensors (no gradient).
public struct ParameterSource {
    public let trainable: ParameterSet?
    public let frozen: [String: Tensor]

    public init(trainable: ParameterSet?, frozen: [String: Tensor]) {
        self.trainable = trainable; self.frozen = frozen
    }

    public func value(_ name: String) -> Tensor {
        if let t = trainable, t.contains(name) { return t.tensor(name) }
        guard let f = frozen[name] else { preconditionFailure("no parameter \(name)") }
        return f
    }

    /// The gradient tensor to accumulate into, or nil when the parameter is frozen.
    public func gradient(_ name: String) -> Tensor? {
        if let t = trainable, t.contains(name) { return t.gradient(name) }
        return nil
    }
}
