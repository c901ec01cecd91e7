import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// Uploaded photos, by content address (SHA-256 of the uploaded bytes), with the copies the
/// mixer asks for again and again: the photo fitted to each preview size, and its own embedding
/// at that size (for strength < 1). Bounded in bytes; the least recently used photo goes first,
/// and a request for it afterwards gets 404.
final class PhotoCache: @unchecked Sendable {
    private final class Entry {
        let original: RGBImage
        var fitted: [Int: RGBImage] = [:]
        var ownEmbedding: [Int: Embedding] = [:]
        var lastUse: UInt64 = 0

        init(original: RGBImage) { self.original = original }

        var bytes: Int {
            (original.pixels.count + fitted.values.reduce(0) { $0 + $1.pixels.count }) * MemoryLayout<Float>.size
                + ownEmbedding.count * PredictorArchitecture.embeddingSize * MemoryLayout<Float>.size
        }
    }

    private let budget: Int
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var clock: UInt64 = 0

    init(budget: Int) { self.budget = budget }

    static func id(of bytes: [UInt8]) -> String {
        var h = SHA256()
        h.update(bytes)
        return String(h.finalizeHex().prefix(32))
    }

    var summary: (count: Int, bytes: Int) {
        lock.withLock { (entries.count, entries.values.reduce(0) { $0 + $1.bytes }) }
    }

    func contains(_ id: String) -> Bool { lock.withLock { entries[id] != nil } }

    func size(of id: String) -> (width: Int, height: Int)? {
        lock.withLock { entries[id].map { ($0.original.width, $0.original.height) } }
    }

    /// Stores a decoded photo (a photo already here is only touched).
    func insert(_ id: String, _ image: RGBImage) throws {
        let cost = image.pixels.count * MemoryLayout<Float>.size
        guard cost <= budget else {
            throw StudioError(413, "the photo (\(image.width)×\(image.height)) is larger than the studio's photo cache (\(budget >> 20) MB); start `pastiche serve` with a larger --photo-cache")
        }
        lock.withLock {
            if entries[id] == nil { entries[id] = Entry(original: image) }
            touch(id)
            evict(keeping: id)
        }
    }

    /// The photo fitted to `maxSize` (nil: full size), exactly as `stylize --max-size` reads it.
    func content(_ id: String, maxSize: Int?) throws -> RGBImage {
        let entry = try lookup(id)
        guard let maxSize else { return entry.original }
        if let cached = lock.withLock({ entry.fitted[maxSize] }) { return cached }
        let fitted = entry.original.resizedToFit(maxSide: maxSize)
        lock.withLock {
            entry.fitted[maxSize] = fitted
            evict(keeping: id)
        }
        return fitted
    }

    /// The photo's own embedding at `maxSize`, computed once by `make`.
    func ownEmbedding(_ id: String, maxSize: Int?, make: () -> Embedding) throws -> Embedding {
        let entry = try lookup(id)
        let key = maxSize ?? 0
        if let cached = lock.withLock({ entry.ownEmbedding[key] }) { return cached }
        let e = make()
        lock.withLock { entry.ownEmbedding[key] = e }
        return e
    }

    private func lookup(_ id: String) throws -> Entry {
        try lock.withLock {
            guard let e = entries[id] else {
                throw StudioError.notFound("no photo '\(id)' here (never uploaded, or dropped from the cache): upload it again")
            }
            touch(id)
            return e
        }
    }

    private func touch(_ id: String) {
        clock += 1
        entries[id]?.lastUse = clock
    }

    /// Drops least recently used photos until the rest fit; the photo in use stays.
    private func evict(keeping id: String) {
        var total = entries.values.reduce(0) { $0 + $1.bytes }
        while total > budget,
              let victim = entries.filter({ $0.key != id }).min(by: { $0.value.lastUse < $1.value.lastUse }) {
            total -= victim.value.bytes
            entries[victim.key] = nil
        }
        // The photo in use alone over budget: shed its preview copies (they are remade on demand).
        if total > budget, let e = entries[id] {
            e.fitted.removeAll()
        }
    }
}
