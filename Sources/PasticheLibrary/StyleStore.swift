import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Errors from the style library, each printable as one line for the CLI.
public enum StyleStoreError: Error, CustomStringConvertible, Equatable {
    case notADirectory(path: String)
    case notWritable(path: String, reason: String)
    case noLibrary(path: String)
    case openedReadOnly(path: String)
    case newerSchema(path: String, found: UInt32)
    case invalidName(String, String)
    case nameTaken(String)
    case notFound(String, suggestions: [String])
    case invalidRecord(String)
    case corruptRecord(name: String, reason: String)
    case invalidImport(String)

    public var description: String {
        switch self {
        case .notADirectory(let path): "\(path) is a file, not a library directory"
        case .notWritable(let path, let reason): "cannot write the style library at \(path): \(reason)"
        case .noLibrary(let path): "no style library at \(path)"
        case .openedReadOnly(let path): "the style library at \(path) was opened read-only"
        case .newerSchema(let path, let found):
            "the style library at \(path) has schema version \(found), newer than this build supports (\(StyleStore.schemaVersion)); upgrade pastiche"
        case .invalidName(let name, let why): "invalid name '\(name)': \(why)"
        case .nameTaken(let name): "style '\(name)' already exists"
        case .notFound(let name, let suggestions):
            "no style named '\(name)'" + (suggestions.isEmpty ? "" : " (did you mean \(orList(suggestions))?)")
        case .invalidRecord(let why): "invalid style record: \(why)"
        case .corruptRecord(let name, let why): "style '\(name)' is corrupt: \(why)"
        case .invalidImport(let why): "cannot import: \(why)"
        }
    }
}

private func orList(_ names: [String]) -> String {
    let quoted = names.map { "'\($0)'" }
    return quoted.count <= 1 ? quoted.joined() : quoted.dropLast().joined(separator: ", ") + " or " + quoted.last!
}

public struct InsertResult: Sendable {
    /// The stored record (with its final, possibly uniquified, name) or the existing one.
    public let record: StyleRecord
    /// True when an existing record with the same (pixelHash, modelID) was returned instead.
    public let reused: Bool
}

/// A stored record that does not decode (or breaks the record rules), by its key.
public struct DamagedRecord: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let reason: String
    public var description: String { "'\(name)' (\(reason))" }
}

/// Every readable record, and the ones that are not.
public struct StyleScan: Sendable {
    public var records: [StyleRecord]
    public var damaged: [DamagedRecord]
    public init(records: [StyleRecord], damaged: [DamagedRecord]) { self.records = records; self.damaged = damaged }
}

public struct StyleNeighbor: Sendable {
    public let record: StyleRecord
    /// 1 − cosine similarity: 0 for the same direction, 2 for opposite.
    public let cosineDistance: Float
}

public struct ImportSummary: Sendable, Equatable {
    public var added = 0
    /// Existing styles replaced (only with `overwrite`).
    public var replaced = 0
    /// Styles whose name exists (without `overwrite`) or whose image+model is already stored
    /// under another name.
    public var skipped = 0
}

/// The style library: named style records in an LMDB environment.
///
/// Databases: `styles` (name → encoded StyleRecord), `by_pixels` (pixelHash NUL modelID → name),
/// `meta` (schema version). Every mutation is one write transaction, so a crash never leaves a
/// record without its index entry or vice versa. Many processes may use one library at once;
/// readers see consistent snapshots and never block writers. Use one `StyleStore` per
/// directory per process.
public final class StyleStore: @unchecked Sendable {
    // @unchecked: all state is immutable after init; LMDB serialises writers and reads use
    // MDB_NOTLS snapshots, so concurrent calls from several threads are safe.
    public static let schemaVersion: UInt32 = 1

    public let path: String
    public let isReadOnly: Bool
    let env: LMDBEnvironment
    let styles: MDB_dbi
    let byPixels: MDB_dbi
    let meta: MDB_dbi

