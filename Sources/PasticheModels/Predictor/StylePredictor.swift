import PasticheCore

/// Style image [N, 3, H, W] in [0, 1] → embedding [N, 100, 1, 1].
/// MobileNetV2 with ReLU6 everywhere but the linear projections (batch norm is folded into the
/// conv biases), global average pool, then the 1×1 bottleneck conv. The width multiplier comes
/// from the weights (`ModelWeights.predictorArchitecture`).
///
/// This is the fused inference forward: conv0 runs inside block 0, each block is one banded op,
/// Conv_1 and the pool are one op. `StylePredictor.Training` (StylePredictor+Training.swift) is
/// the same network, layer by layer with a tape for backward; AgreementTests pins the two together.
public struct StylePredictor {
    public let weights: ModelWeights
    public let options: ExecutionOptions
    public var architecture: PredictorArchitecture { weights.predictorArchitecture }
    /// Each block's weights, looked up once: they also hold the GEMM kernel's packed copies.
    private let blocks: [InvertedResidual.Weights]
    private let lastConv: PackedRows

    public init(weights: ModelWeights, options: ExecutionOptions = .default) {
        self.weights = weights
        self.options = options
        let arch = weights.predictorArchitecture
        blocks = arch.blocks.map { b in
            func pair(_ conv: PredictorArchitecture.Block.Conv) -> (weight: Tensor, bias: Tensor) {
                (weights["\(b.name(conv)).weight"], weights["\(b.name(conv)).bias"])
            }
            return InvertedResidual.Weights(expand: b.hasExpand ? pair(.expand) : nil, depthwise: pair(.depthwise),
                                            project: pair(.project))
        }
        lastConv = PackedRows(weights["\(PredictorArchitecture.lastConvName).weight"], columns: arch.lastConvGeometry.inChannels)
    }

    public func callAsFunction(_ image: Tensor) -> Tensor {
        precondition(image.c == 3, "style image must have 3 channels")
        let arch = architecture
        let conv0 = arch.conv0Geometry(h: image.h, w: image.w)
        let weight0 = weights["\(PredictorArchitecture.conv0Name).weight"]
        let bias0 = weights["\(PredictorArchitecture.conv0Name).bias"]
        var x = image, rest = Array(zip(arch.blocks, blocks))[...]
        if let (b, w) = rest.first, w.expand == nil, !b.hasResidual {
            // conv0 computed band by band inside the first block (no expand layer): its output
            // never leaves the cores' caches.
            let size = conv0.outputSize(h: image.h, w: image.w)
            x = InvertedResidual.forward(image, weights: w, stride: b.stride,
                                         padding: b.depthwiseGeometry(h: size.h, w: size.w).padding,
                                         shortcut: false,
                                         stem: InvertedResidual.Stem(weight: weight0, bias: bias0, geometry: conv0),
                                         options: options)
            rest = rest.dropFirst()
        } else {
            x = Conv2D.forward(image, weight: weight0, bias: bias0, geometry: conv0, activation: .relu6, options: options)
        }
        for (b, w) in rest {
            x = InvertedResidual.forward(x, weights: w, stride: b.stride,
                                         padding: b.depthwiseGeometry(h: x.h, w: x.w).padding,
                                         shortcut: b.hasResidual, options: options)
        }
        let pooled = PooledPointwise.forward(x, weight: lastConv, bias: weights["\(PredictorArchitecture.lastConvName).bias"],
                                             activation: .relu6, options: options)
        return Linear.forward(pooled, weight: weights["\(PredictorArchitecture.bottleneckName).weight"],
                              bias: weights["\(PredictorArchitecture.bottleneckName).bias"])
    }

    /// Multiply-adds ×2 for one image of size h×w (Magenta's width-1.0 predictor).
    public static func flops(h: Int, w: Int) -> Double { PredictorArchitecture.standard.flops(h: h, w: w) }
}
