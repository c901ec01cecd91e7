import Foundation
import PasticheImage
import PasticheModels

/// A style as a user gave it.
public enum StyleSpec: Sendable, Equatable {
    /// A library name (`--style`, the studio): never a file.
    case name(String)
    /// An image file (`--style-image`): never looked up in the library.
    case image(String)
    /// An item of `--styles`, `--from` or `--to`: a library name if the library has it, else an
    /// image file.
    case nameOrImage(String)
    /// An embedding already at hand (a per-style model's own style).
    case embedding(Embedding, name: String)

    public var text: String {
        switch self {
        case .name(let s), .image(let s), .nameOrImage(let s), .embedding(_, let s): return s
        }
    }

    /// Could this be a file the command reads (for the rule that no output overwrites an input)?
    public var mayBeFile: Bool {
        switch self {
        case .image, .nameOrImage: return true
        case .name, .embedding: return false
        }
    }
}

/// What to paint: styles as given, and how. Every command, the studio and video build one,
/// and `StyleResolver.painting` turns it into a `Painting` by one rule.
public struct PaintingRequest: Sendable {
    public var styles: [StyleSpec]
    public var options: PaintingOptions

    public init(styles: [StyleSpec], options: PaintingOptions = PaintingOptions()) {
        self.styles = styles
        self.options = options
    }
}

/// The one parser of the comma-separated lists (`--styles`, `--masks`), with one set of messages.
public enum StyleArguments {
    /// "a,b" → ["a", "b"], trimmed. An empty item ("a,,b", "a,", "") is refused, never skipped:
    /// a dropped style would silently shift every later weight and mask.
    public static func list(_ text: String, flag: String, items: String) throws -> [String] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.contains("") {
            throw StyleLibraryError("\(flag) needs comma-separated \(items) with none empty, got '\(text)'")
        }
        return parts
    }

    /// `--styles` items.
    public static func styles(_ text: String) throws -> [StyleSpec] {
        try list(text, flag: "--styles", items: "names or image files").map { .nameOrImage($0) }
    }

    /// The three ways a command names its styles, at most one of them given. None: the model's
    /// own style (a per-style model; `StyleResolver.painting` says so otherwise).
    public static func specs(styleImage: String?, style: String?, styles: String?) throws -> [StyleSpec] {
        switch (styleImage, style, styles) {
        case (nil, nil, nil): return []
        case (let file?, nil, nil): return [.image(file)]
        case (nil, let name?, nil): return [.name(name)]
        case (nil, nil, let list?): return try Self.styles(list)
        default: throw StyleLibraryError("give one of --style-image FILE, --style NAME or --styles A,B, not several")
        }
    }
}

/// Resolves styles against the library by one rule, the same for every command and the studio:
///
/// - A library name wins over a file of the same name (`--styles`, `--from`, `--to`).
/// - Painting never writes the library. An image style is embedded for this painting and not
///   stored; `embed add` stores styles, and `blend --save-as` stores its blend and the image
///   styles its recipe names.
/// - The library is opened read-only, and only when a name needs it: painting with image files
///   works without one, and on a read-only one.
/// - A stored style made by other predictor weights is used only through the same pixels
///   embedded by this model (`StyleLibrary.embedding(named:stylizer:)`).
public final class StyleResolver {
    public let stylizer: Stylizer
    private let path: String?
    private var opened: StyleLibrary?

    /// With the library at `libraryPath` (opened when a name is first resolved).
    public init(stylizer: Stylizer, libraryPath: String) {
        self.stylizer = stylizer
        path = libraryPath
    }

    /// With a library already open (the studio's).
    public init(stylizer: Stylizer, library: StyleLibrary) {
        self.stylizer = stylizer
        path = nil
        opened = library
    }

    /// A resolved style, with the image it came from when it was a file.
    public struct Resolved {
        public let style: Painting.Style
        /// The stored record, for a library name.
        public let record: StyleRecord?
        /// The decoded file, for an image style.
        public let image: RGBImage?
        public let sourceFile: String?
    }

    private var libraryExists: Bool {
        if opened != nil { return true }
        guard let path else { return false }
        return FileManager.default.fileExists(atPath: path + "/data.mdb")
    }

    /// The library, opened read-only on first use (an error says why there is none).
    public func library() throws -> StyleLibrary {
        if let opened { return opened }
        let library = try StyleLibrary(path: path!, readOnly: true)
        opened = library
        return library
    }

    public func resolve(_ spec: StyleSpec) throws -> Resolved {
        switch spec {
        case .name(let name):
            return try stored(name)
        case .image(let file):
            return try image(file)
        case .embedding(let e, let name):
            return Resolved(style: Painting.Style(name: name, embedding: e), record: nil, image: nil, sourceFile: nil)
        case .nameOrImage(let text):
            if libraryExists, try library().store.contains(text) { return try stored(text) }
            if FileManager.default.fileExists(atPath: text) { return try image(text) }
            if libraryExists { return try stored(text) }  // "no style named … (did you mean …?)"
            throw StyleLibraryError("'\(text)' is neither an image file nor a style (no library at \(path ?? "?"))")
        }
    }

    private func stored(_ name: String) throws -> Resolved {
        let found = try library().embedding(named: name, stylizer: stylizer)
        return Resolved(style: Painting.Style(name: found.record.name, embedding: found.embedding),
                        record: found.record, image: nil, sourceFile: nil)
    }

    private func image(_ file: String) throws -> Resolved {
        let image = try ImageIO.read(path: file)
        return Resolved(style: Painting.Style(name: StyleLibrary.defaultName(for: file), embedding: embedding(of: image)),
                        record: nil, image: image, sourceFile: file)
    }

    /// What this model paints for a style image: an N-style model paints an image it was
    /// trained on with the embedding it learned for it, any other through its predictor.
    private func embedding(of image: RGBImage) -> Embedding {
        if stylizer.weights.kind == .nStyle, let learned = stylizer.weights.learnedEmbedding(pixelHash: StyleLibrary.pixelHash(image)) {
            return learned.embedding
        }
        return stylizer.embedding(style: image)
    }

    /// The request's styles resolved and its options checked: ready to paint. No styles: the
    /// model's own (a per-style model), else one line saying how to name one.
    public func painting(_ request: PaintingRequest) throws -> Painting {
        var specs = request.styles
        if specs.isEmpty {
            let learned = stylizer.weights.learnedStyles
            if !learned.isEmpty {
                let names = learned.prefix(5).map(\.name).joined(separator: ", ") + (learned.count > 5 ? ", …" : "")
                throw StyleLibraryError("give --style NAME: this N-style model paints the styles it learned (\(names); `embed list --tag learned`) or any --style-image")
            }
            guard let own = stylizer.weights.ownStyle else {
                throw StyleLibraryError("give --style-image FILE, --style NAME or --styles A,B: this model paints any style (only a model made by `train transfer --style-image` has one of its own)")
            }
            specs = [.embedding(own.embedding, name: own.name)]
        }
        return try Painting(styles: specs.map { try resolve($0).style }, options: request.options)
    }
}
