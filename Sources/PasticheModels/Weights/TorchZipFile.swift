import Foundation

/// PyTorch's zip serialization (`torch.save` since 1.6): a zip archive of stored (uncompressed)
/// entries under one folder, `PREFIX/data.pkl` the pickled object, `PREFIX/data/KEY` each
/// storage's raw little-endian bytes, `PREFIX/version` and, in newer files, `PREFIX/byteorder`.
/// The pickle is a `state_dict` as in the legacy format (`TorchLegacyFile`), whose persistent ids
/// name the storages by key. Read natively: no torch is needed.
public enum TorchZipFile {
    /// Whether `data` starts like a zip archive.
    public static func isZip(_ data: Data) -> Bool { data.starts(with: [0x50, 0x4b, 0x03, 0x04]) }

    /// Either format, by its first bytes.
    public static func readAnyFormat(path: String) throws -> [String: TorchLegacyFile.StoredTensor] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError("\(path): cannot read the file") }
        return isZip(data) ? try parse(data, name: path) : try TorchLegacyFile.parse(data, name: path)
    }

    public static func parse(_ data: Data, name: String) throws -> [String: TorchLegacyFile.StoredTensor] {
        func bad(_ why: String) -> ModelError { ModelError("\(name): not a PyTorch zip file of tensors (\(why))") }
        let entries = try ZipDirectory(data, bad: bad)
        guard let pickleName = entries.names.filter({ $0.hasSuffix("data.pkl") }).min(by: { $0.count < $1.count }) else {
            throw bad("no data.pkl")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if let order = try entries.contents(prefix + "byteorder"), String(decoding: order, as: UTF8.self) != "little" {
            throw bad("saved big-endian")
        }
        var reader = PickleReader(try entries.contents(pickleName)!)
        do {
            let root = try reader.load()
            var storages: [String: Data] = [:]
            for (key, ref) in reader.storages {
                guard let bytes = try entries.contents(prefix + "data/" + key) else { throw bad("storage \(key) is missing") }
                guard ref.count <= bytes.count / ref.dtype.size else { throw bad("storage \(key) is truncated") }
                storages[key] = bytes.prefix(ref.count * ref.dtype.size)
            }
            return try TorchLegacyFile.tensors(of: root, storages: storages, refs: reader.storages, bad: bad)
        } catch let e as PickleError {
            throw bad(e.message)
        }
    }
}

/// A zip archive's central directory (PKWARE APPNOTE 4.3.12–4.3.16, with the ZIP64 records of
/// 4.3.14–4.3.15): entry name → where its stored bytes lie. Every offset and size comes from the
/// file, so each is checked against its length before use.
struct ZipDirectory {
    let data: Data
    private var entries: [String: (offset: Int, size: Int, method: Int)] = [:]
    private let bad: (String) -> ModelError
    var names: [String] { Array(entries.keys) }

    init(_ data: Data, bad: @escaping (String) -> ModelError) throws {
        self.data = data
        self.bad = bad
        let bytes = [UInt8](data)
        func u16(_ o: Int) throws -> Int {
            guard o >= 0, o + 2 <= bytes.count else { throw bad("truncated") }
            return Int(bytes[o]) | Int(bytes[o + 1]) << 8
        }
        func u32(_ o: Int) throws -> Int { let low = try u16(o), high = try u16(o + 2); return low | high << 16 }
        func u64(_ o: Int) throws -> Int {
            let low = try u32(o), high = try u32(o + 4)
            guard high < 1 << 30 else { throw bad("a size beyond any file") }
            return low | high << 32
        }
        // The end-of-central-directory record: the last "PK\5\6" within 64 KiB + 22 of the end.
        var end = -1
        var o = bytes.count - 22
        while o >= max(0, bytes.count - 65_557) {
            if bytes[o] == 0x50 && bytes[o + 1] == 0x4b && bytes[o + 2] == 5 && bytes[o + 3] == 6 { end = o; break }
            o -= 1
        }
        guard end >= 0 else { throw bad("no zip end-of-directory record") }
        var count = try u16(end + 10), directory = try u32(end + 16)
        if count == 0xFFFF || directory == 0xFFFF_FFFF {
            // ZIP64: the locator just before the record points at the ZIP64 end record.
            let locator = end - 20
            guard locator >= 0, try u32(locator) == 0x0706_4b50 else { throw bad("no ZIP64 locator") }
            let record = try u64(locator + 8)
            guard try u32(record) == 0x0606_4b50 else { throw bad("no ZIP64 end record") }
            count = try u64(record + 32)
            directory = try u64(record + 48)
        }
        var p = directory
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4b50 else { throw bad("a damaged central directory") }
            let method = try u16(p + 10)
            var size = try u32(p + 20)
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            var local = try u32(p + 42)
            guard p + 46 + nameLength <= bytes.count else { throw bad("truncated") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            // ZIP64 extended information: the 8-byte values of the fields that read 0xFFFFFFFF.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e), length = try u16(e + 2)
                if id == 1 {
                    var f = e + 4
                    if try u32(p + 24) == 0xFFFF_FFFF { f += 8 }  // uncompressed size (stored: the same)
                    if size == 0xFFFF_FFFF { size = try u64(f); f += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(f) }
                }
                e += 4 + length
            }
            guard try u32(local) == 0x0403_4b50 else { throw bad("entry \(name) has no local header") }
            let localName = try u16(local + 26), localExtra = try u16(local + 28)
            let start = local + 30 + localName + localExtra
            guard start >= 0, size >= 0, start <= bytes.count, size <= bytes.count - start else { throw bad("entry \(name) is truncated") }
            entries[name] = (start, size, method)
            p = extraEnd + commentLength
        }
    }

    /// An entry's bytes; nil when there is no such entry. Only stored entries (method 0), which
    /// is how torch.save writes every entry.
    func contents(_ name: String) throws -> Data? {
        guard let e = entries[name] else { return nil }
        guard e.method == 0 else { throw bad("entry \(name) is compressed (method \(e.method)); torch.save stores its entries") }
        return data.subdata(in: data.startIndex + e.offset..<data.startIndex + e.offset + e.size)
    }
}
