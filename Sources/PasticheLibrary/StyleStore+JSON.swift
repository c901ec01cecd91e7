import Foundation

/// The portable JSON form of a library (`pastiche embed export/import`), in the project's one
/// JSON dialect (docs/json.md): snake_case keys, `added` as ISO 8601.
///
/// Floats travel as bits, not decimal text, so an import reproduces the exact record:
/// `embedding_base64` is the embedding's little-endian IEEE-754 float32 bytes, recipe weights
/// are `weight_bits` (the UInt32 bit pattern), and `added` carries milliseconds. The decimal
/// `embedding` / `weight` values are for people reading the file and are ignored on import.
/// Version 1 (camelCase keys, `addedAtMilliseconds`) is still read: `upgradedFromVersion1`.
struct LibraryExport: Codable {
    static let formatName = "pastiche-style-library"
    static let version = 2

    var format: String
    var version: Int
    var styles: [Style]

    struct Style: Codable {
        var name: String
        var modelID: String
        var pixelHash: String
        var sourceFile: String
        var sourceWidth: Int
        var sourceHeight: Int
        var added: String
        var tags: [String]
        var embeddingCount: Int
        var embeddingBase64: String
        var embedding: [Float]?
        var thumbnailBase64: String
        var recipe: [Component]?

        enum CodingKeys: String, CodingKey {
            case name, tags, embedding, recipe, added
            case modelID = "model_id", pixelHash = "pixel_hash", sourceFile = "source_file"
            case sourceWidth = "source_width", sourceHeight = "source_height"
            case embeddingCount = "embedding_count", embeddingBase64 = "embedding_base64"
            case thumbnailBase64 = "thumbnail_base64"
        }
    }

    struct Component: Codable {
        var name: String
        var weightBits: UInt32
        var weight: Float?

        enum CodingKeys: String, CodingKey {
            case name, weight
            case weightBits = "weight_bits"
        }
    }

    /// A version-1 file's JSON rewritten as version 2: its camelCase keys renamed, and
    /// `addedAtMilliseconds` as `added`.
    static func upgradedFromVersion1(_ object: [String: Any]) -> [String: Any] {
        let renamed = ["modelID": "model_id", "pixelHash": "pixel_hash", "sourceFile": "source_file",
                       "sourceWidth": "source_width", "sourceHeight": "source_height",
                       "embeddingCount": "embedding_count", "embeddingBase64": "embedding_base64",
                       "thumbnailBase64": "thumbnail_base64", "weightBits": "weight_bits"]
        func upgrade(_ value: Any) -> Any {
            if let list = value as? [Any] { return list.map(upgrade) }
            guard let dict = value as? [String: Any] else { return value }
            var out: [String: Any] = [:]
            for (key, v) in dict {
                if key == "addedAtMilliseconds", let ms = (v as? NSNumber)?.int64Value {
                    out["added"] = ISOMilliseconds.format(ms)
                } else {
                    out[renamed[key] ?? key] = upgrade(v)
                }
            }
            return out
        }
        var object = object
        object["styles"] = object["styles"].map(upgrade)
        object["version"] = version
        return object
    }
}

/// Milliseconds since 1970 as ISO 8601 UTC with three fractional digits
/// (`2026-12-06T13:52:59.123Z`), and back, exactly: the digits are written and read as
/// integers, never through a floating-point Date.
enum ISOMilliseconds {
    static func format(_ ms: Int64) -> String {
        let (seconds, millis) = (ms.floorDiv(1000), ms.floorMod(1000))
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        let whole = f.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))  // …:59Z
        return String(whole.dropLast()) + String(format: ".%03dZ", Int(millis))
    }

    static func parse(_ text: String) -> Int64? {
        guard text.hasSuffix("Z") else { return nil }
        var body = text.dropLast()
        var millis: Int64 = 0
        if let dot = body.lastIndex(of: ".") {
            let digits = body[body.index(after: dot)...]
            guard (1...3).contains(digits.count), digits.allSatisfy(\.isASCII), let v = Int64(digits), v >= 0 else { return nil }
            millis = v * [100, 10, 1][digits.count - 1]
            body = body[..<dot]
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        guard let date = f.date(from: String(body) + "Z") else { return nil }
        return Int64(date.timeIntervalSince1970.rounded()) * 1000 + millis
    }
}

extension Int64 {
    fileprivate func floorDiv(_ d: Int64) -> Int64 { (self - floorMod(d)) / d }
    fileprivate func floorMod(_ d: Int64) -> Int64 { ((self % d) + d) % d }
}

