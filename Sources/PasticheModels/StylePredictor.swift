import PasticheCore

/// TF "SAME" padding for one spatial axis: out = ceil(in / stride); an odd total pad puts the
/// extra pixel at the end (ONNX pads [0, 0, 1, 1] on the stride-2 layers at 256²).
func samePadding(size: Int, kernel: Int, stride: Int) -> (Int, Int) {
    let out = (size + stride - 1) / stride
    let total = max(0, (out - 1) * stride + kernel - size)
    return (total / 2, total - total / 2)
}

func samePadding(h: Int, w: Int, kernel: Int, stride: Int) -> Padding {
    let (t, b) = samePadding(size: h, kernel: kernel, stride: stride)
    let (l, r) = samePadding(size: w, kernel: kernel, stride: stride)
    return Padding(top: t, left: l, bottom: b, right: r)
}

/// Style image [N, 3, H, W] in [0, 1] → embedding [N, 100, 1, 1].
/// MobileNetV2 with ReLU6 everywhere but the linear projections (batch norm is folded into the
/// conv biases), global average pool, then the 1×1 bottleneck conv. The width multiplier comes
/// from the weights (`ModelWeights.predictorArchitecture`).
public struct StylePredictor {
    public let weights: ModelWeights
    public var architecture: PredictorArchitecture { weights.predictorArchitecture }
    /// Each block's weights, looked up once: they also hold the GEMM kernel's packed copies.
    private let blocks: [InvertedResidual.Weights]
    private let lastConv: PackedRows

    public init(weights: ModelWeights) {
        self.weights = weights
        let arch = weights.predictorArchitecture
        blocks = arch.blocks.map { b in
            func pair(_ layer: String) -> (weight: Tensor, bias: Tensor) {
                (weights["predictor.block.\(b.index).\(layer).weight"], weights["predictor.block.\(b.index).\(layer).bias"])
            }
            return InvertedResidual.Weights(expand: b.hasExpand ? pair("expand") : nil, depthwise: pair("depthwise"),
                                            project: pair("project"))
        }
        lastConv = PackedRows(weights["predictor.conv_last.weight"], columns: arch.blocks.last!.outChannels)
    }

    public func callAsFunction(_ image: Tensor) -> Tensor {
        precondition(image.c == 3, "style image must have 3 channels")
        let arch = architecture
        let conv0 = ConvGeometry(inChannels: 3, outChannels: arch.firstChannels, kernel: 3, stride: 2,
                                 padding: samePadding(h: image.h, w: image.w, kernel: 3, stride: 2))
        let weight0 = weights["predictor.conv0.weight"], bias0 = weights["predictor.conv0.bias"]
        var x = image, rest = Array(zip(arch.blocks, blocks))[...]
        if let (b, w) = rest.first, w.expand == nil, !b.hasResidual {
            // conv0 computed band by band inside the first block (no expand layer): its output
            // never leaves the cores' caches.
            let size = conv0.outputSize(h: image.h, w: image.w)
            x = InvertedResidual.forward(image, weights: w, stride: b.stride,
                                         padding: samePadding(h: size.h, w: size.w, kernel: 3, stride: b.stride),
                                         shortcut: false,
                                         stem: InvertedResidual.Stem(weight: weight0, bias: bias0, geometry: conv0))
            rest = rest.dropFirst()
        } else {
            x = Conv2D.forward(image, weight: weight0, bias: bias0, geometry: conv0, activation: .relu6)
        }
        for (b, w) in rest {
            x = InvertedResidual.forward(x, weights: w, stride: b.stride,
                                         padding: samePadding(h: x.h, w: x.w, kernel: 3, stride: b.stride),
                                         shortcut: b.hasResidual)
        }
        let pooled = PooledPointwise.forward(x, weight: lastConv, bias: weights["predictor.conv_last.bias"],
                                             activation: .relu6)
        return Linear.forward(pooled, weight: weights["predictor.bottleneck.weight"],
                              bias: weights["predictor.bottleneck.bias"])
    }

    /// Multiply-adds ×2 for one image of size h×w (Magenta's width-1.0 predictor).
    public static func flops(h: Int, w: Int) -> Double { PredictorArchitecture.standard.flops(h: h, w: w) }
}
