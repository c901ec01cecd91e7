import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

/// `pastiche data pack`: decoded, resized images in LMDB (key: 8-digit index; value: u32 width,
/// u32 height, u16 name length, name bytes, interleaved RGB8).
public enum DataPack {
    static let imagesDatabase = "images"

    static func key(_ i: Int) -> [UInt8] { Array(String(format: "%08d", i).utf8) }

    static func encode(name: String, image: RGBImage) -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out.append(contentsOf: $0) } }
        u32(image.width); u32(image.height)
        let n = Array(name.utf8)
        withUnsafeBytes(of: UInt16(n.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: n)
        out.append(contentsOf: image.interleavedRGB8())
        return out
    }

    static func header(_ v: [UInt8]) -> (w: Int, h: Int, nameLen: Int)? {
        guard v.count >= 10 else { return nil }
        func u32(_ o: Int) -> Int { Int(v[o]) | Int(v[o + 1]) << 8 | Int(v[o + 2]) << 16 | Int(v[o + 3]) << 24 }
        return (u32(0), u32(4), Int(v[8]) | Int(v[9]) << 8)
    }

    static func decodeName(_ v: [UInt8]) -> String {
        guard let h = header(v), v.count >= 10 + h.nameLen else { return "?" }
        return String(decoding: v[10..<(10 + h.nameLen)], as: UTF8.self)
    }

    static func decodeImage(_ v: [UInt8]) throws -> RGBImage {
        guard let h = header(v), v.count == 10 + h.nameLen + 3 * h.w * h.h else { throw TrainingError("packed image is corrupt") }
        return RGBImage(width: h.w, height: h.h, interleavedRGB8: Array(v[(10 + h.nameLen)...]))
    }

    /// Packs every image under `dir` into the LMDB environment `output`, shortest side
    /// reduced to `maxSide`. Returns the number of images; `progress(i, n)` after each.
    @discardableResult
    public static func pack(_ dir: String, to output: String, maxSide: Int,
                            progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        let files = ImageFolder.entries(dir)
        if files.isEmpty { throw TrainingError("\(dir): no JPEG or PNG images found") }
        if FileManager.default.fileExists(atPath: output) {
            throw TrainingError("\(output) already exists; remove it or choose another -o")
        }
        // Written beside the output and renamed into place at the end: a pack that fails on a
        // bad image (or is killed) leaves no partial file that a rerun would call existing.
        let partial = output + ".partial-\(getpid())"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            let env = try LMDBEnvironment(path: partial, mapSize: 64 << 20, maxDatabases: 4)
            let db = try env.openDatabase(imagesDatabase)
            for (i, f) in files.enumerated() {
                var img = try ImageIO.read(path: f.path)
                if min(img.width, img.height) > maxSide { img = img.resizedShortestSide(to: maxSide) }
                let value = encode(name: f.relative, image: img)
                try env.write { txn in _ = try txn.put(db, key(i), value) }
                progress(i + 1, files.count)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
        try FileManager.default.moveItem(atPath: partial, toPath: output)
        return files.count
    }
}
