import Foundation

/// One weighted input of a blended style.
public struct RecipeComponent: Equatable, Sendable {
    public var name: String
    public var weight: Float

    public init(name: String, weight: Float) {
        self.name = name
        self.weight = weight
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.weight.bitPattern == b.weight.bitPattern
    }
}

/// A named style in the library: its embedding plus where it came from.
/// The store's unit of storage; `encoded()` / `init(encoded:)` are its on-disk form
/// (layout in docs/library-format.md).
public struct StyleRecord: Equatable, Sendable {
    public var name: String
    /// The style embedding (100 floats for the Ghiasi predictor; the encoding stores the count).
    public var embedding: [Float]
    /// Hash id of the predictor weights that produced `embedding`.
    public var modelID: String
    /// Hex SHA-256 of the source image's decoded pixels; empty for blends.
    public var pixelHash: String
    public var sourceFile: String
    public var sourceWidth: Int
    public var sourceHeight: Int
    /// Stored as whole milliseconds so records compare equal after a round trip.
    public var addedAtMilliseconds: Int64
    /// Kept sorted and unique.
    public var tags: [String] { didSet { tags = Self.normalizedTags(tags) } }
    /// Encoded PNG/JPEG bytes (≤ 128 px); may be empty.
    public var thumbnail: [UInt8]
    /// The inputs of a blend; nil for styles computed from an image.
    public var recipe: [RecipeComponent]?

    public var addedAt: Date {
        get { Date(timeIntervalSince1970: Double(addedAtMilliseconds) / 1000) }
        set { addedAtMilliseconds = Int64((newValue.timeIntervalSince1970 * 1000).rounded()) }
    }

    public init(name: String, embedding: [Float], modelID: String, pixelHash: String = "",
                sourceFile: String = "", sourceWidth: Int = 0, sourceHeight: Int = 0,
                addedAt: Date = Date(), tags: [String] = [], thumbnail: [UInt8] = [],
                recipe: [RecipeComponent]? = nil) {
        self.name = name
        self.embedding = embedding
        self.modelID = modelID
        self.pixelHash = pixelHash
        self.sourceFile = sourceFile
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.addedAtMilliseconds = Int64((addedAt.timeIntervalSince1970 * 1000).rounded())
        self.tags = Self.normalizedTags(tags)
        self.thumbnail = thumbnail
        self.recipe = recipe
    }

    static func normalizedTags(_ tags: [String]) -> [String] { Array(Set(tags)).sorted() }

    /// Equality is bit-exact on floats (NaN equals itself, 0 differs from -0): two records are
    /// equal exactly when they encode to the same bytes.
    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.modelID == b.modelID && a.pixelHash == b.pixelHash
            && a.sourceFile == b.sourceFile && a.sourceWidth == b.sourceWidth
            && a.sourceHeight == b.sourceHeight && a.addedAtMilliseconds == b.addedAtMilliseconds
            && a.tags == b.tags && a.thumbnail == b.thumbnail && a.recipe == b.recipe
            && a.embedding.map(\.bitPattern) == b.embedding.map(\.bitPattern)
    }
}

// MARK: - Names

public enum StyleName {
    public static let maxLength = 128

    /// Names (and tags) are 1...128 ASCII letters, digits, '-', '_' or '.'; case-sensitive.
    /// Kept this narrow so they are safe as shell words, file names and LMDB keys alike.
    public static func validate(_ name: String, what: String = "style name") throws {
        guard !name.isEmpty else { throw StyleStoreError.invalidName(name, "\(what) is empty") }
        guard name.utf8.count <= maxLength else {
            throw StyleStoreError.invalidName(name, "\(what) is longer than \(maxLength) characters")
        }
        if let bad = name.unicodeScalars.first(where: { !isAllowed($0) }) {
            throw StyleStoreError.invalidName(
                name, "\(what) may only contain letters, digits, '-', '_' and '.' (found '\(bad.escaped(asASCII: true))')")
        }
    }

    public static func isValid(_ name: String) -> Bool { (try? validate(name)) != nil }

    private static func isAllowed(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
        default: false
        }
    }
}

// MARK: - Binary encoding

/// Errors decoding a stored record.
public enum StyleRecordDecodingError: Error, CustomStringConvertible, Equatable {
    case badMagic
    case unsupportedVersion(UInt16)
    case truncated(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .badMagic: "not a style record (bad magic)"
        case .unsupportedVersion(let v):
            "style record format version \(v) is newer than this build supports (\(StyleRecord.formatVersion)); upgrade pastiche"
        case .truncated(let field): "style record is truncated (in \(field))"
        case .invalid(let why): "style record is invalid: \(why)"
        }
    }
}

extension StyleRecord {
    public static let magic: [UInt8] = Array("PSTR".utf8)
    /// Bumped only for incompatible changes. Compatible additions append fields to the end of
    /// the field section and keep this version; older readers skip them.
    public static let formatVersion: UInt16 = 1

