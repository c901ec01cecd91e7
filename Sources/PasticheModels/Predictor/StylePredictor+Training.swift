import PasticheCore

extension StylePredictor {
    /// The predictor as training runs it: the layers of `PredictorArchitecture` one op at a time
    /// (`TrainableConv`), each forward recording what its backward reads. Its parameters come
    /// from a `ParameterSource`, so the same code is the trainable predictor and, with frozen
    /// pretrained weights, the MobileNetV2 loss network (the trunk up to a block).
    public enum Training {
        public struct BlockRecord {
            let input: Tensor
            let expand: ConvRecord?
            let depthwise: ConvRecord
            let project: ConvRecord
            let residual: Bool
            /// The block's output (after the shortcut add).
            public var output: Tensor { project.output }
        }
        /// What the trunk's backward reads: conv0 and blocks 0...lastBlock.
        public struct TrunkTape {
            let conv0: ConvRecord
            public let blocks: [BlockRecord]
        }
        /// What the whole predictor's backward reads.
        public struct Tape {
            let trunk: TrunkTape
            let last: ConvRecord
            let pooled: Tensor
        }

        /// Runs conv0 and blocks 0...lastBlock. The output of block b is `tape.blocks[b].output`.
        public static func trunkForward(_ image: Tensor, lastBlock: Int, _ p: ParameterSource,
                                        architecture arch: PredictorArchitecture = .standard) -> TrunkTape {
            let c0 = TrainableConv.forward(image, PredictorArchitecture.conv0Name, arch.conv0Geometry(h: image.h, w: image.w),
                                           .relu6, p)
            var x = c0.output
            var blocks: [BlockRecord] = []
            for b in arch.blocks.prefix(lastBlock + 1) {
                var h = x
                var e: ConvRecord?
                if b.hasExpand {
                    e = TrainableConv.forward(h, b.name(.expand), b.expandGeometry, .relu6, p)
                    h = e!.output
                }
                let d = TrainableConv.forward(h, b.name(.depthwise), b.depthwiseGeometry(h: h.h, w: h.w), .relu6, p)
                let pr = TrainableConv.forward(d.output, b.name(.project), b.projectGeometry, .none, p)
                // The shortcut add goes into the project output; its backward is the identity, so
                // keeping only the sum is enough (project has no activation to read back).
                if b.hasResidual { Elementwise.addInPlace(pr.output, x) }
                blocks.append(BlockRecord(input: x, expand: e, depthwise: d, project: pr, residual: b.hasResidual))
                x = pr.output
            }
            return TrunkTape(conv0: c0, blocks: blocks)
        }

        /// Backward from gradients at block outputs (`dBlock[b]`, any subset; they are consumed and
        /// may be modified). Returns the gradient w.r.t. the image when `needInput`.
        public static func trunkBackward(_ tape: TrunkTape, dBlock: [Int: Tensor], _ p: ParameterSource,
                                         needInput: Bool) -> Tensor? {
            var carry: Tensor? = nil    // gradient flowing into the output of the current block
            for b in tape.blocks.indices.reversed() {
                if let extra = dBlock[b] {
                    if let c = carry { Elementwise.accumulate(c, extra) } else { carry = extra.copy() }
                }
                guard let dOut = carry else { continue }
                let r = tape.blocks[b]
                let dD = TrainableConv.backward(r.project, dOut: dOut, p, needInput: true)!
                var dH = TrainableConv.backward(r.depthwise, dOut: dD, p, needInput: true)!
                if let e = r.expand { dH = TrainableConv.backward(e, dOut: dH, p, needInput: true)! }
                if r.residual { Elementwise.accumulate(dH, dOut) }
                carry = dH
            }
            guard let dc0 = carry else { return nil }
            return TrainableConv.backward(tape.conv0, dOut: dc0, p, needInput: needInput)
        }

        /// Style image [N, 3, H, W] → embedding [N, 100, 1, 1]: trunk → Conv_1 → global average
        /// pool → bottleneck.
        public static func forward(_ style: Tensor, _ p: ParameterSource,
                                   architecture arch: PredictorArchitecture = .standard) -> (embedding: Tensor, tape: Tape) {
            let trunk = trunkForward(style, lastBlock: arch.blocks.count - 1, p, architecture: arch)
            let x = trunk.blocks.last!.output
            let last = TrainableConv.forward(x, PredictorArchitecture.lastConvName, arch.lastConvGeometry, .relu6, p)
            let pooled = GlobalAveragePool.forward(last.output)
            let bottleneck = PredictorArchitecture.bottleneckName
            let e = Linear.forward(pooled, weight: p.value("\(bottleneck).weight"), bias: p.value("\(bottleneck).bias"))
            return (e, Tape(trunk: trunk, last: last, pooled: pooled))
        }

        /// dEmbedding [N, 100, 1, 1] → parameter gradients (of the trainable ones).
        public static func backward(_ tape: Tape, dEmbedding: Tensor, _ p: ParameterSource) {
            let bottleneck = PredictorArchitecture.bottleneckName
            let dPooled = Tensor(tape.pooled.n, tape.pooled.c, 1, 1)
            let dW = p.gradient("\(bottleneck).weight") ?? Tensor(shape: p.value("\(bottleneck).weight").shape)
            Linear.backward(tape.pooled, weight: p.value("\(bottleneck).weight"), dy: dEmbedding,
                            dx: dPooled, dWeight: dW, dBias: p.gradient("\(bottleneck).bias"))
            // Only the bottleneck trains? Then stop here.
            if p.gradient("\(PredictorArchitecture.lastConvName).weight") == nil { return }
            let o = tape.last.output
            let dLast = Tensor(o.n, o.c, o.h, o.w)
            GlobalAveragePool.backward(dy: dPooled, dx: dLast)
            let dTrunk = TrainableConv.backward(tape.last, dOut: dLast, p, needInput: true)!
            _ = trunkBackward(tape.trunk, dBlock: [tape.trunk.blocks.count - 1: dTrunk], p, needInput: false)
        }
    }
}
