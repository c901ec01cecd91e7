import Foundation

/// NumPy's own file formats, so arrays reach Python without a converter: `.npy` (format 1.0,
/// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html) for little-endian
/// float32 and fixed-width unicode arrays in C order, and `.npz`, a zip of `.npy` members
/// stored uncompressed (PKWARE APPNOTE 6.3, the subset `numpy.load` reads).
public enum Numpy {
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// float32 values of the given C-order shape as `.npy` bytes.
    public static func npy(_ values: [Float], shape: [Int]) -> Data {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        var body = Data(count: values.count * 4)
        body.withUnsafeMutableBytes { out in
            for (i, v) in values.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        return header(descr: "<f4", shape: shape) + body
    }

    /// Strings as a 1-D `<U` array (UTF-32LE, padded to the longest).
    public static func npy(_ strings: [String]) -> Data {
        let scalars = strings.map { Array($0.unicodeScalars) }
        let width = max(1, scalars.map(\.count).max() ?? 1)
        var body = Data(count: strings.count * width * 4)
        body.withUnsafeMutableBytes { out in
            for (i, s) in scalars.enumerated() {
                for (j, u) in s.enumerated() { out.storeBytes(of: u.value.littleEndian, toByteOffset: 4 * (i * width + j), as: UInt32.self) }
            }
        }
        return header(descr: "<U\(width)", shape: [strings.count]) + body
    }

    /// The magic, version 1.0, and the header dict padded with spaces to a multiple of 64 bytes.
    static func header(descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(dict.utf8.count)
        d.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        d.append(contentsOf: Array(dict.utf8))
        return d
    }

    /// A `.npy` float32 array (little-endian, C order): its shape and values.
    public static func readFloats(_ data: Data) throws -> (shape: [Int], values: [Float]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw FormatError(description: "not a .npy file")
        }
        let major = bytes[6]
        let lengthSize = major == 1 ? 2 : 4
        guard bytes.count >= 8 + lengthSize else { throw FormatError(description: "truncated .npy header") }
        var length = 0
        for k in 0..<lengthSize { length |= Int(bytes[8 + k]) << (8 * k) }
        let start = 8 + lengthSize
        guard bytes.count >= start + length, let dict = String(bytes: bytes[start..<(start + length)], encoding: .ascii) else {
            throw FormatError(description: "truncated .npy header")
        }
        guard dict.contains("'descr': '<f4'"), dict.contains("'fortran_order': False"),
              let open = dict.range(of: "'shape': ("), let close = dict[open.upperBound...].firstIndex(of: ")") else {
            throw FormatError(description: "only little-endian float32 C-order .npy files are read (header \(dict))")
        }
        let shape = dict[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        let count = shape.reduce(1, *), offset = start + length
        guard bytes.count - offset == 4 * count else {
            throw FormatError(description: ".npy holds \(bytes.count - offset) bytes for shape \(shape)")
        }
        let values = (0..<count).map { i -> Float in
            var u: UInt32 = 0
            for k in 0..<4 { u |= UInt32(bytes[offset + 4 * i + k]) << (8 * k) }
            return Float(bitPattern: u)
        }
        return (shape, values)
    }

    /// An `.npz`: each (name, .npy bytes) as the member `name.npy`, stored, in the given order.
    public static func npz(_ arrays: [(name: String, npy: Data)]) -> Data {
        var out = Data(), central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]) }
        func u32(_ v: UInt32, _ d: inout Data) { for k in 0..<4 { d.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
        // 1980-01-01 00:00, the zip epoch: the archive's bytes depend only on its arrays.
        let dosTime = 0, dosDate = (0 << 9) | (1 << 5) | 1
        for (name, npy) in arrays {
            let file = Array((name + ".npy").utf8)
            let crc = crc32(npy)
            let offset = UInt32(out.count)
            precondition(npy.count < Int(UInt32.max) && out.count < Int(UInt32.max), "npz members stay under 4 GB")
            // Local file header, then the data.
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(dosTime, &out); u16(dosDate, &out)
            u32(crc, &out); u32(UInt32(npy.count), &out); u32(UInt32(npy.count), &out)
            u16(file.count, &out); u16(0, &out); out.append(contentsOf: file)
            out.append(npy)
            // Its central directory entry.
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(dosTime, &central); u16(dosDate, &central)
            u32(crc, &central); u32(UInt32(npy.count), &central); u32(UInt32(npy.count), &central)
            u16(file.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central); central.append(contentsOf: file)
        }
        let centralOffset = UInt32(out.count)
        out.append(central)
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(arrays.count, &out); u16(arrays.count, &out)
        u32(UInt32(central.count), &out); u32(centralOffset, &out); u16(0, &out)
        return out
    }

    /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip requires.
    static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { raw in
            for b in raw {
                crc ^= UInt32(b)
                for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
            }
        }
        return ~crc
    }
}
