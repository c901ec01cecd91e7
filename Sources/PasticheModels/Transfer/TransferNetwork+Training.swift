import PasticheCore

extension TransferNetwork {
    /// The transfer network as training runs it: the layers of `TransferArchitecture` as explicit
    /// ops, UpsampleNearest → ReflectPad → Conv2D (no padding) → conditional instance norm →
    /// activation (the inference forward folds pad and upsampling into the conv's unfolding, which
    /// has no backward), each forward recording what its backward reads. Parameters come from a
    /// `ParameterSource`, so the transfer network can be frozen or trained.
    public enum Training {
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
            /// The nearest-neighbour factor the layer read its input at (1: none).
            let upsample: Int
            let padding: Padding
            let conv: ConvRecord        // input = padded tensor, output = conv output (activation none)
            var norm: NormRecord?       // nil for the contracting convs (ReLU only)
            var reluOutput: Tensor?     // contracting convs: post-ReLU output
        }
        public struct Tape {
            let architecture: TransferArchitecture
            var embedding: Tensor
            var gamma: [String: Tensor] = [:]
            var beta: [String: Tensor] = [:]
            var layers: [String: LayerRecord] = [:]
            /// The stylized batch [N, 3, H, W].
            public internal(set) var output: Tensor!
        }

        /// content [N, 3, H, W] (H, W multiples of `TransferArchitecture.sizeMultiple`) and
        /// embedding [N, 100, 1, 1] → the tape, whose `output` is the stylized batch.
        public static func forward(_ content: Tensor, embedding: Tensor, _ p: ParameterSource,
                                   architecture: TransferArchitecture = .standard) -> Tape {
            precondition(content.h % TransferArchitecture.sizeMultiple == 0 && content.w % TransferArchitecture.sizeMultiple == 0,
                         "training content size must be a multiple of 4")
            precondition(embedding.n == content.n, "one embedding per content image")
            let style = architecture.styleParameters(embedding, parameter: p.value)
            var tape = Tape(architecture: architecture, embedding: embedding, gamma: style.gamma, beta: style.beta)

            func convLayer(_ x: Tensor, _ l: TransferArchitecture.Layer) -> LayerRecord {
                let xin = l.upsample > 1 ? UpsampleNearest.forward(x, scale: l.upsample) : x
                let padded = ReflectPad.forward(xin, l.padding)
                let c = TrainableConv.forward(padded, l.name, l.geometry(padded: false), .none, p)
                return LayerRecord(inputShape: (x.n, x.c, x.h, x.w), upsample: l.upsample, padding: l.padding, conv: c)
            }
            /// The conditional instance norm of `l`'s conv output, its activation, then the shortcut add.
            func norm(_ y: Tensor, _ l: TransferArchitecture.Layer, residual: Tensor? = nil) -> NormRecord {
                let (out, mean, rstd) = InstanceNorm.normalize(y, gamma: tape.gamma[l.name]!, beta: tape.beta[l.name]!)
                l.activation.forward(out)
                if let residual { Elementwise.addInPlace(out, residual) }
                return NormRecord(layer: l.name, preNorm: y, output: out, mean: mean, rstd: rstd, activation: l.activation)
            }

            var x = content
            for l in architecture.contract {
                var rec = convLayer(x, l)
                let out = rec.conv.output.copy()
                l.activation.forward(out)
                rec.reluOutput = out
                tape.layers[l.name] = rec
                x = out
            }
            let residual = architecture.residual
            for r in 0..<TransferArchitecture.residualBlocks {
                let l1 = residual[2 * r], l2 = residual[2 * r + 1]
                var rec1 = convLayer(x, l1)
                rec1.norm = norm(rec1.conv.output, l1)
                var rec2 = convLayer(rec1.norm!.output, l2)
                // No activation after the shortcut add (Magenta's residual_block).
                rec2.norm = norm(rec2.conv.output, l2, residual: x)
                tape.layers[l1.name] = rec1; tape.layers[l2.name] = rec2
                x = rec2.norm!.output
            }
            for l in architecture.expand {
                var rec = convLayer(x, l)
                rec.norm = norm(rec.conv.output, l)
                tape.layers[l.name] = rec
                x = rec.norm!.output
            }
            tape.output = x
            return tape
        }

