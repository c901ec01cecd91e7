import PasticheCore

/// Content image [N, 3, H, W] in [0, 1] and embedding [N, 100, 1, 1] → stylized image
/// [N, 3, H, W] in [0, 1]. Fully convolutional: any H, W (reflect-padded to a multiple of 4
/// and cropped back, since two stride-2 convs and two ×2 upsamplings must line up).
public struct TransferNetwork {
    public let weights: ModelWeights

    public init(weights: ModelWeights) { self.weights = weights }

    /// The conditional instance norm parameters of every normalised layer, for one embedding
    /// batch: gamma[name], beta[name], each [N, C, 1, 1].
    public struct StyleParameters {
        public var gamma: [String: Tensor] = [:]
        public var beta: [String: Tensor] = [:]
    }

    public func styleParameters(_ embedding: Tensor) -> StyleParameters {
        var p = StyleParameters()
        for l in TransferArchitecture.layers where l.normalized {
            p.gamma[l.name] = Linear.forward(embedding, weight: weights["\(l.name).norm.gamma.weight"],
                                             bias: weights["\(l.name).norm.gamma.bias"])
            p.beta[l.name] = Linear.forward(embedding, weight: weights["\(l.name).norm.beta.weight"],
                                            bias: weights["\(l.name).norm.beta.bias"])
        }
        return p
    }

    public func callAsFunction(_ content: Tensor, embedding: Tensor) -> Tensor {
        precondition(embedding.n == content.n, "one embedding per content image")
        return run(content, style: styleParameters(embedding))
    }

    public func run(_ content: Tensor, style: StyleParameters) -> Tensor {
        precondition(content.c == 3, "content image must have 3 channels")
        let m = TransferArchitecture.sizeMultiple
        let padH = (m - content.h % m) % m, padW = (m - content.w % m) % m
        let input = padH + padW > 0
            ? ReflectPad.forward(content, Padding(top: 0, left: 0, bottom: padH, right: padW)) : content

        var x = input
        for l in TransferArchitecture.contract {
            x = conv(x, l)
            Activation.relu.forward(x)
        }
        for r in 1...TransferArchitecture.residualBlocks {
            let c1 = TransferArchitecture.residual[2 * (r - 1)], c2 = TransferArchitecture.residual[2 * (r - 1) + 1]
            let h = conv(x, c1)
            InstanceNorm.forward(h, gamma: style.gamma[c1.name]!, beta: style.beta[c1.name]!, activation: .relu)
            let y = conv(h, c2)
            // No activation after the shortcut add (Magenta's residual_block).
            InstanceNorm.forward(y, gamma: style.gamma[c2.name]!, beta: style.beta[c2.name]!, residual: x)
            x = y
        }
        for (i, l) in TransferArchitecture.expand.enumerated() {
            // conv1 and conv2 read a nearest ×2 upsampling of their input (Magenta's upsampling).
            x = conv(x, l, upsample: i < 2 ? 2 : 1)
            InstanceNorm.forward(x, gamma: style.gamma[l.name]!, beta: style.beta[l.name]!,
                                 activation: i < 2 ? .relu : .sigmoid)
        }
        if padH + padW == 0 { return x }
        return crop(x, h: content.h, w: content.w)
    }

    /// Reflect pad by k/2 then a valid convolution (Magenta's `conv2d` with MirrorPad).
    /// Reflect pad by k/2 then a valid convolution (Magenta's `conv2d` with MirrorPad); the
    /// padding and any upsampling are folded into the conv's column unfolding, not copied.
    private func conv(_ x: Tensor, _ l: TransferArchitecture.Layer, upsample: Int = 1) -> Tensor {
        let g = ConvGeometry(inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel,
                             stride: l.stride, padding: .same(l.kernel / 2))
        return Conv2D.forward(x, weight: weights["\(l.name).weight"], bias: weights["\(l.name).bias"], geometry: g,
                              input: ConvInput(upsample: upsample, reflect: true))
    }

    private func crop(_ x: Tensor, h: Int, w: Int) -> Tensor {
        let y = Tensor(x.n, x.c, h, w, zeroed: false)
        for j in 0..<(x.n * x.c) {
            for r in 0..<h {
                (y.pointer + j * h * w + r * w).update(from: x.pointer + j * x.plane + r * x.w, count: w)
            }
        }
        return y
    }

    /// Multiply-adds ×2 for one image of size h×w.
    public static func flops(h: Int, w: Int) -> Double {
        var total = 0.0
        var (hh, ww) = (h, w)
        for (i, l) in TransferArchitecture.layers.enumerated() {
            if i == 13 || i == 14 { hh *= 2; ww *= 2 }
            let g = ConvGeometry(inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel,
                                 stride: l.stride, padding: .same(l.kernel / 2))
            total += g.flops(h: hh, w: ww)
            (hh, ww) = g.outputSize(h: hh, w: ww)
        }
        return total
    }
}
