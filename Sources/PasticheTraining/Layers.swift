import CBLAS
import Foundation
import PasticheCore
import PasticheModels

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

/// TF "SAME" padding (as PasticheModels' predictor): out = ceil(in / stride), an odd total pad
/// puts the extra pixel at the bottom/right.
func samePadding(h: Int, w: Int, kernel: Int, stride: Int) -> Padding {
    func axis(_ size: Int) -> (Int, Int) {
        let out = (size + stride - 1) / stride
        let total = max(0, (out - 1) * stride + kernel - size)
        return (total / 2, total - total / 2)
    }
    let (t, b) = axis(h), (l, r) = axis(w)
    return Padding(top: t, left: l, bottom: b, right: r)
}

/// One convolution (+ activation) as the trainable networks run it, with what backward needs.
struct ConvRecord {
    let name: String
    let geometry: ConvGeometry
    let activation: Activation
    let input: Tensor
    /// Post-activation output (activations run in place; their backward reads the output).
    let output: Tensor
}

enum Layers {
    /// y = act(conv(x)); records input and output.
    static func conv(_ x: Tensor, _ name: String, _ g: ConvGeometry, _ act: Activation,
                     _ p: ParameterSource) -> ConvRecord {
        let y = Conv2D.forward(x, weight: p.value("\(name).weight"), bias: p.value("\(name).bias"), geometry: g,
                               activation: act)
        return ConvRecord(name: name, geometry: g, activation: act, input: x, output: y)
    }

    /// Backward of `conv`: `dOut` is the gradient w.r.t. the post-activation output. Parameter
    /// gradients accumulate into the source's gradients when trainable. Returns dx (new
    /// tensor) when `needInput`.
    static func convBackward(_ r: ConvRecord, dOut: Tensor, _ p: ParameterSource, needInput: Bool) -> Tensor? {
        let dPre: Tensor
        if r.activation == .none {
            dPre = dOut
        } else {
            dPre = r.activation.gradient(output: r.output, dy: dOut)
        }
        let dx = needInput ? Tensor(r.input.n, r.input.c, r.input.h, r.input.w) : nil
        if let dW = p.gradient("\(r.name).weight") {
            Conv2D.backward(r.input, weight: p.value("\(r.name).weight"), geometry: r.geometry, dy: dPre,
                            dx: dx, dWeight: dW, dBias: p.gradient("\(r.name).bias"))
        } else if let dx {
            Conv2D.inputGradient(r.input, weight: p.value("\(r.name).weight"), geometry: r.geometry, dy: dPre, dx: dx)
        }
        return dx
    }
}

/// MobileNetV2 (the predictor's trunk) with a tape for backward. Used twice: as the trainable
/// style predictor and, with frozen pretrained weights, as the loss network.
struct MobileNetTrunk {
    struct BlockRecord {
        let input: Tensor
        let expand: ConvRecord?
        let depthwise: ConvRecord
        let project: ConvRecord
        let residual: Bool
        var output: Tensor { project.output }
    }
    struct Tape {
        var conv0: ConvRecord
        var blocks: [BlockRecord]
    }

    /// Runs conv0 and blocks 0...lastBlock. The output of block b is `tape.blocks[b].output`.
    static func forward(_ image: Tensor, lastBlock: Int, _ p: ParameterSource,
                        architecture arch: PredictorArchitecture = .standard) -> Tape {
        func geom(_ x: Tensor, _ cin: Int, _ cout: Int, _ k: Int, _ s: Int, groups: Int = 1) -> ConvGeometry {
            ConvGeometry(inChannels: cin, outChannels: cout, kernel: k, stride: s,
                         padding: samePadding(h: x.h, w: x.w, kernel: k, stride: s), groups: groups)
        }
        let c0 = Layers.conv(image, "predictor.conv0", geom(image, 3, arch.firstChannels, 3, 2), .relu6, p)
        var x = c0.output
        var blocks: [BlockRecord] = []
        for b in arch.blocks.prefix(lastBlock + 1) {
            let name = "predictor.block.\(b.index)"
            var h = x
            var e: ConvRecord?
            if b.hasExpand {
                e = Layers.conv(h, "\(name).expand", geom(h, b.inChannels, b.hidden, 1, 1), .relu6, p)
                h = e!.output
            }
            let d = Layers.conv(h, "\(name).depthwise", geom(h, b.hidden, b.hidden, 3, b.stride, groups: b.hidden), .relu6, p)
            let pr = Layers.conv(d.output, "\(name).project", geom(d.output, b.hidden, b.outChannels, 1, 1), .none, p)
            // The shortcut add goes into the project output; its backward is the identity, so
            // keeping only the sum is enough (project has no activation to read back).
            if b.hasResidual { Elementwise.addInPlace(pr.output, x) }
            blocks.append(BlockRecord(input: x, expand: e, depthwise: d, project: pr, residual: b.hasResidual))
            x = pr.output
        }
        return Tape(conv0: c0, blocks: blocks)
    }

