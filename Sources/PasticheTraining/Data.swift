import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

public struct TrainingError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// A set of training images: every JPEG/PNG under a folder (recursively, sorted by path), or
/// a file packed by `DataPack`. Images are kept decoded (8-bit, shortest side capped at
/// `maxSide`) after first use, so later epochs do not decode again.
public final class ImageSet: @unchecked Sendable {
    public let path: String
    public let names: [String]
    public var count: Int { names.count }
    let maxSide: Int
    private var cache: [Int: (w: Int, h: Int, rgb: [UInt8])] = [:]
    private let lock = NSLock()
    private let lmdb: (env: LMDBEnvironment, db: UInt32)?

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
        } else {
            throw TrainingError("\(path): expected a folder of JPEG/PNG images or a packed .lmdb folder")
        }
        if names.isEmpty { throw TrainingError("\(path): no JPEG or PNG images found") }
    }

    /// Image `i`, shortest side at most `maxSide`.
    public func image(_ i: Int) throws -> RGBImage {
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
        let files = ImageFolder.scan(dir)
        if files.isEmpty { throw TrainingError("\(dir): no JPEG or PNG images found") }
        if FileManager.default.fileExists(atPath: output) {
            throw TrainingError("\(output) already exists; remove it or choose another -o")
        }
        let env = try LMDBEnvironment(path: output, mapSize: 64 << 20, maxDatabases: 4)
        let db = try env.openDatabase(imagesDatabase)
        for (i, f) in files.enumerated() {
            var img = try ImageIO.read(path: f)
            if min(img.width, img.height) > maxSide { img = img.resizedShortestSide(to: maxSide) }
            let rel = f.hasPrefix(dir + "/") ? String(f.dropFirst(dir.count + 1)) : f
            let value = encode(name: rel, image: img)
            try env.write { txn in _ = try txn.put(db, key(i), value) }
            progress(i + 1, files.count)
        }
        return files.count
    }
}

/// One training batch: content crops and augmented style images, [N, 3, size, size] each
/// (no content when the run has no content set: distillation on embeddings alone).
public struct Batch {
    public let step: Int
    public let content: Tensor?
    public let style: Tensor
}

/// Draws batches deterministically from (seed, step): the sample order is a per-epoch
/// permutation of each image set (seeded by epoch), every augmentation draws from a generator
/// derived from (seed, step, slot). Nothing depends on earlier batches, so the data-order and
/// RNG state of a run is (seed, step) — what a checkpoint stores to resume exactly.
public final class BatchSampler: @unchecked Sendable {
    public let content: ImageSet?
    public let styles: ImageSet
    public let batch: Int
    public let size: Int
    public let seed: UInt64
    public let augmentStyles: Bool
    private var perms: [String: [Int]] = [:]

    public init(content: ImageSet?, styles: ImageSet, batch: Int, size: Int, seed: UInt64, augmentStyles: Bool = true) {
        self.content = content; self.styles = styles
        self.batch = batch; self.size = size; self.seed = seed; self.augmentStyles = augmentStyles
    }

    /// Shortest side the image sets need to keep (style crops come from up to 1.78 × size).
    public static func cacheSide(size: Int) -> Int { size + size * 25 / 32 + 1 }

    private func index(_ set: ImageSet, stream: UInt64, sample k: Int) -> Int {
        let epoch = k / set.count
        let key = "\(stream)-\(epoch)"
        if perms[key] == nil {
            var g = SplitMix64.derived(seed, stream, UInt64(epoch))
            perms[key] = Array(0..<set.count).shuffled(using: &g)
            if perms.count > 8 { perms = perms.filter { $0.key == key } }
        }
        return perms[key]![k % set.count]
    }

    public func make(step: Int) throws -> Batch {
        let c = content.map { _ in Tensor(batch, 3, size, size, zeroed: false) }
        let s = Tensor(batch, 3, size, size, zeroed: false)
        for b in 0..<batch {
            let k = step * batch + b
            var g = SplitMix64.derived(seed, 3, UInt64(k))
            if let content, let c {
                let ci = try content.image(index(content, stream: 1, sample: k))
                copy(Augment.contentCrop(ci, size: size, rng: &g), into: c, index: b)
            }
            let si = try styles.image(index(styles, stream: 2, sample: k))
            copy(augmentStyles ? Augment.style(si, size: size, rng: &g) : Augment.centre(si, size: size), into: s, index: b)
        }
        return Batch(step: step, content: c, style: s)
    }

    func copy(_ img: RGBImage, into t: Tensor, index b: Int) {
        precondition(img.width == t.w && img.height == t.h)
        img.pixels.withUnsafeBufferPointer { src in
            t.image(b).update(from: src.baseAddress!, count: 3 * t.plane)
        }
    }
}

/// Crops and Magenta-style augmentation.
public enum Augment {
    /// Shortest side → `size`, centre crop (evaluation, both content and style).
    public static func centre(_ img: RGBImage, size: Int) -> RGBImage {
        img.resizedShortestSide(to: size).centerCropped(width: size, height: size)
    }

