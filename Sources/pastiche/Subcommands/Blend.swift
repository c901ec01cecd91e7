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
            Each style is a library name or an image file (a name wins over a file; an image is \
            embedded for this run, not stored). Weights: one per style, finite, non-negative, not \
            all zero; they are normalised to sum to 1. The blended embedding is Σ wᵢ·eᵢ; --strength \
            then mixes it with the photo's own embedding. --save-as stores the blend as a new style \
            with its recipe (and stores the image styles the recipe names). With --masks \
            (one per style) the mix varies per pixel instead of --weights: each pixel takes the \
            styles in proportion to the masks' values.
            """
    )

    @Option(help: "Comma-separated style names or image files (a library name wins over a file).") var styles: String
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

    var specs: [StyleSpec] {
        get throws { do { return try StyleArguments.styles(styles) } catch { throw ValidationError("\(error)") } }
    }

    /// The photos with folders expanded (sub-folder structure kept under -o DIR).
    var inputs: PhotoArguments { get throws { try PhotoArguments(photos) } }
    var plan: OutputPlan { get throws { OutputPlan(destination: output, photos: try inputs, suffix: ".blend") } }

    func validate() throws {
        let specs = try specs
        _ = try parseWeights(weights, count: specs.count)
        try regions.validate(styleCount: specs.count)
        try refuseWeightsWithMasks(weights, regions)
        if regions.isEnabled {
            if saveAs != nil { throw ValidationError("--save-as stores one embedding; a masked mix differs per pixel and cannot be saved") }
        }
        if photos.isEmpty && saveAs == nil { throw ValidationError("give photos to stylize, or --save-as NAME to only store the blend") }
        try validateStrength(strength)
        try validateMaxSize(maxSize)
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100") }
        try plan.validate()
        try plan.refuseOverwriting(regions.files + specs.map(\.text))
    }

    func run() throws {
        let stylizer = try model.loadStylizer(options: tiling.options)
        let request = PaintingRequest(
            styles: try specs,
            options: paintingOptions(weights: regions.isEnabled ? nil : try parseWeights(weights, count: try specs.count),
                                     strength: strength, preserveColor: preserveColor, strokes: strokes,
                                     masks: regions, maskImages: try regions.load()))
        let resolver = StyleResolver(stylizer: stylizer, libraryPath: library.path)
        let resolved = try request.styles.map { try resolver.resolve($0) }
        let painting = try Painting(styles: resolved.map(\.style), options: request.options)
        // A name that cannot be stored is refused before any photo is painted.
        let saving = try saveAs.map { name -> StyleLibrary in
            try StyleName.validate(name)
            let lib = try StyleLibrary(path: library.path)
            if try lib.store.contains(name) { throw StyleStoreError.nameTaken(name) }
            return lib
        }
        let inputs = try inputs, plan = try plan
        if inputs.skipped > 0 { Terminal.note("skipping \(inputs.skipped) file\(inputs.skipped == 1 ? " that is" : "s that are") not a PNG or JPEG image") }
        try plan.prepare()
        var firstResult: RGBImage?
        for (i, photo) in inputs.files.enumerated() {
            Terminal.progress("[\(i + 1)/\(inputs.files.count)] \(photo)")
            let result = try painting.paint(try readContent(photo, maxSize: maxSize), with: stylizer)
            if firstResult == nil { firstResult = result }
            try writeResult(result, to: plan.path(for: i), quality: quality)
        }
        if let saveAs, let lib = saving {
            // The recipe names stored styles, so the image styles it mixes are stored first.
            let names = try resolved.map { r -> String in
                guard let image = r.image, let file = r.sourceFile else { return r.style.name }
                return try lib.add(image: image, sourceFile: file, name: nil, tags: [], stylizer: stylizer).record.name
            }
            let components = zip(names, painting.weights).map { RecipeComponent(name: $0.0, weight: $0.1) }
            let r = try lib.saveBlend(name: saveAs, components: components, embedding: painting.embedding,
                                      modelID: stylizer.weights.styleOwnerID, thumbnail: firstResult)
            Terminal.note("saved blend as '\(r.name)'")
        }
    }
}
