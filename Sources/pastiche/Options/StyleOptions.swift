import ArgumentParser
import PasticheImage
import PasticheLibrary
import PasticheModels

/// How `stylize` and `video` name their styles: one image, one library name, or a list to blend
/// (`--weights`) or to place by `--masks`; none for a per-style model's own style. Parsed by `StyleArguments`, as `blend` and the
/// studio parse theirs, and resolved by `StyleResolver`'s one rule.
struct StyleOptions: ParsableArguments {
    @Option(name: .customLong("style-image"), help: "The painting or texture whose style to apply.")
    var styleImage: String?
    @Option(help: "A style from the library, by name.") var style: String?
    @Option(help: "Comma-separated style names or image files (a library name wins over a file): blended by --weights, or one per --masks region.")
    var styles: String?
    @Option(parsing: .unconditional, help: "Comma-separated blend weights, one per --styles item (normalised to sum 1; default equal).")
    var weights: String?

    /// The styles as given, exactly one way.
    var specs: [StyleSpec] {
        get throws {
            do { return try StyleArguments.specs(styleImage: styleImage, style: style, styles: styles) } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    /// The blend weights, checked against the style count (nil: equal).
    var blendWeights: BlendWeights? {
        get throws {
            guard let weights else { return nil }
            guard styles != nil else { throw ValidationError("--weights goes with --styles") }
            return try parseWeights(weights, count: try specs.count)
        }
    }

    /// Style arguments that may be files the command reads (so no output may replace them).
    var files: [String] { (try? specs)?.filter(\.mayBeFile).map(\.text) ?? [] }

    /// The painting request of a command with these styles and the shared painting flags.
    func request(strength: Float, preserveColor: Bool, strokes: StrokeOptions, masks: MaskOptions) throws -> PaintingRequest {
        PaintingRequest(styles: try specs,
                        options: paintingOptions(weights: try blendWeights, strength: strength, preserveColor: preserveColor,
                                                 strokes: strokes, masks: masks, maskImages: try masks.load()))
    }

    func validate(masks: MaskOptions) throws {
        _ = try blendWeights
        try masks.validate(styleCount: max(1, try specs.count))  // none: the model's own style
        try refuseWeightsWithMasks(weights, masks)
    }
}

/// `--weights` and `--masks` both set the mix (blend, stylize, video): only one may be given.
func refuseWeightsWithMasks(_ weights: String?, _ masks: MaskOptions) throws {
    if masks.isEnabled && weights != nil {
        throw ValidationError("--weights and --masks both set the mix; give one (the masks set it per pixel)")
    }
}

/// The one reading of `--weights` (blend, stylize, video): parsed, counted and normalised together.
func parseWeights(_ text: String?, count: Int) throws -> BlendWeights {
    do { return try BlendWeights(parsing: text, count: count) } catch {
        throw ValidationError(text == nil ? "\(error)" : "--weights: \(error)")
    }
}

/// The painting flags every painting command shares, as one `PaintingOptions`.
func paintingOptions(weights: BlendWeights?, strength: Float, preserveColor: Bool, strokes: StrokeOptions,
                     masks: MaskOptions? = nil, maskImages: [RGBImage] = []) -> PaintingOptions {
    var options = PaintingOptions()
    options.weights = weights
    options.strength = strength
    options.preserveColor = preserveColor
    options.strokeScale = strokes.strokeScale
    if let masks, masks.isEnabled {
        options.masks = maskImages
        options.feather = masks.feather
        options.invertMask = masks.invertMask
    }
    return options
}
