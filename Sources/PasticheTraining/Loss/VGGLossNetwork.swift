import Foundation
import PasticheCore
import PasticheModels

/// How RGB images in [0, 1] are mapped to VGG's input: x' = scale[c] · x + shift[c], an affine
/// map per channel (so its backward is dx = scale[c] · dx').
public enum VGGNormalization: String, Codable, CaseIterable, Sendable {
    /// (x − [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]: ImageNet statistics, what the ONNX
    /// model zoo's and torchvision's VGG-16 were trained on.
    case imagenet
    /// x · 255 − [123.68, 116.779, 103.939]: TF-slim's VGG-16 as Magenta feeds it
    /// (magenta/models/image_stylization/vgg.py, `vgg_16`).
    case magenta

    /// Per-channel (R, G, B) scale and shift of x' = scale · x + shift.
    public var affine: (scale: [Float], shift: [Float]) {
        switch self {
        case .imagenet:
            let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
            return ((0..<3).map { 1 / std[$0] }, (0..<3).map { -mean[$0] / std[$0] })
        case .magenta:
            return ([255, 255, 255], [-123.68, -116.779, -103.939])
        }
    }
}

/// A frozen VGG feature stack (conv1…convK of `VGGImport`) as the perceptual loss network,
/// with a tape for backward. Blocks are numbered from 1 like Magenta's `vgg_16/conv1`…: the
/// endpoint of block b is the ReLU output of its last conv, before the pool.
final class VGGLossNetwork {
    struct BlockRecord {
        /// The previous block's endpoint, which this block's pool read (nil for block 1).
        let poolInput: Tensor?
        let convs: [ConvRecord]
        /// The block's endpoint: [N, C_b, H / 2^(b−1), W / 2^(b−1)].
        var output: Tensor { convs.last!.output }
    }
    struct Tape {
        /// blocks[b − 1] is block b.
        var blocks: [BlockRecord]
        func output(block b: Int) -> Tensor { blocks[b - 1].output }
    }

    let features: VGGFeatures
    let normalization: VGGNormalization
    let pooling: VGGPooling
    let source: ParameterSource
    var blockCount: Int { features.blocks.count }

    init(features: VGGFeatures, normalization: VGGNormalization, pooling: VGGPooling) {
        self.features = features; self.normalization = normalization; self.pooling = pooling
        var frozen: [String: Tensor] = [:]
        for (b, block) in features.blocks.enumerated() {
            for (k, conv) in block.enumerated() {
                frozen["\(Self.convName(block: b + 1, conv: k + 1)).weight"] = conv.weight
                frozen["\(Self.convName(block: b + 1, conv: k + 1)).bias"] = conv.bias
            }
        }
        source = ParameterSource(trainable: nil, frozen: frozen)
    }

    /// Reads blocks 1...`blocks` of a VGG ONNX file.
    static func load(path: String, blocks: Int, normalization: VGGNormalization, pooling: VGGPooling) throws -> VGGLossNetwork {
        VGGLossNetwork(features: try VGGImport.load(path: path, blocks: blocks), normalization: normalization, pooling: pooling)
    }

    /// TF-slim's names: vgg_16/conv3/conv3_2 is "vgg.conv3_2".
    static func convName(block: Int, conv: Int) -> String { "vgg.conv\(block)_\(conv)" }

    /// Normalises `image` ([N, 3, H, W] RGB in [0, 1]) and runs blocks 1...lastBlock:
    /// per block [pool →] (3×3 conv, pad 1 → ReLU)×k.
    func forward(_ image: Tensor, lastBlock: Int) -> Tape {
        precondition(image.c == 3, "VGG loss network: image must be [N, 3, H, W]")
        precondition(lastBlock >= 1 && lastBlock <= blockCount, "VGG loss network: block \(lastBlock) not loaded")
        var x = normalized(image)
        var blocks: [BlockRecord] = []
        for (b, block) in features.blocks.prefix(lastBlock).enumerated() {
            var poolInput: Tensor? = nil
            if b > 0 {
                poolInput = x
                x = pooling == .max ? MaxPool2x2.forward(x) : AveragePool2x2.forward(x)
            }
            var convs: [ConvRecord] = []
            for (k, conv) in block.enumerated() {
                let g = ConvGeometry(inChannels: conv.shape.inChannels, outChannels: conv.shape.outChannels,
                                     kernel: 3, stride: 1, padding: .same(1))
                let r = TrainableConv.forward(x, Self.convName(block: b + 1, conv: k + 1), g, .relu, source)
                convs.append(r)
                x = r.output
            }
            blocks.append(BlockRecord(poolInput: poolInput, convs: convs))
        }
        return Tape(blocks: blocks)
    }

    /// x' = scale[c] · x + shift[c]
    func normalized(_ image: Tensor) -> Tensor {
        let (scale, shift) = normalization.affine
        let out = Tensor(image.n, image.c, image.h, image.w, zeroed: false)
        for i in 0..<image.n {
            for c in 0..<image.c {
                let src = image.plane(i, c), dst = out.plane(i, c)
                for k in 0..<image.plane { dst[k] = scale[c] * src[k] + shift[c] }
            }
        }
        return out
    }

    /// Gradient w.r.t. the image from gradients at block endpoints (`dBlock[b]`, any subset of
    /// the taped blocks; they are read, not modified). Weights are frozen: only input
    /// gradients are computed. Returns a new [N, 3, H, W] tensor.
    func backward(_ tape: Tape, dBlock: [Int: Tensor]) -> Tensor {
        precondition(dBlock.keys.contains { $0 >= 1 && $0 <= tape.blocks.count }, "VGG backward: no gradient at a taped block")
        var carry: Tensor? = nil    // gradient w.r.t. the endpoint of the current block
        for b in stride(from: tape.blocks.count, through: 1, by: -1) {
            if let extra = dBlock[b] {
                if let c = carry { Elementwise.accumulate(c, extra) } else { carry = extra.copy() }
            }
            guard var d = carry else { continue }
            let record = tape.blocks[b - 1]
            for conv in record.convs.reversed() {
                d = TrainableConv.backward(conv, dOut: d, source, needInput: true)!
            }
            // d is now the gradient w.r.t. the block input: the pool output (b > 1) or x'.
            if let poolInput = record.poolInput {
                let dPrev = Tensor(poolInput.n, poolInput.c, poolInput.h, poolInput.w)
                if pooling == .max {
                    MaxPool2x2.backward(poolInput, dy: d, dx: dPrev)
                } else {
                    AveragePool2x2.backward(dy: d, dx: dPrev)
                }
                carry = dPrev
            } else {
                carry = d
            }
        }
        let dNormalized = carry!
        // x' = scale · x + shift  ⇒  dx = scale · dx'
        let (scale, _) = normalization.affine
        let dImage = Tensor(dNormalized.n, dNormalized.c, dNormalized.h, dNormalized.w, zeroed: false)
        for i in 0..<dImage.n {
            for c in 0..<dImage.c {
                let src = dNormalized.plane(i, c), dst = dImage.plane(i, c)
                for k in 0..<dImage.plane { dst[k] = scale[c] * src[k] }
            }
        }
        return dImage
    }
}
