import Foundation
import PasticheCore

/// AdaIN's inference forward (naoto0804/pytorch-AdaIN `test.py`'s `style_transfer`): encode the
/// content, give its relu4_1 features the style's per-channel mean and std (`AdaIN`), mix with
/// the content features by α, decode. Each conv reads its input reflect-padded (and, in the
/// decoder, upsampled) through its column unfolding, as the transfer network's do.
public struct AdaINNetwork {
    public let weights: ModelWeights
    public let options: ExecutionOptions

    /// `weights` of an AdaIN model (`ModelWeights.isAdaIN`).
    public init(weights: ModelWeights, options: ExecutionOptions = .default) {
        precondition(weights.isAdaIN, "not an AdaIN model")
        self.weights = weights
        self.options = options
    }

    private func conv(_ x: Tensor, _ l: AdaINArchitecture.Layer, upsample: Int = 1) -> Tensor {
        Conv2D.forward(x, weight: weights[l.weightName], bias: weights[l.biasName], geometry: l.geometry,
                       input: ConvInput(upsample: upsample, reflect: true), activation: l.relu ? .relu : .none, options: options)
    }

    /// image [N, 3, H, W] in [0, 1] RGB → relu4_1 [N, 512, ⌈H/8⌉, ⌈W/8⌉]; `record` gets every
    /// encoder layer's output by name.
    public func encode(_ image: Tensor, record: ((String, Tensor) -> Void)? = nil) -> Tensor {
        var x = image
        for l in AdaINArchitecture.encoder {
            if l.resampleBefore { x = MaxPool2x2.forwardCeil(x) }
            x = conv(x, l)
            record?(l.name, x)
        }
        return x
    }

    /// relu4_1-shaped features → image [N, 3, 8·h, 8·w] (not clamped, as the authors' decoder).
    public func decode(_ features: Tensor) -> Tensor {
        var x = features
        for l in AdaINArchitecture.decoder { x = conv(x, l, upsample: l.resampleBefore ? 2 : 1) }
        return x
    }

    /// A style: the mean and std of the image's relu4_1 features, [N, 512, 1, 1] each.
    public func style(_ image: Tensor) -> (mean: Tensor, std: Tensor) { ChannelMoments.forward(encode(image)) }

    /// A style per region: `weights` [K, 1, H, W] at the content's size (summing to 1 per
    /// pixel) are area-averaged to relu4_1's cells (8×8 windows, the last ones cut short as the
    /// ceil-mode pools cut them), and each region is given its style with its own statistics
    /// (`AdaIN.forward(_:regionWeights:…)`); a nil style keeps the photo's features there.
    public func stylize(_ content: Tensor, regionStyles: [(mean: Tensor, std: Tensor)?], weights: Tensor) -> Tensor {
        precondition(weights.n == regionStyles.count && weights.h == content.h && weights.w == content.w, "one weight plane per region")
        let f = encode(content)
        let cells = Tensor(weights.n, 1, f.h, f.w)
        for r in 0..<weights.n {
            let src = weights.pointer + r * weights.plane, dst = cells.pointer + r * cells.plane
            for cy in 0..<f.h {
                for cx in 0..<f.w {
                    let y0 = cy * 8, x0 = cx * 8, y1 = min(y0 + 8, content.h), x1 = min(x0 + 8, content.w)
                    var sum: Float = 0
                    for y in y0..<y1 { for x in x0..<x1 { sum += src[y * content.w + x] } }
                    dst[cy * f.w + cx] = sum / Float((y1 - y0) * (x1 - x0))
                }
            }
        }
        let t = AdaIN.forward(f, regionWeights: cells, styleMean: regionStyles.map { $0?.mean }, styleStd: regionStyles.map { $0?.std })
        return crop(decode(t), to: content)
    }

    private func crop(_ y: Tensor, to content: Tensor) -> Tensor {
        if y.h == content.h && y.w == content.w { return y }
        let out = Tensor(y.n, y.c, content.h, content.w, zeroed: false)
        for j in 0..<(y.n * y.c) {
            for r in 0..<content.h {
                (out.pointer + j * out.plane + r * content.w).update(from: y.pointer + j * y.plane + r * y.w, count: content.w)
            }
        }
        return out
    }

    /// The stylized content: decode(α · AdaIN(f_c, style) + (1 − α) · f_c), cropped to the
    /// content's size (the decoder gives back a multiple of 8).
    public func stylize(_ content: Tensor, styleMean: Tensor, styleStd: Tensor, alpha: Float = 1) -> Tensor {
        let f = encode(content)
        let t = AdaIN.forward(f, styleMean: styleMean, styleStd: styleStd)
        if alpha < 1 {
            for i in 0..<t.count { t.data[i] = alpha * t.data[i] + (1 - alpha) * f.data[i] }
        }
        return crop(decode(t), to: content)
    }
}
