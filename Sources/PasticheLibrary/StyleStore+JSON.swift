import Foundation

/// The portable JSON form of a library (`pastiche library export/import`).
///
/// Floats travel as bits, not decimal text, so an import reproduces the exact record:
/// `embeddingBase64` is the embedding's little-endian IEEE-754 float32 bytes, recipe weights
/// are `weightBits` (the UInt32 bit pattern). The decimal `embedding` / `weight` values are
/// for people reading the file and are ignored on import.
struct LibraryExport: Codable {
    static let formatName = "pastiche-style-library"
    static let version = 1

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
        var addedAtMilliseconds: Int64
        var tags: [String]
        var embeddingCount: Int
        var embeddingBase64: String
        var embedding: [Float]?
        var thumbnailBase64: String
        var recipe: [Component]?
    }

    struct Component: Codable {
        var name: String
        var weightBits: UInt32
        var weight: Float?
    }
}

extension LibraryExport.Style {
    init(_ r: StyleRecord) {
        var w = ByteWriter()
        for f in r.embedding { w.u32(f.bitPattern) }
        self.init(name: r.name, modelID: r.modelID, pixelHash: r.pixelHash, sourceFile: r.sourceFile,
                  sourceWidth: r.sourceWidth, sourceHeight: r.sourceHeight,
                  addedAtMilliseconds: r.addedAtMilliseconds, tags: r.tags,
                  embeddingCount: r.embedding.count, embeddingBase64: Data(w.bytes).base64EncodedString(),
                  embedding: r.embedding, thumbnailBase64: Data(r.thumbnail).base64EncodedString(),
                  recipe: r.recipe?.map { .init(name: $0.name, weightBits: $0.weight.bitPattern, weight: $0.weight) })
    }

    func record() throws -> StyleRecord {
        func bad(_ why: String) -> StyleStoreError { .invalidImport("style '\(name)': \(why)") }
        guard let raw = Data(base64Encoded: embeddingBase64) else { throw bad("embeddingBase64 is not base64") }
        guard raw.count == embeddingCount * 4 else {
            throw bad("embeddingBase64 holds \(raw.count) bytes, expected \(embeddingCount) floats")
        }
        var reader = ByteReader(Array(raw)[...])
        let embedding = try (0..<embeddingCount).map { _ in Float(bitPattern: try reader.u32("embedding")) }
        guard let thumb = Data(base64Encoded: thumbnailBase64) else { throw bad("thumbnailBase64 is not base64") }
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
            file = try JSONDecoder().decode(LibraryExport.self, from: data)
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
