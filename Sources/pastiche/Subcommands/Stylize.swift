import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

struct StylizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stylize",
        abstract: "Paint photos in the style of an image.",
        discussion: """
            The style image is reduced to 256×256 (shortest side, centre crop) and turned into a \
            100-number embedding; each photo is then stylized at its own resolution (cap it with \
            --max-size). --strength s mixes the style with the photo's own embedding: \
            s·style + (1−s)·photo (Magenta's identity interpolation).
            """
    )

    @Option(name: .customLong("style-image"), help: "The painting or texture whose style to apply.")
    var styleImage: String?
    @Option(help: "A style from the library, by name.") var style: String?

    @Argument(help: "Photos or folders of photos to stylize (- reads stdin); a folder's results keep its sub-folders under -o DIR.") var photos: [String]
    @Option(name: .shortAndLong, help: "Output file (one photo), directory (several), or - for stdout. Default: <photo>.pastiche.png here.")
    var output: String?
    @Option(help: "Style strength in [0, 1].") var strength: Float = 1
    @Option(name: .customLong("max-size"), help: "Downscale photos so the long side is at most N pixels.")
    var maxSize: Int?
    @Flag(name: .customLong("preserve-color"), help: "Keep the photo's colours; transfer luminance only (YCbCr).")
    var preserveColor = false
    @Option(help: "JPEG quality when writing .jpg.") var quality: Int = ImageIO.defaultQuality
    @OptionGroup var tiling: TileOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions

    /// The photos with folders expanded (sub-folder structure kept under -o DIR).
    var inputs: PhotoArguments { get throws { try PhotoArguments(photos) } }
    var plan: OutputPlan { get throws { OutputPlan(destination: output, photos: try inputs, suffix: ".pastiche") } }

    func validate() throws {
        if photos.isEmpty { throw ValidationError("give at least one photo") }
        if (styleImage == nil) == (style == nil) { throw ValidationError("give exactly one of --style-image FILE or --style NAME") }
        try validateStrength(strength)
        try validateMaxSize(maxSize)
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100") }
        try plan.validate()
    }

    func run() throws {
        let stylizer = try model.loadStylizer(options: tiling.options)
        let styleEmbedding: Embedding
        if let styleImage {
            styleEmbedding = stylizer.embedding(style: try ImageIO.read(path: styleImage))
        } else {
            styleEmbedding = try StyleLibrary(path: library.path, readOnly: true).embedding(named: style!, stylizer: stylizer).embedding
        }
        let inputs = try inputs, plan = try plan
        if inputs.skipped > 0 { Terminal.note("skipping \(inputs.skipped) file\(inputs.skipped == 1 ? " that is" : "s that are") not a PNG or JPEG image") }
        try plan.prepare()
        for (i, photo) in inputs.files.enumerated() {
            Terminal.progress("[\(i + 1)/\(inputs.files.count)] \(photo)")
            let content = try readContent(photo, maxSize: maxSize)
            let e = stylizer.embedding(style: styleEmbedding, strength: strength, content: content)
            var result = stylizer.stylize(content, embedding: e)
            if preserveColor { result = content.withLuminance(of: result) }
            let out = plan.path(for: i)
            try writeResult(result, to: out, quality: quality)
        }
    }
}
