import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

/// `--model PATH`: every command that runs a network takes it.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Weights file (safetensors). Default: $PASTICHE_HOME/models/\(ModelFetcher.modelFileName).")
    var model: String?

    var home: PasticheHome { PasticheHome() }
    var path: String { home.model(model) }

    func loadStylizer(options: ExecutionOptions = .default) throws -> Stylizer {
        let p = path
        if model == nil && !FileManager.default.fileExists(atPath: p) {
            throw ModelError("no model at \(p); run `pastiche model fetch` first, or pass --model")
        }
        return try Stylizer(modelPath: p, options: options)
    }
}

/// `--library PATH`: every command that reads or writes the style library takes it.
struct LibraryOptions: ParsableArguments {
    @Option(name: .long, help: "Style library directory (LMDB). Default: $PASTICHE_HOME/library.")
    var library: String?

    var path: String { PasticheHome().library(library) }
}

enum Terminal {
    /// Progress goes to stderr, and only when a person is watching it.
    static let interactive: Bool = isatty(STDERR_FILENO) != 0

    static func progress(_ line: String) {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    static func endProgress() {
        guard interactive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func note(_ line: String) {
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Where a command's image results go: one file, stdout (`-`), or a directory for several.
struct OutputPlan {
    let destination: String?
    let inputs: [String]
    let suffix: String

    /// Output path for input `i`.
    func path(for i: Int) -> String {
        let stem = URL(fileURLWithPath: inputs[i] == "-" ? "stdin" : inputs[i]).deletingPathExtension().lastPathComponent
        guard let destination else { return "\(stem)\(suffix).png" }
        if inputs.count == 1 { return destination }
        return destination + "/" + stem + ".png"
    }

    func validate() throws {
        if inputs.count > 1, let d = destination {
            if d == "-" { throw ValidationError("-o - writes one image; give one photo, or -o DIR for several") }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: d, isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("-o \(d) is a file; with several photos -o must name a directory")
            }
        }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read only once") }
    }

    func prepare() throws {
        if inputs.count > 1, let d = destination {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
    }
}

func validateStrength(_ s: Float) throws {
    guard s.isFinite, (0...1).contains(s) else { throw ValidationError("--strength must be in [0, 1], got \(s)") }
}

func validateMaxSize(_ n: Int?) throws {
    if let n, n < 16 { throw ValidationError("--max-size must be at least 16, got \(n)") }
}

/// Writes a result image (format from the extension, `-` for stdout), ends any progress line,
/// and names the file on stderr.
func writeResult(_ image: RGBImage, to path: String, quality: Int = ImageIO.defaultQuality) throws {
    try ImageIO.write(image, to: path, quality: quality)
    Terminal.endProgress()
    if path != "-" { Terminal.note("wrote \(path)") }
}

/// Reads a content image, capping its long side when asked.
func readContent(_ path: String, maxSize: Int?) throws -> RGBImage {
    let image = try ImageIO.read(path: path)
    guard let maxSize else { return image }
    return image.resizedToFit(maxSide: maxSize)
}

/// `--tile N`: process every layer of both networks in bands of N output rows. Instance-norm
/// statistics are always taken over the whole image, so the result does not depend on N (up to
/// float rounding).
struct TileOptions: ParsableArguments {
    @Option(help: "Band height in rows for each layer's work buffers (default: automatic, about 2 MB per band).")
    var tile: Int?

    func validate() throws {
        if let tile, tile < 1 { throw ValidationError("--tile must be at least 1") }
    }

    var options: ExecutionOptions { ExecutionOptions(bandRows: tile) }
}
