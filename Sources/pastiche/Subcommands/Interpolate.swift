import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels

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
    @Option(name: .customLong("max-size"), help: "Downscale the photo so the long side is at most N pixels.") var maxSize: Int?
    @Option(help: "Style strength in [0, 1], as for stylize.") var strength: Float = 1
    @Flag(name: .customLong("preserve-color"), help: "Keep the photo's colours; transfer luminance only (YCbCr).")
    var preserveColor = false
    @OptionGroup var strokes: StrokeOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions

    func validate() throws {
        guard steps >= 2 && steps <= 1000 else { throw ValidationError("--steps must be in 2...1000") }
        if output == nil && frames == nil { throw ValidationError("give -o STRIP.png and/or --frames DIR") }
        try validateMaxSize(maxSize)
        try validateStrength(strength)
        if let output, output != "-" { try refuseOverwritingInputs(output: output, inputs: [photo, from, to]) }
    }

    func run() throws {
        let stylizer = try model.loadStylizer()
        let options = paintingOptions(weights: nil, strength: strength, preserveColor: preserveColor, strokes: strokes)
        let resolver = StyleResolver(stylizer: stylizer, libraryPath: library.path)
        let ends = try Painting(styles: [.nameOrImage(from), .nameOrImage(to)].map { try resolver.resolve($0).style }, options: options)
        let (a, b) = (ends.styles[0].embedding, ends.styles[1].embedding)
        let content = try readContent(photo, maxSize: maxSize)
        // The photo's own embedding, for --strength below 1 (computed once for every frame).
        let own = strength < 1 ? stylizer.embedding(style: content) : nil
        if let frames { try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true) }
        var images: [RGBImage] = []
        for i in 0..<steps {
            Terminal.progress("frame \(i + 1)/\(steps)")
            let t = Float(i) / Float(steps - 1)
            let frame = ends.with(embedding: EmbeddingMath.interpolate(a, b, t: t))
            let image = try frame.paint(content, with: stylizer, ownEmbedding: own.map { own in { own } })
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