    public init(path: String, readOnly: Bool = false, initialMapSize: Int = 8 << 20) throws {
        self.path = path
        self.isReadOnly = readOnly
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if exists, !isDir.boolValue { throw StyleStoreError.notADirectory(path: path) }
        if readOnly {
            guard exists, FileManager.default.fileExists(atPath: path + "/data.mdb") else {
                throw StyleStoreError.noLibrary(path: path)
            }
        } else {
            if let failure = makeDirectories(path) {
                if failure.code == ENOTDIR { throw StyleStoreError.notADirectory(path: failure.path) }
                throw StyleStoreError.notWritable(path: path, reason: String(cString: strerror(failure.code)))
            }
            // Say so up front rather than with an obscure LMDB error halfway through a command.
            // (As root, access() ignores mode bits; only a read-only mount is caught then.)
            if access(path, W_OK) != 0 {
                throw StyleStoreError.notWritable(path: path, reason: String(cString: strerror(errno)))
            }
        }
        do {
            env = try LMDBEnvironment(path: path, mapSize: initialMapSize, maxDatabases: 4, readOnly: readOnly)
        } catch {
            // A library that could not be created (a full disk) leaves nothing behind: the
            // directory made for it goes again (rmdir only removes it empty).
            if !exists && !readOnly {
                unlink(path + "/lock.mdb")
                rmdir(path)
            }
            if let e = error as? LMDBError, !readOnly && (e.code == EACCES || e.code == EROFS) {
                throw StyleStoreError.notWritable(path: path, reason: e.message)
            }
            throw error
        }
        do {
            let names = [Self.stylesDatabase, "by_pixels", "meta"]
            let dbis = try (readOnly ? env.read : env.write) { txn in
                try names.map { try txn.openDatabase($0, create: !readOnly) }
            }
            (styles, byPixels, meta) = (dbis[0], dbis[1], dbis[2])
        } catch let e as LMDBError where e.code == MDB_NOTFOUND {
            throw StyleStoreError.noLibrary(path: path)
        }
        let schemaKey = Array("schema".utf8)
        let found = try env.read { txn in try txn.get(meta, schemaKey) }
        if let found {
            var r = ByteReader(found[...])
            let version = try r.u32("schema")
            if version > Self.schemaVersion { throw StyleStoreError.newerSchema(path: path, found: version) }
        } else if !readOnly {
            var w = ByteWriter()
            w.u32(Self.schemaVersion)
            try env.write { txn in try txn.put(meta, schemaKey, w.bytes, noOverwrite: true) }
        }
    }

    // MARK: Keys and records

    /// The database of records (name → encoded StyleRecord).
    static let stylesDatabase = "styles"

    static func key(_ name: String) -> [UInt8] { Array(name.utf8) }

    static func pixelKey(_ pixelHash: String, _ modelID: String) -> [UInt8] {
        Array(pixelHash.utf8) + [0] + Array(modelID.utf8)
    }

    /// The embedding lengths a record may have, one per kind of model (the record stores its
    /// count, docs/library-format.md): Ghiasi et al.'s predictor gives 100 values, AdaIN the
    /// mean and standard deviation of its relu4_1 features, 1024. A record is only ever used by
    /// the model that made it (its `modelID`).
    public static let embeddingSizes: Set<Int> = [100, 1024]

    private func decode(_ bytes: [UInt8], name: String) throws -> StyleRecord {
        let r: StyleRecord
        do { r = try StyleRecord(encoded: bytes) } catch {
            throw StyleStoreError.corruptRecord(name: name, reason: "\(error)")
        }
        guard Self.embeddingSizes.contains(r.embedding.count) else {
            throw StyleStoreError.corruptRecord(name: name, reason: "its embedding has \(r.embedding.count) values, not 100 or 1024")
        }
        guard r.embedding.allSatisfy(\.isFinite) else {
            throw StyleStoreError.corruptRecord(name: name, reason: "its embedding has a NaN or infinite value")
        }
        return r
    }

    /// Deletes the record stored under `name` whatever its bytes hold, and every index entry
    /// pointing at it (a damaged record cannot say which entry is its own).
    func unstoreRaw(_ txn: LMDBTransaction, _ name: String) throws {
        try txn.delete(styles, Self.key(name))
        var stale: [[UInt8]] = []
        try txn.forEach(byPixels) { k, v in
            if v == Self.key(name) { stale.append(k) }
            return true
        }
        for k in stale { try txn.delete(byPixels, k) }
    }

