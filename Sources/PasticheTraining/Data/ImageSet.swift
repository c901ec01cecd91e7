import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

/// A set of training images: every JPEG/PNG under a folder (recursively, sorted by path), a
/// file packed by `DataPack`, or one image. Images are kept decoded (8-bit, shortest side capped at
/// `maxSide`) after first use, so later epochs do not decode again.
public final class ImageSet: @unchecked Sendable {
    public let path: String
    public let names: [String]
    public var count: Int { names.count }
    let maxSide: Int
    private var cache: [Int: (w: Int, h: Int, rgb: [UInt8])] = [:]
    private let lock = NSLock()
    private let lmdb: (env: LMDBEnvironment, db: UInt32)?
    /// A concatenation's sets, in order (empty for a folder, pack or image).
    private let parts: [ImageSet]

    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    public init(path: String, maxSide: Int) throws {
        self.path = path
        self.maxSide = maxSide
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw TrainingError("\(path): no such file or directory")
        }
        if isDir.boolValue && FileManager.default.fileExists(atPath: path + "/data.mdb") {
            let env = try LMDBEnvironment(path: path, mapSize: 1 << 20, maxDatabases: 4, readOnly: true)
            let db = try env.openDatabase(DataPack.imagesDatabase)
            var names: [String] = []
            try env.read { txn in
                try txn.forEach(db) { _, value in
                    names.append(DataPack.decodeName(value)); return true
                }
            }
            self.names = names
            lmdb = (env, db)
        } else if isDir.boolValue {
            names = ImageFolder.scan(path)
            lmdb = nil
        } else if let ext = path.split(separator: ".").last, Self.extensions.contains(ext.lowercased()) {
            names = [path]  // one image (a per-style network's style)
            lmdb = nil
        } else {
            throw TrainingError("\(path): expected a folder of JPEG/PNG images, a packed .lmdb folder or one JPEG/PNG image")
        }
        if names.isEmpty { throw TrainingError("\(path): no JPEG or PNG images found") }
        parts = []
    }

    /// Several sets as one: image `i` is the first set's while `i` is below its count, then the
    /// next set's, and so on. The sets keep their own caches (a set shared with another role,
    /// e.g. the content photos as styles too, is decoded once).
    public init(concatenating sets: [ImageSet]) {
        precondition(!sets.isEmpty, "a concatenation of no sets")
        path = sets.map(\.path).joined(separator: " + ")
        maxSide = sets.map(\.maxSide).max()!
        names = sets.flatMap(\.names)
        lmdb = nil
        parts = sets
    }

    /// Image `i`, shortest side at most `maxSide`.
    public func image(_ i: Int) throws -> RGBImage {
        if !parts.isEmpty {
            var k = i
            for part in parts {
                if k < part.count { return try part.image(k) }
                k -= part.count
            }
            preconditionFailure("image \(i) of a set of \(count)")
        }
        lock.lock()
        let hit = cache[i]
        lock.unlock()
        if let hit { return RGBImage(width: hit.w, height: hit.h, interleavedRGB8: hit.rgb) }
        var img: RGBImage
        if let lmdb {
            let key = DataPack.key(i)
            guard let value = try lmdb.env.read({ txn in try txn.get(lmdb.db, key) }) else {
                throw TrainingError("\(path): image \(i) missing")
            }
            img = try DataPack.decodeImage(value)
        } else {
            img = try ImageIO.read(path: names[i])
        }
        if min(img.width, img.height) > maxSide { img = img.resizedShortestSide(to: maxSide) }
        let entry = (img.width, img.height, img.interleavedRGB8())
        lock.lock(); cache[i] = entry; lock.unlock()
        return RGBImage(width: entry.0, height: entry.1, interleavedRGB8: entry.2)
    }
}
