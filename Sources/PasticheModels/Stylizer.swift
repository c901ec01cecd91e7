import Foundation
import PasticheCore
import PasticheImage

/// The public face of the engine: style image → embedding, content + embedding → image.
/// The CLI and the style library call this; nothing here parses arguments or prints.
public final class Stylizer: @unchecked Sendable {
    public let weights: ModelWeights
    /// The networks that paint: Ghiasi et al.'s predictor and transfer network, or AdaIN's
    /// encoder and decoder.
    public enum Engine {
        case ghiasi(StylePredictor, TransferNetwork)
        case adain(AdaINNetwork)
    }
    public let engine: Engine
    public let options: ExecutionOptions

    /// `options`: how the networks split their work (`--tile` sets its band rows).
    public init(weights: ModelWeights, options: ExecutionOptions = .default) {
        self.weights = weights
        self.options = options
        engine = weights.isAdaIN
            ? .adain(AdaINNetwork(weights: weights, options: options))
            : .ghiasi(StylePredictor(weights: weights, options: options), TransferNetwork(weights: weights, options: options))
    }

    public convenience init(modelPath: String, options: ExecutionOptions = .default) throws {
        try self.init(weights: ModelWeights.load(path: modelPath), options: options)
    }

    /// The style predictor of a Ghiasi model (commands that need one refuse an AdaIN model first).
    public var predictor: StylePredictor {
        guard case .ghiasi(let predictor, _) = engine else { preconditionFailure("an AdaIN model has no style predictor") }
        return predictor
    }

    /// The transfer network of a Ghiasi model.
    public var transfer: TransferNetwork {
        guard case .ghiasi(_, let transfer) = engine else { preconditionFailure("an AdaIN model has no transfer network") }
        return transfer
    }

    public var isAdaIN: Bool { if case .adain = engine { return true } else { return false } }

    /// The length of this model's style embeddings (`ModelWeights.embeddingSize`).
    public var embeddingSize: Int { weights.embeddingSize }

    public var predictorID: String { weights.predictorID }

    /// The predictor's view of a style: shortest side to 256 (anti-aliased), centre crop 256×256.
    public static func styleInput(_ image: RGBImage) -> RGBImage {
        let s = PredictorArchitecture.inputSize
        return image.resizedShortestSide(to: s).centerCropped(width: s, height: s)
    }

    /// AdaIN's view of a style: the whole image, shortest side at 512 (naoto0804's `--style_size`).
    public static let adainStyleSide = 512

    /// The style's embedding: the predictor's 100 values, or AdaIN's relu4_1 mean and std (1024).
    public func embedding(style image: RGBImage) -> Embedding {
        switch engine {
        case .ghiasi(let predictor, _):
            return predictor(Self.styleInput(image).tensor).array
        case .adain(let network):
            let (mean, std) = network.style(image.resizedShortestSide(to: Self.adainStyleSide).tensor)
            return mean.array + std.array
        }
    }

    /// The embedding to stylize `content` with at `strength` (`EmbeddingMath.withStrength`):
    /// below 1 the content's own embedding is mixed in.
    public func embedding(style: Embedding, strength: Float, content: RGBImage) -> Embedding {
        if strength >= 1 { return style }
        return EmbeddingMath.withStrength(style, strength: strength, own: embedding(style: content))
    }

    /// Stylizes `content`, returning an image of its size. `strokeScale`: the resolution the
    /// network paints at (`StrokeScale`; `.native`, the default here, is the photo's own; the
    /// commands default to `.standard`). `progress` gets the fraction done after each layer of
    /// the transfer network (for long renders); `moments` replaces the statistics the norms use
    /// and `phase` offsets the sampling grid (video carries both across frames), both at the
    /// working size.
    /// `alpha`: AdaIN's content–style trade-off (its features α·AdaIN(f, s) + (1 − α)·f, as the
    /// authors mix them); a Ghiasi model takes strength through its embedding instead.
    public func stylize(_ content: RGBImage, embedding: Embedding, strokeScale: StrokeScale = .native,
                        progress: ((Double) -> Void)? = nil, moments: TransferNetwork.LayerMoments? = nil,
                        phase: (x: Int, y: Int)? = nil, alpha: Float = 1) -> RGBImage {
        precondition(embedding.count == embeddingSize, "embedding must have \(embeddingSize) values")
        if let size = strokeScale.workingSize(width: content.width, height: content.height) {
            let working = content.resized(width: size.width, height: size.height)
            let painted = stylize(working, embedding: embedding, progress: progress, moments: moments, phase: phase, alpha: alpha)
            return DetailTransfer.upsample(painted, working: working, photo: content)
        }
        if case .adain(let network) = engine {
            // `moments` and `phase` are the transfer network's (video); AdaIN has no such layers.
            let (mean, std) = Self.adainStatistics(embedding)
            let painted = Self.adainImage(network.stylize(content.tensor, styleMean: mean, styleStd: std, alpha: alpha))
            progress?(1)
            return painted
        }
        let e = Tensor(shape: [1, embedding.count, 1, 1], values: embedding)
        return RGBImage(tensor: transfer.run(content.tensor, style: transfer.styleParameters(e), progress: progress,
                                             moments: moments, phase: phase))
    }

