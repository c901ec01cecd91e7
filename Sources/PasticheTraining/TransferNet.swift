import Foundation
import PasticheCore
import PasticheModels

/// The transfer network as training runs it: explicit ReflectPad → Conv2D (no padding) →
/// conditional instance norm → activation, and UpsampleNearest as its own op (the inference
/// engine folds pad and upsampling into the conv's unfolding, which has no backward).
/// Same parameter names and arithmetic as `PasticheModels.TransferNetwork`.
struct TransferNet {
    struct NormRecord {
        let layer: String
        let preNorm: Tensor     // conv output (norm input)
        let output: Tensor      // after norm and activation (and the residual add for conv2 of a block)
        let mean: Tensor
        let rstd: Tensor
        let activation: Activation
    }
    struct LayerRecord {
        let inputShape: (Int, Int, Int, Int)
        let upsampled: Bool
        let padding: Padding
        let conv: ConvRecord        // input = padded tensor, output = conv output (activation none)
        let norm: NormRecord?       // nil for the contracting convs (ReLU only)
        let reluOutput: Tensor?     // contracting convs: post-ReLU output
    }
    struct Tape {
        var embedding: Tensor
        var gamma: [String: Tensor] = [:]
        var beta: [String: Tensor] = [:]
        var layers: [String: LayerRecord] = [:]
        var output: Tensor!
    }

    static func forward(_ content: Tensor, embedding: Tensor, _ p: ParameterSource) -> Tape {
        precondition(content.h % TransferArchitecture.sizeMultiple == 0 && content.w % TransferArchitecture.sizeMultiple == 0,
                     "training content size must be a multiple of 4")
        precondition(embedding.n == content.n, "one embedding per content image")
        var tape = Tape(embedding: embedding)
        for l in TransferArchitecture.layers where l.normalized {
            tape.gamma[l.name] = Linear.forward(embedding, weight: p.value("\(l.name).norm.gamma.weight"),
                                                bias: p.value("\(l.name).norm.gamma.bias"))
            tape.beta[l.name] = Linear.forward(embedding, weight: p.value("\(l.name).norm.beta.weight"),
                                               bias: p.value("\(l.name).norm.beta.bias"))
        }

        func convLayer(_ x: Tensor, _ l: TransferArchitecture.Layer, upsample: Bool) -> (LayerRecord, Tensor) {
            let xin = upsample ? UpsampleNearest.forward(x, scale: 2) : x
            let pad = Padding.same(l.kernel / 2)
            let padded = ReflectPad.forward(xin, pad)
            let g = ConvGeometry(inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel, stride: l.stride)
            let c = Layers.conv(padded, l.name, g, .none, p)
            return (LayerRecord(inputShape: (x.n, x.c, x.h, x.w), upsampled: upsample, padding: pad, conv: c,
                                norm: nil, reluOutput: nil), c.output)
        }
        func norm(_ y: Tensor, _ l: TransferArchitecture.Layer, _ act: Activation, residual: Tensor? = nil) -> NormRecord {
            let (out, mean, rstd) = InstanceNorm.normalize(y, gamma: tape.gamma[l.name]!, beta: tape.beta[l.name]!)
            act.forward(out)
            if let residual { Elementwise.addInPlace(out, residual) }
            return NormRecord(layer: l.name, preNorm: y, output: out, mean: mean, rstd: rstd, activation: act)
        }

        var x = content
        for l in TransferArchitecture.contract {
            let (rec, y) = convLayer(x, l, upsample: false)
            let out = y.copy()
            Activation.relu.forward(out)
            tape.layers[l.name] = LayerRecord(inputShape: rec.inputShape, upsampled: false, padding: rec.padding,
                                              conv: rec.conv, norm: nil, reluOutput: out)
            x = out
        }
        for r in 0..<TransferArchitecture.residualBlocks {
            let l1 = TransferArchitecture.residual[2 * r], l2 = TransferArchitecture.residual[2 * r + 1]
            var (rec1, y1) = convLayer(x, l1, upsample: false)
            let n1 = norm(y1, l1, .relu)
            rec1 = LayerRecord(inputShape: rec1.inputShape, upsampled: false, padding: rec1.padding, conv: rec1.conv, norm: n1, reluOutput: nil)
            var (rec2, y2) = convLayer(n1.output, l2, upsample: false)
            // No activation after the shortcut add (Magenta's residual_block).
            let n2 = norm(y2, l2, .none, residual: x)
            rec2 = LayerRecord(inputShape: rec2.inputShape, upsampled: false, padding: rec2.padding, conv: rec2.conv, norm: n2, reluOutput: nil)
            tape.layers[l1.name] = rec1; tape.layers[l2.name] = rec2
            x = n2.output
            _ = (y1, y2)
        }
        for (i, l) in TransferArchitecture.expand.enumerated() {
            var (rec, y) = convLayer(x, l, upsample: i < 2)
            let n = norm(y, l, i < 2 ? .relu : .sigmoid)
            rec = LayerRecord(inputShape: rec.inputShape, upsampled: rec.upsampled, padding: rec.padding, conv: rec.conv, norm: n, reluOutput: nil)
            tape.layers[l.name] = rec
            x = n.output
        }
        tape.output = x
        return tape
    }

