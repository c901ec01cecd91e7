/// What the backward pass of one named convolution (+ activation) needs from its forward.
public struct ConvRecord {
    public let name: String
    public let geometry: ConvGeometry
    public let activation: Activation
    public let input: Tensor
    /// Post-activation output (activations run in place; their backward reads the output).
    public let output: Tensor
    /// What the forward ran with; the backward runs with the same.
    public let options: ExecutionOptions
}

/// A convolution whose weight and bias are `NAME.weight` and `NAME.bias` of a `ParameterSource`,
/// as the training graphs run it: forward records what backward reads, backward accumulates
/// the parameter gradients when the parameters are trainable.
public enum TrainableConv {
    /// y = act(conv(x)); records input and output.
    public static func forward(_ x: Tensor, _ name: String, _ g: ConvGeometry, _ act: Activation,
                               _ p: ParameterSource, options: ExecutionOptions = .default) -> ConvRecord {
        let y = Conv2D.forward(x, weight: p.value("\(name).weight"), bias: p.value("\(name).bias"), geometry: g,
                               activation: act, options: options)
        return ConvRecord(name: name, geometry: g, activation: act, input: x, output: y, options: options)
    }

    /// `dOut` is the gradient w.r.t. the post-activation output. Returns dx (a new tensor)
    /// when `needInput`.
    public static func backward(_ r: ConvRecord, dOut: Tensor, _ p: ParameterSource, needInput: Bool) -> Tensor? {
        let dPre: Tensor
        if r.activation == .none {
            dPre = dOut
        } else {
            dPre = r.activation.gradient(output: r.output, dy: dOut)
        }
        let dx = needInput ? Tensor(r.input.n, r.input.c, r.input.h, r.input.w) : nil
        if let dW = p.gradient("\(r.name).weight") {
            Conv2D.backward(r.input, weight: p.value("\(r.name).weight"), geometry: r.geometry, dy: dPre,
                            dx: dx, dWeight: dW, dBias: p.gradient("\(r.name).bias"), options: r.options)
        } else if let dx {
            Conv2D.inputGradient(r.input, weight: p.value("\(r.name).weight"), geometry: r.geometry, dy: dPre, dx: dx,
                                 options: r.options)
        }
        return dx
    }
}
