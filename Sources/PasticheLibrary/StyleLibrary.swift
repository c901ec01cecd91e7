import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// The style library as users see it: images become named embeddings (computed once and
/// cached by their pixels and the predictor that made them), names resolve back to embeddings,
/// and embeddings blend and interpolate. Storage is `StyleStore` (LMDB); the networks are a
/// `Stylizer`.
public final class StyleLibrary: @unchecked Sendable {
    public let store: StyleStore
    public static let thumbnailSize = 128

    public init(path: String, readOnly: Bool = false) throws {
        store = try StyleStore(path: path, readOnly: readOnly)
    }

    public struct AddResult: Sendable {
        public let record: StyleRecord
        /// True when the embedding came from the cache (same pixels, same predictor).
        public let reused: Bool
    }

    /// SHA-256 of the decoded pixels, quantised to 8 bits so the same picture re-encoded
    /// losslessly (PNG ↔ PNG, EXIF-rotated copies) maps to the same key.
    public static func pixelHash(_ image: RGBImage) -> String {
        var h = SHA256()
        var header = [UInt8]("\(image.width)x\(image.height):".utf8)
        h.update(header)
        header = image.pixels.map(RGBImage.toByte)
        h.update(header)
        return h.finalizeHex()
    }

    public static func thumbnail(_ image: RGBImage) throws -> [UInt8] {
        try ImageIO.encode(image.resizedToFit(maxSide: thumbnailSize), format: .jpeg, quality: 85)
    }

