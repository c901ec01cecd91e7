import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels

extension ImageCommand {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode (EXIF orientation applied, alpha over white), optionally shrink, re-encode.",
            discussion: """
                The output format follows OUT's extension (.png, .jpg, .jpeg); OUT = - writes PNG to \
                stdout unless --format is given. IN = - reads stdin. Files are written atomically.
                """
        )

        @Argument(help: "Input image (PNG or JPEG), or - for stdin.") var input: String
        @Argument(help: ArgumentHelp("Output image (.png/.jpg/.jpeg), or - for stdout (or give it as -o).", valueName: "output")) var outputArgument: String?
        @Option(name: [.short, .customLong("output")], help: "Output image (.png/.jpg/.jpeg), or - for stdout.") var outputOption: String?
        var output: String { (try? chosenOutput(argument: outputArgument, option: outputOption, name: "OUT")) ?? "-" }
        @Option(name: .customLong("max-size"), help: "Shrink (anti-aliased) so the longer side is at most N pixels.")
        var maxSize: Int?
        @Option(help: "JPEG quality 1...100 (4:4:4 chroma at 90 and above, 4:2:0 below).")
        var quality: Int = ImageIO.defaultQuality
        @Option(name: .customLong("max-pixels"), help: "Refuse inputs with more pixels than this (decompression-bomb guard).")
        var maxPixels: Int = ImageIO.defaultMaxPixels
        @Option(help: "Output format (png or jpeg); overrides OUT's extension.") var format: String?
        @Flag(name: .customLong("style-input"),
              help: "Write what the style predictor sees: shortest side to 256 (anti-aliased), centre crop 256×256 (for onnxruntime and other runtimes; docs/export.md).")
        var styleInput = false

        func validate() throws {
            _ = try chosenOutput(argument: outputArgument, option: outputOption, name: "OUT")
            try refuseOverwritingInputs(output: output, inputs: [input], flag: "OUT")
            guard (1...100).contains(quality) else { throw ValidationError("--quality must be in 1...100, got \(quality)") }
            if let maxSize, maxSize <= 0 { throw ValidationError("--max-size must be positive, got \(maxSize)") }
            if styleInput && maxSize != nil { throw ValidationError("--style-input sets the size (256×256); drop --max-size") }
            guard maxPixels > 0 else { throw ValidationError("--max-pixels must be positive, got \(maxPixels)") }
            _ = try outputFormat()
        }

        func outputFormat() throws -> ImageFormat? {
            if let format {
                switch format.lowercased() {
                case "png": return .png
                case "jpg", "jpeg": return .jpeg
                default: throw ValidationError("--format must be png or jpeg, got '\(format)'")
                }
            }
            if output == "-" { return .png }
            guard let byExtension = ImageFormat(pathExtension: output) else {
                throw ValidationError("cannot tell the output format from '\(output)'; use .png, .jpg or .jpeg, or --format")
            }
            return byExtension
        }

        func run() throws {
            var image: RGBImage
            do { image = try ImageIO.read(path: input, maxPixels: maxPixels) } catch let e as ImageError where e.kind == .tooLarge {
                // Only this command can raise the limit.
                throw ImageError(file: e.file, kind: e.kind, reason: e.reason + "; --max-pixels raises the limit")
            }
            if let maxSize { image = image.resizedToFit(maxSide: maxSize) }
            if styleInput { image = Stylizer.styleInput(image) }
            try ImageIO.write(image, to: output, quality: quality, format: try outputFormat())
        }
    }
}