    static func randomCrop(_ img: RGBImage, size: Int, rng: inout SplitMix64) -> RGBImage {
        let x = img.width > size ? Int(rng.next() % UInt64(img.width - size + 1)) : 0
        let y = img.height > size ? Int(rng.next() % UInt64(img.height - size + 1)) : 0
        return img.cropped(x: x, y: y, width: size, height: size)
    }

    /// Content: shortest side to a random length in [size, 1.25·size], random size² crop,
    /// random left-right flip.
    public static func contentCrop(_ img: RGBImage, size: Int, rng: inout SplitMix64) -> RGBImage {
        let side = size + Int(rng.next() % UInt64(size / 4 + 1))
        var out = randomCrop(img.resizedShortestSide(to: side, filter: .bilinear), size: size, rng: &rng)
        if rng.next() & 1 == 1 { out = flipped(out, horizontal: true) }
        return out
    }

    /// Magenta's style augmentation (image_utils.arbitrary_style_image_inputs with
    /// augment_style_images): random left-right and up-down flips, brightness, saturation and
    /// hue jitter, then aspect-preserving resize of the shortest side to a random length in
    /// [size + 2, 1.78·size] (Magenta: [258, 456] at 256) and a random size² crop.
    public static func style(_ img: RGBImage, size: Int, rng: inout SplitMix64) -> RGBImage {
        var out = img
        if rng.next() & 1 == 1 { out = flipped(out, horizontal: true) }
        if rng.next() & 1 == 1 { out = flipped(out, horizontal: false) }
        let brightness = rng.uniform(-0.2, 0.2)
        let saturation = rng.uniform(0.5, 1.5)
        let hue = rng.uniform(-0.1, 0.1)   // turns
        let lo = size + 2, hi = max(lo, size * 57 / 32)
        let side = lo + Int(rng.next() % UInt64(hi - lo + 1))
        // Bilinear, as Magenta's tf.image.resize_images (and a third of Lanczos-3's taps: the
        // prefetch thread shares the cores with the training step).
        out = randomCrop(out.resizedShortestSide(to: side, filter: .bilinear), size: size, rng: &rng)
        return jitter(out, brightness: brightness, saturation: saturation, hue: hue)
    }

    static func flipped(_ img: RGBImage, horizontal: Bool) -> RGBImage {
        var p = img.pixels
        let w = img.width, h = img.height
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    let (sx, sy) = horizontal ? (w - 1 - x, y) : (x, h - 1 - y)
                    p[c * w * h + y * w + x] = img.pixels[c * w * h + sy * w + sx]
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: p)
    }

    /// Brightness shift, saturation scale and hue rotation in YIQ (TF's adjust_hue rotates the
    /// hue angle; YIQ rotation is the same idea without an HSV round trip), clamped to [0, 1].
    static func jitter(_ img: RGBImage, brightness: Float, saturation: Float, hue: Float) -> RGBImage {
        let n = img.planeSize
        var p = img.pixels
        let a = 2 * Float.pi * hue
        let ca = cos(a), sa = sin(a)
        for i in 0..<n {
            let r = p[i], g = p[n + i], b = p[2 * n + i]
            let y = 0.299 * r + 0.587 * g + 0.114 * b
            var iq = 0.596 * r - 0.274 * g - 0.322 * b
            var q = 0.211 * r - 0.523 * g + 0.312 * b
            (iq, q) = ((iq * ca - q * sa) * saturation, (iq * sa + q * ca) * saturation)
            let yb = y + brightness
            p[i] = min(max(yb + 0.956 * iq + 0.621 * q, 0), 1)
            p[n + i] = min(max(yb - 0.272 * iq - 0.647 * q, 0), 1)
            p[2 * n + i] = min(max(yb - 1.106 * iq + 1.703 * q, 0), 1)
        }
        return RGBImage(width: img.width, height: img.height, pixels: p)
    }
}

/// Prepares batches on a background thread, `depth` ahead of the consumer, so decoding and
/// augmentation overlap with compute. Batches arrive in step order. (An NSCondition rather than
/// DispatchSemaphores: libdispatch traps when a semaphore is freed below its initial value,
/// which is exactly the state an early stop leaves.)
public final class Prefetcher: @unchecked Sendable {
    private let depth: Int
    private let cond = NSCondition()
    private var queue: [Result<Batch, Error>] = []
    private var cancelled = false

    public init(steps: Range<Int>, depth: Int = 2, make: @escaping (Int) throws -> Batch) {
        self.depth = depth
        let t = Thread { [self] in
            for s in steps {
                cond.lock()
                while queue.count >= depth && !cancelled { cond.wait() }
                let stop = cancelled
                cond.unlock()
                if stop { return }
                let r = Result { try make(s) }
                cond.lock(); queue.append(r); cond.broadcast(); cond.unlock()
            }
        }
        t.stackSize = 8 << 20
        t.start()
    }

    public func next() throws -> Batch {
        cond.lock()
        while queue.isEmpty { cond.wait() }
        let r = queue.removeFirst()
        cond.broadcast()
        cond.unlock()
        return try r.get()
    }

    /// Stops the producer after the batch it is making (it keeps this object alive until then).
    public func cancel() {
        cond.lock(); cancelled = true; cond.broadcast(); cond.unlock()
    }
}