    func record(_ txn: LMDBTransaction, _ name: String) throws -> StyleRecord? {
        try txn.get(styles, Self.key(name)).map { try decode($0, name: name) }
    }

    private func existing(_ txn: LMDBTransaction, _ name: String) throws -> StyleRecord {
        if let r = try record(txn, name) { return r }
        throw StyleStoreError.notFound(name, suggestions: try suggestions(for: name, txn))
    }

    func writing<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        guard !isReadOnly else { throw StyleStoreError.openedReadOnly(path: path) }
        return try env.write(body)
    }

    /// Stores `r` under its name and (for image styles) indexes it by pixels+model.
    func store(_ txn: LMDBTransaction, _ r: StyleRecord) throws {
        try txn.put(styles, Self.key(r.name), r.encoded())
        if !r.pixelHash.isEmpty {
            try txn.put(byPixels, Self.pixelKey(r.pixelHash, r.modelID), Self.key(r.name))
        }
    }

    /// Deletes `r` and its index entry (only if the entry still points at it).
    func unstore(_ txn: LMDBTransaction, _ r: StyleRecord) throws {
        try txn.delete(styles, Self.key(r.name))
        let pk = Self.pixelKey(r.pixelHash, r.modelID)
        if !r.pixelHash.isEmpty, try txn.get(byPixels, pk) == Self.key(r.name) {
            try txn.delete(byPixels, pk)
        }
    }

    static func validate(_ r: StyleRecord) throws {
        try StyleName.validate(r.name)
        for t in r.tags { try StyleName.validate(t, what: "tag") }
        guard embeddingSizes.contains(r.embedding.count) else {
            throw StyleStoreError.invalidRecord("'\(r.name)' has an embedding of \(r.embedding.count) values; styles have 100 (Ghiasi) or 1024 (AdaIN)")
        }
        guard r.embedding.allSatisfy(\.isFinite) else {
            throw StyleStoreError.invalidRecord("'\(r.name)' has a NaN or infinite embedding value")
        }
    }

    // MARK: Queries

    public var count: Int {
        get throws {
            try env.read { txn in try txn.count(styles) }
        }
    }

    /// The cached style for an image (by decoded-pixel hash) under a given predictor, if any:
    /// the check to make before running the network.
    public func lookup(pixelHash: String, modelID: String) throws -> StyleRecord? {
        guard !pixelHash.isEmpty else { return nil }
        return try env.read { txn in
            guard let name = try txn.get(byPixels, Self.pixelKey(pixelHash, modelID)) else { return nil }
            return try record(txn, String(decoding: name, as: UTF8.self))
        }
    }

    /// The style named `name`; an unknown name's error suggests the closest existing names.
    public func get(_ name: String) throws -> StyleRecord {
        try env.read { txn in try existing(txn, name) }
    }

    public func contains(_ name: String) throws -> Bool {
        try env.read { txn in try txn.get(styles, Self.key(name)) != nil }
    }

    /// All styles (optionally only those tagged `tag`), sorted by name (bytewise, so
    /// case-sensitive: "B" sorts before "a").
    public func list(tag: String? = nil) throws -> [StyleRecord] {
        try scan(tag: tag).records
    }

    /// Every record that decodes (optionally only those tagged `tag`), sorted by name, and by
    /// key every one that does not: one damaged record never hides the others.
    public func scan(tag: String? = nil) throws -> StyleScan {
        try env.read { txn in
            var out = StyleScan(records: [], damaged: [])
            try txn.forEach(styles) { k, v in
                let name = String(decoding: k, as: UTF8.self)
                do {
                    let r = try decode(v, name: name)
                    if tag.map(r.tags.contains) ?? true { out.records.append(r) }
                } catch let StyleStoreError.corruptRecord(_, reason) {
                    out.damaged.append(DamagedRecord(name: name, reason: reason))
                }
                return true
            }
            return out
        }
    }

    public func names() throws -> [String] {
        try env.read { txn in
            var out = [String]()
            try txn.forEach(styles) { k, _ in out.append(String(decoding: k, as: UTF8.self)); return true }
            return out
        }
    }

    /// The `k` styles whose embeddings are closest in cosine distance to `embedding`, nearest
    /// first. Styles with a different embedding length (another predictor) are ignored.
    public func nearest(to embedding: [Float], k: Int, excluding: String? = nil) throws -> [StyleNeighbor] {
        guard k > 0 else { return [] }
        let all = try list().filter { $0.name != excluding && $0.embedding.count == embedding.count }
        return all.map { StyleNeighbor(record: $0, cosineDistance: cosineDistance(embedding, $0.embedding)) }
            .sorted { ($0.cosineDistance, $0.record.name) < ($1.cosineDistance, $1.record.name) }
            .prefix(k).map { $0 }
    }

    // MARK: Mutations

    /// Adds `record` in one transaction. If a style with the same (pixelHash, modelID) exists it
    /// is returned with `reused = true` and nothing changes. A taken name becomes name-2, name-3, …
    /// when `uniquifyName`, else the insert fails.
    @discardableResult
    public func insert(_ record: StyleRecord, uniquifyName: Bool) throws -> InsertResult {
        try Self.validate(record)
        return try writing { txn in
            if !record.pixelHash.isEmpty,
               let name = try txn.get(byPixels, Self.pixelKey(record.pixelHash, record.modelID)) {
                return InsertResult(record: try existing(txn, String(decoding: name, as: UTF8.self)), reused: true)
            }
            var r = record
            r.name = try freeName(txn, record.name, uniquify: uniquifyName)
            try store(txn, r)
            return InsertResult(record: r, reused: false)
        }
    }

    private func freeName(_ txn: LMDBTransaction, _ name: String, uniquify: Bool) throws -> String {
        if try txn.get(styles, Self.key(name)) == nil { return name }
        guard uniquify else { throw StyleStoreError.nameTaken(name) }
        for n in 2... {
            let suffix = "-\(n)"
            let candidate = String(name.prefix(StyleName.maxLength - suffix.count)) + suffix
            if try txn.get(styles, Self.key(candidate)) == nil { return candidate }
        }
        fatalError("unreachable")
    }

    /// Removes the named styles, all or nothing: an unknown name fails the whole call. A
    /// damaged record is removed too, with every index entry that points at it.
    public func remove(_ names: [String]) throws {
        try writing { txn in
            var records: [StyleRecord] = [], damaged: [String] = []
            for name in names {
                do { records.append(try existing(txn, name)) } catch StyleStoreError.corruptRecord {
                    damaged.append(name)
                }
            }
            for r in records where try txn.get(styles, Self.key(r.name)) != nil { try unstore(txn, r) }
            for name in damaged { try unstoreRaw(txn, name) }
        }
    }

    /// Renames a style, moving its index entry and updating blend recipes that name it.
    /// (Removing a style leaves recipes alone: they record what a blend was made from.)
    @discardableResult
    public func rename(_ old: String, to new: String) throws -> StyleRecord {
        try StyleName.validate(new)
        return try writing { txn in
            var r = try existing(txn, old)
            guard old != new else { return r }
            if try txn.get(styles, Self.key(new)) != nil { throw StyleStoreError.nameTaken(new) }
            try unstore(txn, r)
            r.name = new
            try store(txn, r)
            var blends = [StyleRecord]()
            try txn.forEach(styles) { k, v in
                var b = try decode(v, name: String(decoding: k, as: UTF8.self))
                if let recipe = b.recipe, recipe.contains(where: { $0.name == old }) {
                    b.recipe = recipe.map { RecipeComponent(name: $0.name == old ? new : $0.name, weight: $0.weight) }
                    blends.append(b)
                }
                return true
            }
            for b in blends { try txn.put(styles, Self.key(b.name), b.encoded()) }
            return blends.first { $0.name == new } ?? r
        }
    }

    /// Stores the style `source` again under `name` (the same pixels added with a new name):
    /// the embedding, thumbnail and source are shared, the tags are `tags`, and `source` keeps its
    /// name and its place in the pixel index, so an add never takes a name away. A record already
    /// named `name` with the same pixels is returned as it is (`reused`); any other is a taken name.
    public func copy(_ source: String, as name: String, tags: [String]) throws -> InsertResult {
        try StyleName.validate(name)
        for t in tags { try StyleName.validate(t, what: "tag") }
        return try writing { txn in
            let original = try existing(txn, source)
            if let there = try record(txn, name) {
                guard there.pixelHash == original.pixelHash, there.modelID == original.modelID else {
                    throw StyleStoreError.nameTaken(name)
                }
                return InsertResult(record: there, reused: true)
            }
            var r = original
            r.name = name
            r.tags = tags
            r.recipe = nil
            r.addedAtMilliseconds = Int64(Date().timeIntervalSince1970 * 1000)
            try txn.put(styles, Self.key(r.name), r.encoded())
            return InsertResult(record: r, reused: false)
        }
    }

    @discardableResult
    public func addTags(_ name: String, _ tags: [String]) throws -> StyleRecord {
        for t in tags { try StyleName.validate(t, what: "tag") }
        return try updateTags(name) { $0 + tags }
    }

    /// Tags not present are ignored.
    @discardableResult
    public func removeTags(_ name: String, _ tags: [String]) throws -> StyleRecord {
        try updateTags(name) { $0.filter { !tags.contains($0) } }
    }

    private func updateTags(_ name: String, _ change: ([String]) -> [String]) throws -> StyleRecord {
        try writing { txn in
            var r = try existing(txn, name)
            r.tags = change(r.tags)
            try txn.put(styles, Self.key(name), r.encoded())
            return r
        }
    }

    // MARK: Integrity

    /// Problems found by a full scan (empty when healthy): undecodable records, records stored
    /// under the wrong key, index entries pointing nowhere, image styles missing from the index.
    public func verify() throws -> [String] {
        try env.read { txn in
            var problems = [String]()
            var records = [String: StyleRecord]()
            try txn.forEach(styles) { k, v in
                let name = String(decoding: k, as: UTF8.self)
                do {
                    let r = try decode(v, name: name)
                    if r.name != name { problems.append("style '\(name)' holds a record named '\(r.name)'") }
                    records[name] = r
                } catch let StyleStoreError.corruptRecord(_, reason) {
                    problems.append("style '\(name)' is damaged: \(reason)")
                }
                return true
            }
            var indexed = Set<String>()
            try txn.forEach(byPixels) { k, v in
                let name = String(decoding: v, as: UTF8.self)
                indexed.insert(name)
                if let r = records[name] {
                    if Self.pixelKey(r.pixelHash, r.modelID) != k {
                        problems.append("by_pixels entry for '\(name)' does not match its pixel hash and model")
                    }
                } else {
                    problems.append("by_pixels entry points to missing style '\(name)'")
                }
                return true
            }
            for (name, r) in records where !r.pixelHash.isEmpty && !indexed.contains(name) {
                problems.append("style '\(name)' is missing from by_pixels")
            }
            return problems.sorted()
        }
    }

    // MARK: Suggestions

    /// Up to three existing names within a small edit distance of `name`, closest first.
    private func suggestions(for name: String, _ txn: LMDBTransaction) throws -> [String] {
        let limit = max(2, name.count / 3)
        var scored = [(Int, String)]()
        try txn.forEach(styles) { k, _ in
            let candidate = String(decoding: k, as: UTF8.self)
            let d = candidate.lowercased() == name.lowercased() ? 0 : editDistance(name, candidate)
            if d <= limit { scored.append((d, candidate)) }
            return true
        }
        return scored.sorted { $0 < $1 }.prefix(3).map(\.1)
    }
}

/// Levenshtein distance over Unicode scalars.
/// Levenshtein distance over Unicode scalars ("did you mean" suggestions for names and flags).
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    var row = Array(0...b.count)  // distances from a[..<i] to each prefix of b
    for i in a.indices.map({ $0 + 1 }) {
        var prev = row[0]
        row[0] = i
        for j in b.indices.map({ $0 + 1 }) {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
            prev = current
        }
    }
    return row[b.count]
}

/// 1 − cos(a, b); a zero vector is treated as orthogonal to everything (distance 1).
func cosineDistance(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Double = 0, na: Double = 0, nb: Double = 0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i])
        na += Double(a[i]) * Double(a[i])
        nb += Double(b[i]) * Double(b[i])
    }
    guard na > 0, nb > 0 else { return 1 }
    return Float(1 - dot / (na.squareRoot() * nb.squareRoot()))
}