extension LibraryExport.Style {
    init(_ r: StyleRecord) {
        var w = ByteWriter()
        for f in r.embedding { w.u32(f.bitPattern) }
        self.init(name: r.name, modelID: r.modelID, pixelHash: r.pixelHash, sourceFile: r.sourceFile,
                  sourceWidth: r.sourceWidth, sourceHeight: r.sourceHeight,
                  added: ISOMilliseconds.format(r.addedAtMilliseconds), tags: r.tags,
                  embeddingCount: r.embedding.count, embeddingBase64: Data(w.bytes).base64EncodedString(),
                  embedding: r.embedding, thumbnailBase64: Data(r.thumbnail).base64EncodedString(),
                  recipe: r.recipe?.map { .init(name: $0.name, weightBits: $0.weight.bitPattern, weight: $0.weight) })
    }

    func record() throws -> StyleRecord {
        func bad(_ why: String) -> StyleStoreError { .invalidImport("style '\(name)': \(why)") }
        guard let raw = Data(base64Encoded: embeddingBase64) else { throw bad("embedding_base64 is not base64") }
        guard raw.count == embeddingCount * 4 else {
            throw bad("embedding_base64 holds \(raw.count) bytes, expected \(embeddingCount) floats")
        }
        guard let addedAtMilliseconds = ISOMilliseconds.parse(added) else {
            throw bad("added is not an ISO 8601 UTC time like 2026-12-06T13:52:59.123Z: '\(added)'")
        }
        var reader = ByteReader(Array(raw)[...])
        let embedding = try (0..<embeddingCount).map { _ in Float(bitPattern: try reader.u32("embedding")) }
        guard let thumb = Data(base64Encoded: thumbnailBase64) else { throw bad("thumbnail_base64 is not base64") }
        var r = StyleRecord(name: name, embedding: embedding, modelID: modelID, pixelHash: pixelHash,
                            sourceFile: sourceFile, sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                            tags: tags, thumbnail: Array(thumb),
                            recipe: recipe?.map { RecipeComponent(name: $0.name, weight: Float(bitPattern: $0.weightBits)) })
        r.addedAtMilliseconds = addedAtMilliseconds
        return r
    }
}

extension StyleStore {
    /// Every style as portable, pretty-printed JSON (keys sorted, so exports diff cleanly).
    /// Damaged records are left out and named in `damaged`.
    public func exportJSON() throws -> (data: Data, damaged: [DamagedRecord]) {
        let scan = try scan()
        return (try Self.exportJSON(scan.records), scan.damaged)
    }

    /// `records` as the portable JSON `exportJSON` writes.
    public static func exportJSON(_ records: [StyleRecord]) throws -> Data {
        let file = LibraryExport(format: LibraryExport.formatName, version: LibraryExport.version,
                                 styles: records.map(LibraryExport.Style.init))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Stored embeddings are finite, but never let the informational copy fail an export.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(file)
    }

    /// The records of an export, each checked as an insert would check it. Throws
    /// `invalidImport` (or `invalidRecord`) naming what is wrong.
    public static func parseExport(_ data: Data) throws -> [StyleRecord] {
        let file: LibraryExport
        do {
            var json = data
            // Version 1 spelled its keys in camelCase: read it as version 2.
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               (object["version"] as? Int) == 1 {
                json = try JSONSerialization.data(withJSONObject: LibraryExport.upgradedFromVersion1(object))
            }
            file = try JSONDecoder().decode(LibraryExport.self, from: json)
        } catch {
            throw StyleStoreError.invalidImport("not a pastiche library export (\(error))")
        }
        guard file.format == LibraryExport.formatName else {
            throw StyleStoreError.invalidImport("format is '\(file.format)', expected '\(LibraryExport.formatName)'")
        }
        guard file.version <= LibraryExport.version else {
            throw StyleStoreError.invalidImport(
                "export format version \(file.version) is newer than this build supports (\(LibraryExport.version))")
        }
        let records = try file.styles.map { try $0.record() }
        for r in records { try validate(r) }
        return records
    }

    /// Imports an export in one transaction (all or nothing on error). A style whose name
    /// exists is replaced when `overwrite`, else skipped; one whose image+model is already
    /// stored under a different name is always skipped (the library keeps one per image+model).
    @discardableResult
    public func importJSON(_ data: Data, overwrite: Bool) throws -> ImportSummary {
        let records = try Self.parseExport(data)
        return try writing { txn in
            var summary = ImportSummary()
            for r in records {
                let old: StyleRecord?, oldDamaged: Bool
                do { old = try record(txn, r.name); oldDamaged = false } catch StyleStoreError.corruptRecord {
                    old = nil; oldDamaged = true
                }
                if (old != nil || oldDamaged) && !overwrite { summary.skipped += 1; continue }
                if !r.pixelHash.isEmpty,
                   let owner = try txn.get(byPixels, Self.pixelKey(r.pixelHash, r.modelID)),
                   owner != Self.key(r.name) {
                    summary.skipped += 1
                    continue
                }
                if let old {
                    try unstore(txn, old)
                    summary.replaced += 1
                } else if oldDamaged {
                    try unstoreRaw(txn, r.name)
                    summary.replaced += 1
                } else {
                    summary.added += 1
                }
                try store(txn, r)
            }
            return summary
        }
    }
}
