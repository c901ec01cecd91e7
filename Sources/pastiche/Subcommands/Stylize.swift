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
            100-number embedding; each photo is then painted with strokes of the same size relative to the photo \
            at every resolution (--stroke-scale; cap the output with --max-size). --strength s mixes the style with the photo's own embedding: \
            s·style + (1−s)·photo (Magenta's identity interpolation). \
            Regions: --styles a,b --masks a.png,b.png gives each pixel the styles in proportion to \
            the masks (black everywhere: the photo's own look); --style a --mask m.png uses the \
            mask as a per-pixel strength. Masks are grey or colour (luminance) PNG/JPEG of any size.
            """
    )

    @Option(name: .customLong("style-image"), help: "The painting or texture whose style to apply.")
    var styleImage: String?
    @Option(help: "A style from the library, by name.") var style: String?
    @Option(help: "Comma-separated style names or image files, one per --masks region.") var styles: String?

    @Argument(help: "Photos or folders of photos to stylize (- reads stdin); a folder's results keep its sub-folders under -o DIR.") var photos: [String]
    @Option(name: .shortAndLong, help: "Output file (one photo), directory (several photos, or any ending in /), or - for stdout. Default: <photo>.pastiche.png here.")
    var output: String?
    @Option(help: "Style strength in [0, 1].") var strength: Float = 1
    @Option(name: .customLong("max-size"), help: "Downscale photos so the long side is at most N pixels.")
    var maxSize: Int?
    @Flag(name: .customLong("preserve-color"), help: "Keep the photo's colours; transfer luminance only (YCbCr).")
    var preserveColor = false
    @Option(help: "JPEG quality when writing .jpg.") var quality: Int = ImageIO.defaultQuality
    @OptionGroup var strokes: StrokeOptions
    @OptionGroup var regions: MaskOptions
    @OptionGroup var tiling: TileOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions
    @OptionGroup var distribution: DistributedOptions

    /// The photos with folders expanded (sub-folder structure kept under -o DIR).
    var inputs: PhotoArguments { get throws { try PhotoArguments(photos) } }
    var plan: OutputPlan { get throws { OutputPlan(destination: output, photos: try inputs, suffix: ".pastiche") } }

    func validate() throws {
        if photos.isEmpty { throw ValidationError("give at least one photo") }
        if distribution.distributed && photos.contains("-") { throw ValidationError("--distributed splits files between ranks; it cannot read a photo from stdin") }
        if [styleImage, style, styles].compactMap({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --style-image FILE, --style NAME or --styles A,B (with --masks)")
        }
        if styles != nil {
            if styleList.isEmpty || styleList.contains("") { throw ValidationError("--styles needs comma-separated names or files") }
            if !regions.isEnabled { throw ValidationError("--styles needs --masks, one per style; for one mix everywhere use pastiche blend") }
        }
        try regions.validate(styleCount: styles == nil ? 1 : styleList.count)
        try validateStrength(strength)
        try validateMaxSize(maxSize)
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100") }
        try plan.validate()
        try plan.refuseOverwriting(regions.files + [styleImage].compactMap { $0 } + styleList)
    }

    var styleList: [String] { (styles ?? "").split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }

    func run() throws {
        let communicator = try distribution.join()
        let maskImages = try regions.load()
        let stylizer = try model.loadStylizer(options: tiling.options)
        let styleEmbeddings: [Embedding]
        if let styleImage {
            styleEmbeddings = [stylizer.embedding(style: try ImageIO.read(path: styleImage))]
        } else if let style {
            styleEmbeddings = [try StyleLibrary(path: library.path, readOnly: true).embedding(named: style, stylizer: stylizer).embedding]
        } else {
            // Image files need no library; names do (and a name wins over a file, as in blend).
            let fileOnly = styleList.allSatisfy { FileManager.default.fileExists(atPath: $0) }
            if fileOnly && !FileManager.default.fileExists(atPath: library.path) {
                styleEmbeddings = try styleList.map { stylizer.embedding(style: try ImageIO.read(path: $0)) }
            } else {
                let lib = try StyleLibrary(path: library.path, readOnly: true)
                styleEmbeddings = try styleList.map { try lib.resolve($0, stylizer: stylizer).embedding }
            }
        }
        let inputs = try inputs, plan = try plan
        if inputs.skipped > 0 { Terminal.note("skipping \(inputs.skipped) file\(inputs.skipped == 1 ? " that is" : "s that are") not a PNG or JPEG image") }
        // --distributed: rank r takes photos r, r + N, …; rank 0 makes the folders first.
        if communicator.isRoot { try plan.prepare() }
        communicator.barrier()
        for (i, photo) in inputs.files.enumerated() where communicator.owner(of: i) == communicator.rank {
            Terminal.progress("[\(i + 1)/\(inputs.files.count)] \(photo)")
            let content = try readContent(photo, maxSize: maxSize)
            var result: RGBImage
            if regions.isEnabled {
                let weights = try regions.weights(maskImages, width: content.width, height: content.height, strength: strength)
                result = stylizer.stylize(content, styles: styleEmbeddings, masks: weights, strokeScale: strokes.strokeScale)
            } else {
                let e = stylizer.embedding(style: styleEmbeddings[0], strength: strength, content: content)
                result = stylizer.stylize(content, embedding: e, strokeScale: strokes.strokeScale)
            }
            if preserveColor { result = content.withLuminance(of: result) }
            let out = plan.path(for: i)
            try writeResult(result, to: out, quality: quality)
        }
        communicator.barrier()
        communicator.finish()
    }
}
