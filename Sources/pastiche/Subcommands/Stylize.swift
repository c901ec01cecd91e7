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
            Several styles: --styles a,b blends them (--weights, default equal), as pastiche blend does. \
            Regions: --styles a,b --masks a.png,b.png gives each pixel the styles in proportion to \
            the masks (black everywhere: the photo's own look); --style a --mask m.png uses the \
            mask as a per-pixel strength. Masks are grey or colour (luminance) PNG/JPEG of any size. \
            Painting reads the library and never changes it (docs/library.md).
            """
    )

    @OptionGroup var styleOptions: StyleOptions
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
        try styleOptions.validate(masks: regions)
        try validateStrength(strength)
        try validateMaxSize(maxSize)
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100") }
        try plan.validate()
        try plan.refuseOverwriting(regions.files + styleOptions.files)
    }

    func run() throws {
        let communicator = try distribution.join()
        let request = try styleOptions.request(strength: strength, preserveColor: preserveColor, strokes: strokes, masks: regions)
        let stylizer = try model.loadStylizer(options: tiling.options)
        let painting = try StyleResolver(stylizer: stylizer, libraryPath: library.path).painting(request)
        let inputs = try inputs, plan = try plan
        if inputs.skipped > 0 { Terminal.note("skipping \(inputs.skipped) file\(inputs.skipped == 1 ? " that is" : "s that are") not a PNG or JPEG image") }
        // --distributed: rank r takes photos r, r + N, …; rank 0 makes the folders first.
        if communicator.isRoot { try plan.prepare() }
        communicator.barrier()
        for (i, photo) in inputs.files.enumerated() where communicator.owner(of: i) == communicator.rank {
            let label = "[\(i + 1)/\(inputs.files.count)] \(photo)"
            Terminal.progress(label)
            let content = try readContent(photo, maxSize: maxSize)
            // Large photos take seconds: the network reports each layer.
            let painted = try painting.paint(content, with: stylizer, progress: Terminal.interactive ? {
                Terminal.progress(label + String(format: " %3.0f%%", $0 * 100))
            } : nil)
            try writeResult(painted, to: plan.path(for: i), quality: quality)
        }
        communicator.barrier()
        communicator.finish()
    }
}