    /// A library name from a file name: letters, digits, '-', '_' and '.' kept, the rest '-'.
    public static func defaultName(for path: String) -> String {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var name = String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "-" })
        while name.hasPrefix(".") || name.hasPrefix("-") { name.removeFirst() }
        if name.isEmpty { name = "style" }
        return String(name.prefix(100))
    }

    /// Everything needed to store a style, computed without touching the library: callers
    /// prepare every image first, so a bad file among many fails before anything is stored.
    public struct PreparedStyle: Sendable, Codable {
        public let sourceFile: String
        public let pixelHash: String
        public let width: Int, height: Int
        /// nil when this predictor already embedded the same pixels (no network run needed).
        public let embedding: Embedding?
        public let thumbnail: [UInt8]

        public init(sourceFile: String, pixelHash: String, width: Int, height: Int,
                    embedding: Embedding?, thumbnail: [UInt8]) {
            self.sourceFile = sourceFile
            self.pixelHash = pixelHash
            self.width = width
            self.height = height
            self.embedding = embedding
            self.thumbnail = thumbnail
        }
    }

    /// `prepare` without a library at hand (a rank of a distributed add, on another machine):
    /// always embedded; `add` still reuses pixels the library already holds.
    public static func prepare(image: RGBImage, sourceFile: String, stylizer: Stylizer) throws -> PreparedStyle {
        try prepare(image: image, sourceFile: sourceFile, pixelHash: pixelHash(image), cached: false, stylizer: stylizer)
    }

    public func prepare(image: RGBImage, sourceFile: String, stylizer: Stylizer) throws -> PreparedStyle {
        let hash = Self.pixelHash(image)
        let cached = try store.lookup(pixelHash: hash, modelID: stylizer.predictorID) != nil
        return try Self.prepare(image: image, sourceFile: sourceFile, pixelHash: hash, cached: cached, stylizer: stylizer)
    }

    /// Pixels this predictor already embedded (`cached`) need neither the network nor a thumbnail.
    private static func prepare(image: RGBImage, sourceFile: String, pixelHash: String, cached: Bool,
                                stylizer: Stylizer) throws -> PreparedStyle {
        PreparedStyle(sourceFile: sourceFile, pixelHash: pixelHash, width: image.width, height: image.height,
                      embedding: cached ? nil : stylizer.embedding(style: image),
                      thumbnail: cached ? [] : try thumbnail(image))
    }

    /// Stores a prepared style, or returns the record that already holds the same pixels for
    /// this predictor (then `reused` is true: the network did not run); with a new explicit
    /// name, a copy of that record under the name.
    public func add(_ p: PreparedStyle, name: String?, tags: [String], stylizer: Stylizer) throws -> AddResult {
        if let existing = try store.lookup(pixelHash: p.pixelHash, modelID: stylizer.predictorID) {
            // The same pixels are embedded once per predictor. A new explicit name stores them
            // again under that name as well: an add never takes the old name away (scripts and
            // saved workflows that use it keep working).
            if let name, name != existing.name {
                return AddResult(record: try store.copy(existing.name, as: name, tags: tags).record, reused: true)
            }
            let record = tags.isEmpty ? existing : try store.addTags(existing.name, tags)
            return AddResult(record: record, reused: true)
        }
        guard let embedding = p.embedding else {
            // Prepared as cached, but the record went away since (removed by another process).
            throw StyleLibraryError("\(p.sourceFile): its cached style was removed meanwhile; add it again")
        }
        let record = StyleRecord(
            name: name ?? Self.defaultName(for: p.sourceFile), embedding: embedding,
            modelID: stylizer.predictorID, pixelHash: p.pixelHash,
            sourceFile: URL(fileURLWithPath: p.sourceFile).lastPathComponent,
            sourceWidth: p.width, sourceHeight: p.height, tags: tags, thumbnail: p.thumbnail)
        // An explicit --name must not be silently changed; a derived one is made unique.
        let result = try store.insert(record, uniquifyName: name == nil)
        if result.reused, !tags.isEmpty {
            return AddResult(record: try store.addTags(result.record.name, tags), reused: true)
        }
        return AddResult(record: result.record, reused: result.reused)
    }

    /// Embeds `image` (or finds it already embedded by this predictor) and stores it.
    public func add(image: RGBImage, sourceFile: String, name: String?, tags: [String],
                    stylizer: Stylizer) throws -> AddResult {
        try add(prepare(image: image, sourceFile: sourceFile, stylizer: stylizer), name: name, tags: tags, stylizer: stylizer)
    }

    /// The embedding of a library name, valid for `stylizer`'s predictor. An embedding made by
    /// other predictor weights is never used: the same image embedded by this predictor is
    /// looked up instead.
    public func embedding(named name: String, stylizer: Stylizer) throws -> (record: StyleRecord, embedding: Embedding) {
        let record = try store.get(name)
        if stylizer.weights.owns(styleOf: record.modelID) { return (record, record.embedding) }
        if record.tags.contains(Self.learnedTag) {
            // A learned embedding means something only to the network it was trained with; the
            // same image predicted by this model would be another style.
            throw StyleLibraryError("style '\(name)' was learned by the N-style model whose transfer network is \(record.modelID); it paints only with that model (give its --model), and this model is \(stylizer.weights.styleOwnerID)")
        }
        if !record.pixelHash.isEmpty,
           let same = try store.lookup(pixelHash: record.pixelHash, modelID: stylizer.predictorID) {
            return (same, same.embedding)
        }
        if record.recipe != nil {
            throw StyleLibraryError("style '\(name)' was blended with model \(record.modelID), not with this model (\(stylizer.weights.styleOwnerID)); blend its styles again with this --model")
        }
        throw StyleLibraryError("style '\(name)' was embedded by predictor \(record.modelID), not by this model (\(stylizer.predictorID)); embed its image again with this --model")
    }

    /// The tag of the styles an N-style network learned (`train transfer --styles`).
    public static let learnedTag = "learned"

    /// Stores an N-style model's learned styles as its styles, tagged `learned`: under their
    /// names (made unique if taken, so no name is taken away), with the model's transfer id,
    /// and thumbnails of the images they were learned from (`images`, in the same order). A
    /// style already stored for this model with the same pixels is kept, so storing twice adds
    /// nothing.
    public func addLearned(_ styles: [LearnedStyle], images: [RGBImage], weights: ModelWeights) throws -> [AddResult] {
        precondition(styles.count == images.count)
        let modelID = weights.transferID
        return try zip(styles, images).map { style, image in
            if let existing = try store.lookup(pixelHash: style.pixelHash, modelID: modelID) {
                return AddResult(record: existing, reused: true)
            }
            let record = StyleRecord(name: style.name, embedding: style.embedding, modelID: modelID, pixelHash: style.pixelHash,
                                     sourceFile: style.sourceFile, sourceWidth: style.width, sourceHeight: style.height,
                                     tags: [Self.learnedTag], thumbnail: try Self.thumbnail(image))
            let result = try store.insert(record, uniquifyName: true)
            return AddResult(record: result.record, reused: result.reused)
        }
    }

    /// A style given as a library name, or as an image path (embedded and cached on the fly).
    public func resolve(_ spec: String, stylizer: Stylizer) throws -> (name: String, embedding: Embedding) {
        if try store.contains(spec) {
            let found = try embedding(named: spec, stylizer: stylizer)
            return (found.record.name, found.embedding)
        }
        if FileManager.default.fileExists(atPath: spec) {
            let image = try ImageIO.read(path: spec)
            if store.isReadOnly {
                return (Self.defaultName(for: spec), stylizer.embedding(style: image))
            }
            let added = try add(image: image, sourceFile: spec, name: nil, tags: [], stylizer: stylizer)
            return (added.record.name, added.record.embedding)
        }
        _ = try store.get(spec)  // throws "no style named … (did you mean …?)"
        throw StyleLibraryError("no style named '\(spec)'")
    }

    /// Stores a blend as a named style with its recipe.
    public func saveBlend(name: String, components: [RecipeComponent], embedding: Embedding,
                          modelID: String, thumbnail: RGBImage?) throws -> StyleRecord {
        let record = StyleRecord(name: name, embedding: embedding, modelID: modelID,
                                 sourceFile: "blend", thumbnail: try thumbnail.map(Self.thumbnail) ?? [],
                                 recipe: components)
        return try store.insert(record, uniquifyName: false).record
    }
}

public struct StyleLibraryError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