    /// dOutput (w.r.t. the stylized image) → dEmbedding [N, 100, 1, 1]; transfer parameter
    /// gradients accumulate when the source has them trainable.
    static func backward(_ tape: Tape, dOutput: Tensor, _ p: ParameterSource) -> Tensor {
        let e = tape.embedding
        let dEmbedding = Tensor(e.n, e.c, 1, 1)
        var dGamma: [String: Tensor] = [:], dBeta: [String: Tensor] = [:]

        /// Gradient w.r.t. the conv output (pre-norm) → gradient w.r.t. the layer input.
        func convLayerBackward(_ rec: LayerRecord, dConvOut: Tensor, needInput: Bool) -> Tensor? {
            guard let dPadded = Layers.convBackward(rec.conv, dOut: dConvOut, p, needInput: needInput) else { return nil }
            let (n, c, h, w) = rec.inputShape
            if rec.upsampled {
                let dUp = Tensor(n, c, h * 2, w * 2)
                ReflectPad.backward(dy: dPadded, rec.padding, dx: dUp)
                let dx = Tensor(n, c, h, w)
                UpsampleNearest.backward(dy: dUp, scale: 2, dx: dx)
                return dx
            }
            let dx = Tensor(n, c, h, w)
            ReflectPad.backward(dy: dPadded, rec.padding, dx: dx)
            return dx
        }
        /// Gradient w.r.t. the norm's post-activation output → gradient w.r.t. the conv output.
        func normBackward(_ nr: NormRecord, dOut: Tensor) -> Tensor {
            let dAct: Tensor
            if nr.activation == .none { dAct = dOut } else {
                dAct = nr.activation.gradient(output: nr.output, dy: dOut)
            }
            let dg = Tensor(shape: [dOut.n, dOut.c]), db = Tensor(shape: [dOut.n, dOut.c])
            let dx = Tensor(dOut.n, dOut.c, dOut.h, dOut.w)
            InstanceNorm.backward(nr.preNorm, gamma: tape.gamma[nr.layer]!, mean: nr.mean, rstd: nr.rstd, dy: dAct,
                                  dx: dx, dGamma: dg, dBeta: db)
            dGamma[nr.layer] = dg; dBeta[nr.layer] = db
            return dx
        }

        var d = dOutput
        for l in TransferArchitecture.expand.reversed() {
            let rec = tape.layers[l.name]!
            d = convLayerBackward(rec, dConvOut: normBackward(rec.norm!, dOut: d), needInput: true)!
        }
        // A frozen contracting path needs no gradient: then the first residual conv's norm (the
        // earliest gamma/beta) is where the backward pass stops.
        let contractTrainable = TransferArchitecture.contract.contains { p.gradient("\($0.name).weight") != nil }
        for r in (0..<TransferArchitecture.residualBlocks).reversed() {
            let l1 = TransferArchitecture.residual[2 * r], l2 = TransferArchitecture.residual[2 * r + 1]
            let rec1 = tape.layers[l1.name]!, rec2 = tape.layers[l2.name]!
            // out = norm2(conv2(relu(norm1(conv1(x))))) + x
            let dN1 = convLayerBackward(rec2, dConvOut: normBackward(rec2.norm!, dOut: d), needInput: true)!
            let dConv1 = normBackward(rec1.norm!, dOut: dN1)
            if r == 0 && !contractTrainable { break }
            let dx = convLayerBackward(rec1, dConvOut: dConv1, needInput: true)!
            Elementwise.accumulate(dx, d)
            d = dx
        }
        for (i, l) in TransferArchitecture.contract.enumerated().reversed() where contractTrainable {
            let rec = tape.layers[l.name]!
            let dPre = Activation.relu.gradient(output: rec.reluOutput!, dy: d)
            // The content image needs no gradient, and frozen layers need none past the last norm.
            let trainable = p.gradient("\(l.name).weight") != nil
            if !trainable { break }
            guard let next = convLayerBackward(rec, dConvOut: dPre, needInput: i > 0) else { break }
            d = next
        }

        // gamma/beta are linear in the embedding: accumulate dEmbedding and (if trainable) dW, db.
        for l in TransferArchitecture.layers where l.normalized {
            for (part, grads) in [("gamma", dGamma), ("beta", dBeta)] {
                let wName = "\(l.name).norm.\(part).weight", bName = "\(l.name).norm.\(part).bias"
                let w = p.value(wName)
                let dW = p.gradient(wName) ?? Tensor(shape: w.shape)
                Linear.backward(e, weight: w, dy: grads[l.name]!, dx: dEmbedding, dWeight: dW, dBias: p.gradient(bName))
            }
        }
        return dEmbedding
    }
}
