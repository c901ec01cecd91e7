import Foundation
import PasticheCore

/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors):
/// u64 little-endian header length N, N bytes of JSON
/// `{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {..}}`,
/// then the raw little-endian tensor bytes. Pastiche stores only F32.
public enum Safetensors {
    public static func write(_ tensors: [String: Tensor], metadata: [String: String], to path: String) throws {
        let names = tensors.keys.sorted()
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let bytes = t.count * 4
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so tensor data starts 8-byte aligned (as the reference writer does).
        while (json.count % 8) != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let t = tensors[name]!
            out.append(UnsafeBufferPointer(start: t.pointer, count: t.count))
        }
        try AtomicFile.write(out, to: path)
    }

    public struct File {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]
    }

    public static func read(path: String) throws -> File {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError("\(path): no such file (run `pastiche model fetch`, or pass --model)")
        }
        return try parse(data, name: path)
    }

    public static func parse(_ data: Data, name: String) throws -> File {
        func bad(_ why: String) -> ModelError { ModelError("\(name): not a valid safetensors file (\(why))") }
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8), n < 100 << 20 else { throw bad("header length \(n) exceeds file size") }
        let headerData = data.subdata(in: 8..<(8 + Int(n)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw bad("header is not JSON")
        }
        let base = 8 + Int(n)
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int],
                  offsets.count == 2 else { throw bad("entry '\(key)' is malformed") }
            guard dtype == "F32" else { throw bad("tensor '\(key)' has dtype \(dtype); only F32 is supported") }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == count * 4, offsets[0] >= 0, base + offsets[1] <= data.count else {
                throw bad("tensor '\(key)' lies outside the file (truncated?)")
            }
            let t = Tensor(shape: shape.isEmpty ? [1] : shape, zeroed: false)
            data.withUnsafeBytes { raw in
                let src = raw.baseAddress! + base + offsets[0]
                memcpy(t.pointer, src, count * 4)
            }
            tensors[key] = t
        }
        return File(tensors: tensors, metadata: metadata)
    }
}

/// Writes through a temporary file in the same directory, fsyncs, then renames: readers see
/// the old file or the new one, never half of one.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = dir + "/.\(url.lastPathComponent).tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw ModelError("\(path): cannot write (\(String(cString: strerror(errno))))") }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let k = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if k <= 0 { return false }
                done += k
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw ModelError("\(path): write failed (\(String(cString: strerror(errno))))")
        }
    }
}

/// One-line, user-facing error from the models layer.
public struct ModelError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
