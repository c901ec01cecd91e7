import Foundation
import PasticheCore
import PasticheImage

/// The public face of the engine: style image → embedding, content + embedding → image.
/// The CLI and the style library call this; nothing here parses arguments or prints.
public final class Stylizer: @unchecked Sendable {
    public let weights: ModelWeights
    public let predictor: StylePredictor
    public let transfer: TransferNetwork

    /// `options`: how both networks split their work (`--tile` sets its band rows).
    public init(weights: ModelWeights, options: ExecutionOptions = .default) {
        self.weights = weights
        predictor = StylePredictor(weights: weights, options: options)
        transfer = TransferNetwork(weights: weights, options: options)
    }

    public convenience init(modelPath: String, options: ExecutionOptions = .default) throws {
        try self.init(weights: ModelWeights.load(path: modelPath), options: options)
    }

    public var options: ExecutionOptions { predictor.options }

    public var predictorID: String { weights.predictorID }

    /// The predictor's view of a style: shortest side to 256 (anti-aliased), centre crop 256×256.
    public static func styleInput(_ image: RGBImage) -> RGBImage {
        let s = PredictorArchitecture.inputSize
        return image.resizedShortestSide(to: s).centerCropped(width: s, height: s)
    }

    public func embedding(style image: RGBImage) -> Embedding {
        predictor(Self.styleInput(image).tensor).array
    }

    /// The embedding to stylize `content` with at `strength` (`EmbeddingMath.withStrength`):
    /// below 1 the content's own embedding is mixed in.
    public func embedding(style: Embedding, strength: Float, content: RGBImage) -> Embedding {
        if strength >= 1 { return style }
        return EmbeddingMath.withStrength(style, strength: strength, own: embedding(style: content))
    }

    /// Stylizes `content` at its own resolution. `progress` gets the fraction done after each
    /// layer of the transfer network (for long renders); `moments` replaces the statistics the
    /// norms use and `phase` offsets the sampling grid (video carries both across frames).
    public func stylize(_ content: RGBImage, embedding: Embedding, progress: ((Double) -> Void)? = nil,
                        moments: TransferNetwork.LayerMoments? = nil, phase: (x: Int, y: Int)? = nil) -> RGBImage {
        precondition(embedding.count == PredictorArchitecture.embeddingSize, "embedding must have 100 values")
        let e = Tensor(shape: [1, embedding.count, 1, 1], values: embedding)
        return RGBImage(tensor: transfer.run(content.tensor, style: transfer.styleParameters(e), progress: progress,
                                             moments: moments, phase: phase))
    }
}

extension RGBImage {
    /// [1, 3, H, W]: RGBImage is planar, so this is one copy.
    public var tensor: Tensor {
        Tensor(shape: [1, 3, height, width], values: pixels)
    }

    /// From a [1, 3, H, W] tensor (image 0 of a batch).
    public init(tensor t: Tensor, index: Int = 0) {
        precondition(t.c == 3, "image tensors have 3 channels")
        let start = index * 3 * t.plane
        self.init(width: t.w, height: t.h, pixels: Array(t.data[start..<(start + 3 * t.plane)]))
    }
}