        /// dOutput (w.r.t. the stylized image) → dEmbedding [N, 100, 1, 1]; transfer parameter
        /// gradients accumulate when the source has them trainable.
        public static func backward(_ tape: Tape, dOutput: Tensor, _ p: ParameterSource) -> Tensor {
            let e = tape.embedding
            let dEmbedding = Tensor(e.n, e.c, 1, 1)
            var dGamma: [String: Tensor] = [:], dBeta: [String: Tensor] = [:]

            /// Gradient w.r.t. the conv output (pre-norm) → gradient w.r.t. the layer input.
            func convLayerBackward(_ rec: LayerRecord, dConvOut: Tensor, needInput: Bool) -> Tensor? {
                guard let dPadded = TrainableConv.backward(rec.conv, dOut: dConvOut, p, needInput: needInput) else { return nil }
                let (n, c, h, w) = rec.inputShape
                if rec.upsample > 1 {
                    let dUp = Tensor(n, c, h * rec.upsample, w * rec.upsample)
                    ReflectPad.backward(dy: dPadded, rec.padding, dx: dUp)
                    let dx = Tensor(n, c, h, w)
                    UpsampleNearest.backward(dy: dUp, scale: rec.upsample, dx: dx)
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
            let architecture = tape.architecture, residual = architecture.residual
            for l in architecture.expand.reversed() {
                let rec = tape.layers[l.name]!
                d = convLayerBackward(rec, dConvOut: normBackward(rec.norm!, dOut: d), needInput: true)!
            }
            // A frozen contracting path needs no gradient: then the first residual conv's norm (the
            // earliest gamma/beta) is where the backward pass stops.
            let contractTrainable = architecture.contract.contains { p.gradient("\($0.name).weight") != nil }
            for r in (0..<TransferArchitecture.residualBlocks).reversed() {
                let l1 = residual[2 * r], l2 = residual[2 * r + 1]
                let rec1 = tape.layers[l1.name]!, rec2 = tape.layers[l2.name]!
                // out = norm2(conv2(relu(norm1(conv1(x))))) + x
                let dN1 = convLayerBackward(rec2, dConvOut: normBackward(rec2.norm!, dOut: d), needInput: true)!
                let dConv1 = normBackward(rec1.norm!, dOut: dN1)
                if r == 0 && !contractTrainable { break }
                let dx = convLayerBackward(rec1, dConvOut: dConv1, needInput: true)!
                Elementwise.accumulate(dx, d)
                d = dx
            }
            for (i, l) in architecture.contract.enumerated().reversed() where contractTrainable {
                let rec = tape.layers[l.name]!
                let dPre = Activation.relu.gradient(output: rec.reluOutput!, dy: d)
                // The content image needs no gradient, and frozen layers need none past the last norm.
                let trainable = p.gradient("\(l.name).weight") != nil
                if !trainable { break }
                guard let next = convLayerBackward(rec, dConvOut: dPre, needInput: i > 0) else { break }
                d = next
            }

            // gamma/beta are linear in the embedding: accumulate dEmbedding and (if trainable) dW, db.
            for l in architecture.layers where l.normalized {
                for (map, grads) in [(l.gammaName, dGamma), (l.betaName, dBeta)] {
                    let wName = "\(map).weight", bName = "\(map).bias"
                    let w = p.value(wName)
                    let dW = p.gradient(wName) ?? Tensor(shape: w.shape)
                    Linear.backward(e, weight: w, dy: grads[l.name]!, dx: dEmbedding, dWeight: dW, dBias: p.gradient(bName))
                }
            }
            return dEmbedding
        }
    }
}