    /// The versioned little-endian encoding described in docs/library-format.md.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.string(name)
        w.u32(UInt32(embedding.count))
        for f in embedding { w.u32(f.bitPattern) }
        w.string(modelID)
        w.string(pixelHash)
        w.string(sourceFile)
        w.i64(Int64(sourceWidth))
        w.i64(Int64(sourceHeight))
        w.i64(addedAtMilliseconds)
        w.u32(UInt32(tags.count))
        for t in tags { w.string(t) }
        w.blob(thumbnail)
        if let recipe {
            w.u8(1)
            w.u32(UInt32(recipe.count))
            for c in recipe { w.string(c.name); w.u32(c.weight.bitPattern) }
        } else {
            w.u8(0)
        }
        var out = ByteWriter()
        out.bytes += Self.magic
        out.u16(Self.formatVersion)
        out.u32(UInt32(w.bytes.count))
        out.bytes += w.bytes
        return out.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes[...])
        guard try r.take(4, "magic") == Self.magic[...] else { throw StyleRecordDecodingError.badMagic }
        let version = try r.u16("version")
        guard version <= Self.formatVersion else { throw StyleRecordDecodingError.unsupportedVersion(version) }
        guard version >= 1 else { throw StyleRecordDecodingError.invalid("format version 0") }
        let length = Int(try r.u32("section length"))
        guard r.remaining == length else {
            throw r.remaining < length ? StyleRecordDecodingError.truncated("field section")
                : StyleRecordDecodingError.invalid("\(r.remaining - length) bytes after the field section")
        }
        let name = try r.string("name")
        let count = Int(try r.u32("embedding count"))
        guard count <= r.remaining / 4 else { throw StyleRecordDecodingError.truncated("embedding") }
        var embedding = [Float]()
        embedding.reserveCapacity(count)
        for _ in 0..<count { embedding.append(Float(bitPattern: try r.u32("embedding"))) }
        let modelID = try r.string("modelID")
        let pixelHash = try r.string("pixelHash")
        let sourceFile = try r.string("sourceFile")
        let width = try r.i64("sourceWidth"), height = try r.i64("sourceHeight")
        let added = try r.i64("addedAt")
        let tagCount = Int(try r.u32("tag count"))
        guard tagCount <= r.remaining / 4 else { throw StyleRecordDecodingError.truncated("tags") }
        var tags = [String]()
        for _ in 0..<tagCount { tags.append(try r.string("tag")) }
        let thumbnail = Array(try r.blob("thumbnail"))
        var recipe: [RecipeComponent]?
        switch try r.u8("recipe flag") {
        case 0: recipe = nil
        case 1:
            let n = Int(try r.u32("recipe count"))
            guard n <= r.remaining / 8 else { throw StyleRecordDecodingError.truncated("recipe") }
            recipe = try (0..<n).map { _ in
                RecipeComponent(name: try r.string("recipe name"), weight: Float(bitPattern: try r.u32("recipe weight")))
            }
        case let f: throw StyleRecordDecodingError.invalid("recipe flag \(f)")
        }
        // Anything left in the section are fields a later compatible writer appended: skip them.
        self.init(name: name, embedding: embedding, modelID: modelID, pixelHash: pixelHash,
                  sourceFile: sourceFile, sourceWidth: Int(width), sourceHeight: Int(height),
                  tags: tags, thumbnail: thumbnail, recipe: recipe)
        self.addedAtMilliseconds = added
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func i64(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func blob(_ b: [UInt8]) { u32(UInt32(b.count)); bytes += b }
    mutating func string(_ s: String) { blob(Array(s.utf8)) }
}

struct ByteReader {
    private var rest: ArraySlice<UInt8>
    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }
    var remaining: Int { rest.count }

    mutating func take(_ n: Int, _ field: String) throws -> ArraySlice<UInt8> {
        guard n <= rest.count else { throw StyleRecordDecodingError.truncated(field) }
        defer { rest = rest.dropFirst(n) }
        return rest.prefix(n)
    }
    private mutating func le<T: FixedWidthInteger>(_: T.Type, _ field: String) throws -> T {
        try take(MemoryLayout<T>.size, field).reversed().reduce(T(0)) { $0 << 8 | T($1) }
    }
    mutating func u8(_ f: String) throws -> UInt8 { try le(UInt8.self, f) }
    mutating func u16(_ f: String) throws -> UInt16 { try le(UInt16.self, f) }
    mutating func u32(_ f: String) throws -> UInt32 { try le(UInt32.self, f) }
    mutating func i64(_ f: String) throws -> Int64 { Int64(bitPattern: try le(UInt64.self, f)) }
    mutating func blob(_ f: String) throws -> ArraySlice<UInt8> { try take(Int(try u32(f)), f) }
    mutating func string(_ f: String) throws -> String {
        guard let s = String(bytes: try blob(f), encoding: .utf8) else {
            throw StyleRecordDecodingError.invalid("\(f) is not UTF-8")
        }
        return s
    }
}