    /// Backward from gradients at block outputs (`dBlock[b]`, any subset; they are consumed and
    /// may be modified). Returns the gradient w.r.t. the image when `needInput`.
    static func backward(_ tape: Tape, dBlock: [Int: Tensor], _ p: ParameterSource, needInput: Bool) -> Tensor? {
        var carry: Tensor? = nil    // gradient flowing into the output of the current block
        for b in tape.blocks.indices.reversed() {
            if let extra = dBlock[b] {
                if let c = carry { Elementwise.accumulate(c, extra) } else { carry = extra.copy() }
            }
            guard let dOut = carry else { continue }
            let r = tape.blocks[b]
            let dD = Layers.convBackward(r.project, dOut: dOut, p, needInput: true)!
            var dH = Layers.convBackward(r.depthwise, dOut: dD, p, needInput: true)!
            if let e = r.expand { dH = Layers.convBackward(e, dOut: dH, p, needInput: true)! }
            if r.residual { Elementwise.accumulate(dH, dOut) }
            carry = dH
        }
        guard let dc0 = carry else { return nil }
        return Layers.convBackward(tape.conv0, dOut: dc0, p, needInput: needInput)
    }
}

/// The trainable style predictor: trunk → conv_last → global average pool → bottleneck.
struct PredictorNet {
    struct Tape {
        var trunk: MobileNetTrunk.Tape
        var last: ConvRecord
        var pooled: Tensor
    }

    static func forward(_ style: Tensor, _ p: ParameterSource,
                        architecture arch: PredictorArchitecture = .standard) -> (embedding: Tensor, tape: Tape) {
        let trunk = MobileNetTrunk.forward(style, lastBlock: arch.blocks.count - 1, p, architecture: arch)
        let x = trunk.blocks.last!.output
        let g = ConvGeometry(inChannels: x.c, outChannels: arch.lastChannels, kernel: 1, stride: 1)
        let last = Layers.conv(x, "predictor.conv_last", g, .relu6, p)
        let pooled = GlobalAveragePool.forward(last.output)
        let e = Linear.forward(pooled, weight: p.value("predictor.bottleneck.weight"), bias: p.value("predictor.bottleneck.bias"))
        return (e, Tape(trunk: trunk, last: last, pooled: pooled))
    }

    /// dEmbedding [N, 100] → parameter gradients (trainable ones).
    static func backward(_ tape: Tape, dEmbedding: Tensor, _ p: ParameterSource) {
        let dPooled = Tensor(tape.pooled.n, tape.pooled.c, 1, 1)
        let dW = p.gradient("predictor.bottleneck.weight") ?? Tensor(shape: p.value("predictor.bottleneck.weight").shape)
        Linear.backward(tape.pooled, weight: p.value("predictor.bottleneck.weight"), dy: dEmbedding,
                        dx: dPooled, dWeight: dW, dBias: p.gradient("predictor.bottleneck.bias"))
        // Only the bottleneck trains? Then stop here.
        if p.gradient("predictor.conv_last.weight") == nil { return }
        let o = tape.last.output
        let dLast = Tensor(o.n, o.c, o.h, o.w)
        GlobalAveragePool.backward(dy: dPooled, dx: dLast)
        let dTrunk = Layers.convBackward(tape.last, dOut: dLast, p, needInput: true)!
        _ = MobileNetTrunk.backward(tape.trunk, dBlock: [tape.trunk.blocks.count - 1: dTrunk], p, needInput: false)
    }
}
