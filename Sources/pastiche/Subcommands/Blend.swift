import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

struct BlendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blend",
        abstract: "Stylize photos with a weighted mix of styles.",
        discussion: """
            Each style is a library name or an image file (embedded and cached in the library on the \
            fly). Weights: one per style, finite, non-negative, not all zero; they are normalised to \
            sum to 1. The blended embedding is Σ wᵢ·eᵢ; --strength then mixes it with the photo's own \
            embedding. --save-as stores the blend as a new style with its recipe. With --masks \
            (one per style) the mix varies per pixel instead of --weights: each pixel takes the \
            styles in proportion to the masks' values.
            """
    )

    @Option(help: "Comma-separated style names or image files.") var styles: String
    @Option(parsing: .unconditional, help: "Comma-separated weights, one per style (normalised to sum 1).") var weights: String?
    @Argument(help: "Photos or folders of photos to stylize (- reads stdin).") var photos: [String] = []
    @Option(name: .shortAndLong, help: "Output file (one photo), directory (several photos, or any ending in /), or - for stdout. Default: <photo>.blend.png here.")
    var output: String?
    @Option(help: "Style strength in [0, 1].") var strength: Float = 1
    @Option(name: .customLong("save-as"), help: "Store the blend in the library under this name.") var saveAs: String?
    @Flag(name: .customLong("preserve-color"), help: "Keep the photo's colours; transfer luminance only (YCbCr).")
    var preserveColor = false
    @Option(name: .customLong("max-size"), help: "Downscale photos so the long side is at most N pixels.") var maxSize: Int?
    @Option(help: "JPEG quality when writing .jpg.") var quality: Int = ImageIO.defaultQuality
    @OptionGroup var strokes: StrokeOptions
    @OptionGroup var regions: MaskOptions
    @OptionGroup var tiling: TileOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions

    var styleList: [String] { styles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    /// The one place `--weights` is read: parsed, checked and normalised together.
    var blendWeights: BlendWeights {
        get throws {
            do { return try BlendWeights(parsing: weights, count: styleList.count) } catch {
                throw ValidationError(weights == nil ? "\(error)" : "--weights: \(error)")
            }
        }
    }

    /// The photos with folders expanded (sub-folder structure kept under -o DIR).
    var inputs: PhotoArguments { get throws { try PhotoArguments(photos) } }
    var plan: OutputPlan { get throws { OutputPlan(destination: output, photos: try inputs, suffix: ".blend") } }

    func validate() throws {
        if styleList.isEmpty || styleList.contains("") { throw ValidationError("--styles needs comma-separated names or files") }
        _ = try blendWeights
        try regions.validate(styleCount: styleList.count)
        if regions.isEnabled {
            if weights != nil { throw ValidationError("--weights and --masks both set the mix; give one (the masks set it per pixel)") }
            if saveAs != nil { throw ValidationError("--save-as stores one embedding; a masked mix differs per pixel and cannot be saved") }
        }
        if photos.isEmpty && saveAs == nil { throw ValidationError("give photos to stylize, or --save-as NAME to only store the blend") }
        try validateStrength(strength)
        try validateMaxSize(maxSize)
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100") }
        try plan.validate()
        try plan.refuseOverwriting(regions.files + styleList)
    }

    func run() throws {
        let maskImages = try regions.load()
        let stylizer = try model.loadStylizer(options: tiling.options)
        let lib = try StyleLibrary(path: library.path, readOnly: saveAs == nil && !hasImageStyles)
        let resolved = try styleList.map { try lib.resolve($0, stylizer: stylizer) }
        let w = try blendWeights
        // A name that cannot be stored is refused before any photo is painted.
        if let saveAs {
            try StyleName.validate(saveAs)
            if try lib.store.contains(saveAs) { throw StyleStoreError.nameTaken(saveAs) }
        }
        let blended = try EmbeddingMath.blend(resolved.map(\.embedding), weights: w)
        let inputs = try inputs, plan = try plan
        if inputs.skipped > 0 { Terminal.note("skipping \(inputs.skipped) file\(inputs.skipped == 1 ? " that is" : "s that are") not a PNG or JPEG image") }
        try plan.prepare()
        var firstResult: RGBImage?
        for (i, photo) in inputs.files.enumerated() {
            Terminal.progress("[\(i + 1)/\(inputs.files.count)] \(photo)")
            let content = try readContent(photo, maxSize: maxSize)
            var result: RGBImage
            if regions.isEnabled {
                let masks = try regions.weights(maskImages, width: content.width, height: content.height, strength: strength)
                result = stylizer.stylize(content, styles: resolved.map(\.embedding), masks: masks, strokeScale: strokes.strokeScale)
            } else {
                let e = stylizer.embedding(style: blended, strength: strength, content: content)
                result = stylizer.stylize(content, embedding: e, strokeScale: strokes.strokeScale)
            }
            if preserveColor { result = content.withLuminance(of: result) }
            if firstResult == nil { firstResult = result }
            let out = plan.path(for: i)
            try writeResult(result, to: out, quality: quality)
        }
        if let saveAs {
            let components = zip(resolved, w.normalized).map { RecipeComponent(name: $0.0.name, weight: $0.1) }
            let r = try lib.saveBlend(name: saveAs, components: components, embedding: blended,
                                      modelID: stylizer.predictorID, thumbnail: firstResult)
            Terminal.note("saved blend as '\(r.name)'")
        }
    }

    /// Image-file styles are cached in the library, which needs write access.
    private var hasImageStyles: Bool { styleList.contains { FileManager.default.fileExists(atPath: $0) } }
}
