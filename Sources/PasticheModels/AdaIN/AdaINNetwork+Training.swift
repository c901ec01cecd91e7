import PasticheCore

extension AdaINNetwork {
    /// AdaIN's encoder and decoder as training runs them (the decoder trained, Huang & Belongie
    /// §6; the encoder frozen, its input gradient carrying the loss back to the decoder's
    /// output): the layers of `AdaINArchitecture` as explicit ops, max pool (ceil mode) or
    /// nearest upsampling → ReflectPad → Conv2D (no padding) → ReLU, each forward recording what
    /// its backward reads. Parameters come from a `ParameterSource`, so either network can be
    /// frozen or trained. `AdaINNetwork` is the same networks fused for inference; the tests pin
    /// the two together.
    public enum Training {
        struct LayerRecord {
            /// The input before pooling (encoder layers that pool), which the pool's backward reads.
            let pooledFrom: Tensor?
            /// The nearest-neighbour factor the layer read its input at (decoder; 1: none).
            let upsample: Int
            /// The shape the layer received, before pooling or upsampling.
            let inputShape: (Int, Int, Int, Int)
            /// After pooling or upsampling, before padding.
            let resampledShape: (Int, Int, Int, Int)
            let padding: Padding
            let conv: ConvRecord
        }

        public struct Tape {
            let records: [(layer: AdaINArchitecture.Layer, record: LayerRecord)]
            /// Every layer's output (after its ReLU), by layer name.
            public let outputs: [String: Tensor]
            /// The last layer's output.
            public var output: Tensor { records.last!.record.conv.output }
        }

        /// The encoder: image [N, 3, H, W] in [0, 1] → tape (relu1_1 … relu4_1 in `outputs`).
        public static func encode(_ image: Tensor, _ p: ParameterSource) -> Tape {
            run(image, AdaINArchitecture.encoder, pools: true, p)
        }

        /// The decoder: relu4_1-shaped features → tape whose output is the image [N, 3, 8h, 8w].
        public static func decode(_ features: Tensor, _ p: ParameterSource) -> Tape {
            run(features, AdaINArchitecture.decoder, pools: false, p)
        }

        static func run(_ input: Tensor, _ layers: [AdaINArchitecture.Layer], pools: Bool, _ p: ParameterSource) -> Tape {
            var x = input
            var records: [(AdaINArchitecture.Layer, LayerRecord)] = []
            var outputs: [String: Tensor] = [:]
            for l in layers {
                let inputShape = (x.n, x.c, x.h, x.w)
                var pooledFrom: Tensor?
                var upsample = 1
                if l.resampleBefore {
                    if pools {
                        pooledFrom = x
                        x = MaxPool2x2.forwardCeil(x)
                    } else {
                        upsample = 2
                        x = UpsampleNearest.forward(x, scale: 2)
                    }
                }
                let resampled = (x.n, x.c, x.h, x.w)
                let padding = l.kernel > 1 ? Padding.same(l.kernel / 2) : Padding.zero
                let padded = l.kernel > 1 ? ReflectPad.forward(x, padding) : x
                let geometry = ConvGeometry(inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel, stride: 1, padding: .zero)
                let conv = TrainableConv.forward(padded, l.name, geometry, l.relu ? .relu : .none, p)
                records.append((l, LayerRecord(pooledFrom: pooledFrom, upsample: upsample, inputShape: inputShape,
                                               resampledShape: resampled, padding: padding, conv: conv)))
                outputs[l.name] = conv.output
                x = conv.output
            }
            return Tape(records: records, outputs: outputs)
        }

        /// Gradients at any layers' outputs (by name, w.r.t. the post-ReLU output) → the gradient
        /// w.r.t. the tape's input when `needInput` (else nil); trainable parameters' gradients
        /// accumulate in the source. Layers before the earliest gradient are not visited unless
        /// the input gradient is needed.
        public static func backward(_ tape: Tape, gradients: [String: Tensor], _ p: ParameterSource, needInput: Bool) -> Tensor? {
            var d: Tensor?
            for (i, (layer, rec)) in tape.records.enumerated().reversed() {
                if let g = gradients[layer.name] {
                    if let current = d { Elementwise.accumulate(current, g) } else { d = g.copy() }
                }
                guard let dOut = d else { continue }
                let earlierTrainable = tape.records[..<i].contains { p.gradient("\($0.layer.name).weight") != nil }
                let wantInput = i > 0 ? (needInput || earlierTrainable) : needInput
                guard let dPadded = TrainableConv.backward(rec.conv, dOut: dOut, p, needInput: wantInput) else { return nil }
                var dx = dPadded
                if rec.padding != .zero {
                    let (n, c, h, w) = rec.resampledShape
                    dx = Tensor(n, c, h, w)
                    ReflectPad.backward(dy: dPadded, rec.padding, dx: dx)
                }
                let (n, c, h, w) = rec.inputShape
                if rec.upsample > 1 {
                    let down = Tensor(n, c, h, w)
                    UpsampleNearest.backward(dy: dx, scale: rec.upsample, dx: down)
                    dx = down
                } else if let pooledFrom = rec.pooledFrom {
                    let unpooled = Tensor(n, c, h, w)
                    MaxPool2x2.backwardCeil(pooledFrom, dy: dx, dx: unpooled)
                    dx = unpooled
                }
                d = dx
            }
            return d
        }
    }
}