    /// Stylizes `content` with a style per region (spatial control): `styles[k]` where
    /// `masks.planes[k]` weights it, the photo's own embedding where the last plane does
    /// (`ownEmbedding`, or the predictor on `content` when nil; only computed when that plane is
    /// non-zero somewhere). Each region is normalised with its own statistics, so it has its
    /// style at full strength. Planes that are zero everywhere are left out. Masks that do not vary
    /// over the photo are no spatial control: they run the plain network with the mixed
    /// embedding Σ w_k·e_k (`EmbeddingMath.weightedSum`), so a white
    /// mask is `stylize`, a grey one `--strength` and constant masks that blend, bit for bit.
    public func stylize(_ content: RGBImage, styles: [Embedding], masks: StyleMasks, ownEmbedding: Embedding? = nil,
                        strokeScale: StrokeScale = .native, progress: ((Double) -> Void)? = nil,
                        moments: TransferNetwork.LayerMoments? = nil, phase: (x: Int, y: Int)? = nil) -> RGBImage {
        precondition(masks.width == content.width && masks.height == content.height, "masks must be at the photo's size")
        precondition(styles.count == masks.styleCount, "one style per mask")
        precondition(styles.allSatisfy { $0.count == embeddingSize }, "embeddings must have \(embeddingSize) values")
        var own: Embedding?
        func embedding(ofPlane k: Int) -> Embedding {
            if k < styles.count { return styles[k] }
            if own == nil { own = ownEmbedding ?? self.embedding(style: content) }
            return own!
        }
        let planes = (0..<masks.planeCount).map { masks.plane($0) }
        if planes.allSatisfy({ plane in plane.allSatisfy { $0 == plane.first! } }) {
            let used = planes.indices.filter { planes[$0].first! != 0 }
            let mixed = EmbeddingMath.weightedSum(used.map { embedding(ofPlane: $0) }, weights: used.map { planes[$0].first! })
            return stylize(content, embedding: mixed, strokeScale: strokeScale, progress: progress, moments: moments,
                           phase: phase)
        }
        if let size = strokeScale.workingSize(width: content.width, height: content.height) {
            // The photo's own embedding from the full photo, as the plain path takes it.
            let working = content.resized(width: size.width, height: size.height)
            let painted = stylize(working, styles: styles, masks: masks.resized(width: size.width, height: size.height),
                                  ownEmbedding: masks.usesOwnEmbedding ? embedding(ofPlane: styles.count) : nil,
                                  progress: progress, moments: moments, phase: phase)
            return DetailTransfer.upsample(painted, working: working, photo: content)
        }
        let used = planes.indices.filter { planes[$0].contains { $0 != 0 } }
        if case .adain(let network) = engine {
            // Each region with its own statistics; the photo's own plane keeps its features.
            let n = content.width * content.height
            let weights = Tensor(shape: [used.count, 1, content.height, content.width], zeroed: false)
            for (r, k) in used.enumerated() {
                planes[k].withUnsafeBufferPointer { (weights.pointer + r * n).update(from: $0.baseAddress!, count: n) }
            }
            let regions: [(mean: Tensor, std: Tensor)?] = used.map { k in
                k < styles.count ? Self.adainStatistics(styles[k]) : nil
            }
            let painted = Self.adainImage(network.stylize(content.tensor, regionStyles: regions, weights: weights))
            progress?(1)
            return painted
        }
        let embeddings = used.map { embedding(ofPlane: $0) }
        let n = content.width * content.height
        let weights = Tensor(shape: [used.count, 1, content.height, content.width], zeroed: false)
        for (r, k) in used.enumerated() {
            planes[k].withUnsafeBufferPointer { (weights.pointer + r * n).update(from: $0.baseAddress!, count: n) }
        }
        let e = Tensor(shape: [embeddings.count, PredictorArchitecture.embeddingSize, 1, 1], values: embeddings.flatMap { $0 })
        let regions = TransferNetwork.RegionStyles(style: transfer.styleParameters(e), weights: weights)
        return RGBImage(tensor: transfer.run(content.tensor, regions: regions, progress: progress, moments: moments,
                                             phase: phase))
    }
}

extension Stylizer {
    /// An AdaIN embedding as the relu4_1 mean and std it holds, each [1, 512, 1, 1].
    static func adainStatistics(_ embedding: Embedding) -> (mean: Tensor, std: Tensor) {
        let half = AdaINArchitecture.featureChannels
        return (Tensor(shape: [1, half, 1, 1], values: Array(embedding[0..<half])),
                Tensor(shape: [1, half, 1, 1], values: Array(embedding[half...])))
    }

    /// The decoder's output as an image: it has no output activation, so it is clamped to
    /// [0, 1] as the authors' save_image does.
    static func adainImage(_ y: Tensor) -> RGBImage {
        for i in 0..<y.count { y.data[i] = min(max(y.data[i], 0), 1) }
        return RGBImage(tensor: y)
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
