import Foundation
import PasticheImage

/// How to paint, apart from which styles: the same value for every command, the studio and
/// video frames, so that each of them paints a photo the same way.
public struct PaintingOptions: Sendable {
    /// Blend weights, one per style (nil: equal). Without masks the painting uses Σ wᵢ·eᵢ.
    public var weights: BlendWeights?
    /// s·style + (1 − s)·photo (`EmbeddingMath.withStrength`); with masks it scales the
    /// styles' share of every pixel (`StyleMasks.Options.strength`).
    public var strength: Float = 1
    /// Spatial control: one mask per style (any size; resized to each photo), or none.
    public var masks: [RGBImage] = []
    /// Mask edge blur in pixels of the photo (`StyleMasks.Options.feather`).
    public var feather: Double = 0
    /// One mask only: style where it is black instead.
    public var invertMask = false
    /// Keep the photo's chroma; take only the painting's luminance (YCbCr).
    public var preserveColor = false
    /// The network's working resolution (`StrokeScale`).
    public var strokeScale: StrokeScale = .standard

    public init() {}

    /// The checks every caller needs, whatever its flags or fields are called.
    public func validate(styleCount: Int) throws {
        guard styleCount > 0 else { throw ModelError("no style given") }
        guard strength.isFinite, (0...1).contains(strength) else { throw ModelError("strength must be in [0, 1], got \(strength)") }
        if let weights, weights.normalized.count != styleCount {
            throw ModelError("\(styleCount) style\(styleCount == 1 ? "" : "s") but \(weights.normalized.count) weight\(weights.normalized.count == 1 ? "" : "s")")
        }
        guard feather.isFinite, (0...1000).contains(feather) else { throw ModelError("feather must be from 0 to 1000 pixels, got \(feather)") }
        guard !masks.isEmpty else {
            if invertMask || feather > 0 { throw ModelError("invert and feather shape masks; none given") }
            return
        }
        if weights != nil { throw ModelError("weights and masks both set the mix; give one (the masks set it per pixel)") }
        if masks.count != styleCount {
            throw ModelError("\(masks.count) mask\(masks.count == 1 ? "" : "s") for \(styleCount) style\(styleCount == 1 ? "" : "s"); give one per style")
        }
        if invertMask && masks.count != 1 { throw ModelError("invert takes one mask; with several, paint the inverse") }
    }
}

/// A checked, resolved painting: the styles' embeddings with the options. `paint` is the one
/// place a photo becomes a painting: the commands, the studio and every video frame call it.
public struct Painting: Sendable {
    public struct Style: Sendable, Equatable {
        /// The library name, or the name an image file would get (`StyleLibrary.defaultName`).
        public let name: String
        public let embedding: Embedding
        public init(name: String, embedding: Embedding) {
            self.name = name
            self.embedding = embedding
        }
    }

    public let styles: [Style]
    public let options: PaintingOptions
    /// The blend weights, normalised to sum 1 (equal when none were given).
    public let weights: [Float]
    /// What every pixel is painted with when there are no masks: Σ wᵢ·eᵢ (one style: its own
    /// embedding bit for bit).
    public let embedding: Embedding

    public init(styles: [Style], options: PaintingOptions) throws {
        try options.validate(styleCount: styles.count)
        guard let size = styles.first?.embedding.count, styles.allSatisfy({ $0.embedding.count == size }),
              [PredictorArchitecture.embeddingSize, AdaINArchitecture.styleSize].contains(size) else {
            throw ModelError("the styles' embeddings must all have \(PredictorArchitecture.embeddingSize) values (Ghiasi) or all \(AdaINArchitecture.styleSize) (AdaIN)")
        }
        let weights = try options.weights ?? BlendWeights([Float](repeating: 1, count: styles.count))
        self.styles = styles
        self.options = options
        self.weights = weights.normalized
        embedding = try EmbeddingMath.blend(styles.map(\.embedding), weights: weights)
    }

    private init(styles: [Style], options: PaintingOptions, weights: [Float], embedding: Embedding) {
        self.styles = styles
        self.options = options
        self.weights = weights
        self.embedding = embedding
    }

    /// The same painting with another embedding everywhere (interpolation's frames).
    public func with(embedding: Embedding) -> Painting {
        var options = options
        options.masks = []
        return Painting(styles: styles, options: options, weights: weights, embedding: embedding)
    }

    public var hasMasks: Bool { !options.masks.isEmpty }

    /// The per-pixel weights at a photo's size (nil without masks). `featherScale`: photo
    /// pixels per pixel of `width` (a preview of a larger photo blurs its edges as the full
    /// render does).
    public func masks(width: Int, height: Int, featherScale: Double = 1) throws -> StyleMasks? {
        guard hasMasks else { return nil }
        var m = StyleMasks.Options()
        m.strength = options.strength
        m.invert = options.invertMask
        m.feather = options.feather * featherScale
        return try StyleMasks(masks: options.masks, width: width, height: height, options: m)
    }

    /// Paints `content`. `masks`: weights already made at its size (video makes them once per
    /// clip; nil: made here when the painting has masks). `ownEmbedding`: the photo's own
    /// embedding when a caller keeps it (the studio's cache, video's carried one), computed
    /// only when strength or an uncovered mask needs it. `progress`, `moments` and `phase` as
    /// for `Stylizer.stylize`.
    public func paint(_ content: RGBImage, with stylizer: Stylizer, masks: StyleMasks? = nil,
                      ownEmbedding: (() throws -> Embedding)? = nil, progress: ((Double) -> Void)? = nil,
                      moments: TransferNetwork.LayerMoments? = nil, phase: (x: Int, y: Int)? = nil) throws -> RGBImage {
        let own = ownEmbedding ?? { stylizer.embedding(style: content) }
        if embedding.count != stylizer.embeddingSize {
            throw ModelError("'\(styles[0].name)' is a style of \(embedding.count) values, and this model paints styles of \(stylizer.embeddingSize) (\(stylizer.isAdaIN ? "AdaIN" : "Ghiasi et al."))")
        }
        var result: RGBImage
        if let masks = try masks ?? self.masks(width: content.width, height: content.height) {
            result = stylizer.stylize(content, styles: styles.map(\.embedding), masks: masks,
                                      ownEmbedding: masks.usesOwnEmbedding ? try own() : nil, strokeScale: options.strokeScale,
                                      progress: progress, moments: moments, phase: phase)
        } else {
            if stylizer.isAdaIN {
                // AdaIN's strength is its α, applied to the features (Huang & Belongie, eq. 14).
                result = stylizer.stylize(content, embedding: embedding, strokeScale: options.strokeScale, progress: progress,
                                          alpha: options.strength)
            } else {
                let e = options.strength < 1 ? EmbeddingMath.withStrength(embedding, strength: options.strength, own: try own()) : embedding
                result = stylizer.stylize(content, embedding: e, strokeScale: options.strokeScale, progress: progress,
                                          moments: moments, phase: phase)
            }
        }
        if options.preserveColor { result = content.withLuminance(of: result) }
        return result
    }
}
