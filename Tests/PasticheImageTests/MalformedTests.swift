import Foundation
import XCTest
import PasticheTestSupport
import CPasticheCodecs
@testable import PasticheImage

/// A malformed corpus generated at run time: each file must throw ImageError with a one-line
/// description that names the file; nothing may crash.
final class MalformedTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = URL(fileURLWithPath: try temporaryDirectory("pastiche-image"))
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
    }

    private func expectError(_ path: String, _ kind: ImageError.Kind, contains text: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let name = (path as NSString).lastPathComponent
        for operation in ["read", "info"] {
            do {
                if operation == "read" { _ = try ImageIO.read(path: path) } else { _ = try ImageIO.info(path: path) }
                if operation == "info" && (kind == .truncated || kind == .corrupt) && name.contains("body") {
                    continue  // damage after the header is only seen by a full decode
                }
                XCTFail("\(operation) \(name): no error", file: file, line: line)
            } catch let error as ImageError {
                let text0 = error.description
                print("\(operation): \(text0)")
                XCTAssertFalse(text0.contains("\n"), "\(name): multi-line description", file: file, line: line)
                XCTAssertTrue(text0.contains(name), "\(text0) does not name \(name)", file: file, line: line)
                XCTAssertTrue(text0.contains(text), "\(operation): \(text0) does not contain '\(text)'", file: file, line: line)
                XCTAssertEqual(error.kind, kind, "\(operation): \(text0)", file: file, line: line)
            } catch {
                XCTFail("\(name): not an ImageError: \(error)", file: file, line: line)
            }
        }
    }

    private static func pngChunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        let crc = crc32(typed)
        return be32(UInt32(body.count)) + typed + be32(crc)
    }

    /// CRC-32 (IEEE, as PNG uses), bitwise.
    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
        }
        return ~crc
    }

    private static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    func testZeroByteFile() throws {
        expectError(try write("empty.png", []), .empty, contains: "file is empty")
    }

    func testMissingFile() {
        expectError(dir.appendingPathComponent("x.png").path, .notFound, contains: "no such file")
    }

    func testTextFileNamedJPG() throws {
        expectError(try write("notes.jpg", Array("these are my notes\n".utf8)), .unknownFormat,
                    contains: "not a PNG or JPEG file")
    }

    func testTruncatedPNG() throws {
        let png = try fixture("png_rgba.png")
        expectError(try write("cut-body.png", Array(png[0..<(png.count / 2)])), .truncated, contains: "truncated PNG data")
        expectError(try write("cut-header.png", Array(png[0..<20])), .truncated, contains: "truncated PNG data")
    }

    func testTruncatedJPEG() throws {
        let jpeg = try fixture("real_summer_palace.jpg")
        expectError(try write("p-body.jpg", Array(jpeg[0..<(jpeg.count / 2)])), .truncated, contains: "truncated JPEG data")
        expectError(try write("p-header.jpg", Array(jpeg[0..<100])), .truncated, contains: "truncated JPEG data")
        let progressive = try fixture("jpeg_progressive.jpg")
        expectError(try write("prog-body.jpg", Array(progressive[0..<(progressive.count * 2 / 3)])), .truncated,
                    contains: "truncated JPEG data")
    }

    func testHugeDeclaredDimensions() throws {
        // A valid-looking PNG whose IHDR (with a correct CRC) declares 100000×100000.
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += Self.pngChunk("IHDR", Self.be32(100_000) + Self.be32(100_000) + [8, 2, 0, 0, 0])
        png += Self.pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        png += Self.pngChunk("IEND", [])
        let path = try write("big.png", png)
        // The header is readable...
        let info = try ImageIO.info(path: path)
        XCTAssertEqual(info.width, 100_000)
        XCTAssertEqual(info.height, 100_000)
        // ...but decoding is refused before any allocation.
        do {
            _ = try ImageIO.read(path: path)
            XCTFail("no error")
        } catch let error as ImageError {
            XCTAssertEqual(error.kind, .tooLarge)
            XCTAssertEqual(error.description,
                           "\(path): 100000×100000 = 10000000000 pixels exceeds the limit of 89478485 pixels")
        }
        // The C decoder refuses it on its own too (libpng user limits + a pixel check), in case
        // a caller skips the Swift check.
        var result = pc_result()
        var out = [Float](repeating: 0, count: 3)
        let status = png.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                pc_png_decode(src.baseAddress, src.count, 89_478_485, 100_000, 100_000, dst.baseAddress, &result)
            }
        }
        XCTAssertEqual(Int(status), Int(PC_ERR_TOO_LARGE))
        // Swift-side limit on a real file.
        XCTAssertThrowsError(try ImageIO.read(path: Fixtures.path("png_rgba.png"), maxPixels: 64 * 48 - 1)) { error in
            XCTAssertEqual((error as? ImageError)?.kind, .tooLarge)
            XCTAssertTrue("\(error)".contains("64×48 = 3072 pixels exceeds the limit of 3071"), "\(error)")
        }
        XCTAssertNoThrow(try ImageIO.read(path: Fixtures.path("png_rgba.png"), maxPixels: 64 * 48))
    }

    func testCorruptIDATCRC() throws {
        var png = try fixture("png_rgba.png")
        // Find the IDAT chunk and flip a bit in its CRC.
        var i = 8
        while i + 8 <= png.count {
            let length = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            let type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
            if type == "IDAT" {
                png[i + 8 + length] ^= 0x01
                break
            }
            i += 12 + length
        }
        expectError(try write("crc-body.png", png), .corrupt, contains: "CRC")
    }

    func testCorruptIHDRCRC() throws {
        var png = try fixture("png_rgba.png")
        png[29] ^= 0xFF  // last byte of the IHDR CRC
        expectError(try write("ihdr-crc.png", png), .corrupt, contains: "CRC")
    }

    func testGarbageAfterJPEGSignature() throws {
        var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        bytes += [UInt8](repeating: 0x41, count: 200)
        do {
            _ = try ImageIO.read(path: try write("garbage.jpg", bytes))
            XCTFail("no error")
        } catch let error as ImageError {
            XCTAssertTrue(error.description.hasPrefix(dir.appendingPathComponent("garbage.jpg").path + ": "))
            XCTAssertFalse(error.description.contains("\n"))
        }
    }

    func testDecodeFromBytesUsesName() {
        XCTAssertThrowsError(try ImageIO.decode([], name: "mem.png")) { error in
            XCTAssertEqual("\(error)", "mem.png: file is empty")
        }
        XCTAssertThrowsError(try ImageIO.decode(Array("GIF89a".utf8), name: "anim.gif")) { error in
            XCTAssertEqual("\(error)", "anim.gif: not a PNG or JPEG file")
        }
    }

    /// Every prefix of a small PNG and JPEG must fail cleanly (or, for the full file, succeed).
    func testEveryPrefixFailsCleanly() throws {
        for name in ["png_palette_trns.png", "jpeg_grey.jpg"] {
            let bytes = try fixture(name)
            for n in 0..<bytes.count {
                XCTAssertThrowsError(try ImageIO.decode(Array(bytes[0..<n]), name: name), "\(name) prefix \(n)")
            }
            XCTAssertNoThrow(try ImageIO.decode(bytes, name: name))
        }
    }
}
