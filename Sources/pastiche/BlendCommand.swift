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
            embedding. --save-as stores the blend as a new style with its recipe.
            """
    )

    @Option(help: "Comma-separated style names or image files.") var styles: String
    @Option(help: "Comma-separated weights, one per style (normalised to sum 1).") var weights: String?
    @Argument(help: "Photos to stylize (- reads stdin).") var photos: [String] = []
    @Option(name: .shortAndLong, help: "Output file (one photo), directory (several), or - for stdout. Default: <photo>.blend.png here.")
    var output: String?
    @Option(help: "Style strength in [0, 1].") var strength: Float = 1
    @Option(name: .customLong("save-as"), help: "Store the blend in the library under this name.") var saveAs: String?
    @Flag(name: .customLong("preserve-color"), help: "Keep the photo's colours; transfer luminance only (YCbCr).")
    var preserveColor = false
    @Option(name: .customLong("max-size"), help: "Downscale photos so the long side is at most N pixels.") var maxSize: Int?
    @Option(help: "JPEG quality when writing .jpg.") var quality: Int = ImageIO.defaultQuality
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

    var plan: OutputPlan { OutputPlan(destination: output, inputs: photos, suffix: ".blend") }

    func validate() throws {
        if styleList.isEmpty || styleList.contains("") { throw ValidationError("--styles needs comma-separated names or files") }
        _ = try blendWeights
        if photos.isEmpty && saveAs == nil { throw ValidationError("give photos to stylize, or --save-as NAME to only store the blend") }
        try validateStrength(strength)
        try validateMaxSize(maxSize)
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100") }
        try plan.validate()
    }

    func run() throws {
        let stylizer = try model.loadStylizer(options: tiling.options)
        let lib = try StyleLibrary(path: library.path, readOnly: saveAs == nil && !hasImageStyles)
        let resolved = try styleList.map { try lib.resolve($0, stylizer: stylizer) }
        let w = try blendWeights
        let blended = try EmbeddingMath.blend(resolved.map(\.embedding), weights: w)
        try plan.prepare()
        var firstResult: RGBImage?
        for (i, photo) in photos.enumerated() {
            Terminal.progress("[\(i + 1)/\(photos.count)] \(photo)")
            let content = try readContent(photo, maxSize: maxSize)
            let e = stylizer.embedding(style: blended, strength: strength, content: content)
            var result = stylizer.stylize(content, embedding: e)
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

struct InterpolateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Walk the embedding from one style to another across a photo: a strip or numbered frames.")

    @Option(help: "Start style (library name or image file).") var from: String
    @Option(help: "End style (library name or image file).") var to: String
    @Option(help: "Number of frames, ends included (≥ 2).") var steps: Int = 5
    @Argument(help: "The photo.") var photo: String
    @Option(name: .shortAndLong, help: "The strip image (frames side by side).") var output: String?
    @Option(help: "Also write frame-000.png, frame-001.png, … into this directory.") var frames: String?
    @Option(name: .customLong("max-size"), help: "Downscale the photo so the long side is at most N pixels.") var maxSize: Int = 384
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions

    func validate() throws {
        guard steps >= 2 && steps <= 1000 else { throw ValidationError("--steps must be in 2...1000") }
        if output == nil && frames == nil { throw ValidationError("give -o STRIP.png and/or --frames DIR") }
        try validateMaxSize(maxSize)
    }

    func run() throws {
        let stylizer = try model.loadStylizer()
        let specs = [from, to]
        let lib = try StyleLibrary(path: library.path, readOnly: !specs.contains { FileManager.default.fileExists(atPath: $0) })
        let a = try lib.resolve(from, stylizer: stylizer).embedding
        let b = try lib.resolve(to, stylizer: stylizer).embedding
        let content = try readContent(photo, maxSize: maxSize)
        if let frames { try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true) }
        var images: [RGBImage] = []
        for i in 0..<steps {
            Terminal.progress("frame \(i + 1)/\(steps)")
            let t = Float(i) / Float(steps - 1)
            let image = stylizer.stylize(content, embedding: EmbeddingMath.interpolate(a, b, t: t))
            if let frames { try ImageIO.write(image, to: frames + String(format: "/frame-%03d.png", i)) }
            if output != nil { images.append(image) }
        }
        Terminal.endProgress()
        if let output {
            let labels = (0..<steps).map { String(format: "%.2f", Float($0) / Float(steps - 1)) }
            let strip = ContactSheet.strip(images, labels: labels, spacing: 4)
            try writeResult(strip, to: output)
        }
    }
}
