import Foundation
import XCTest
@testable import PasticheImage

enum Fixtures {
    static var directory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    }

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Reads a binary PPM (P6, maxval 255) as an RGBImage.
    static func ppm(_ name: String) throws -> RGBImage {
        let data = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
        // Header: "P6" ws width ws height ws 255 single-ws, then the bytes.
        var fields: [String] = []
        var i = 0
        while fields.count < 4 {
            while i < data.count, data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09 { i += 1 }
            var token = ""
            while i < data.count, !(data[i] == 0x20 || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09) {
                token.append(Character(UnicodeScalar(data[i])))
                i += 1
            }
            fields.append(token)
        }
        i += 1
        guard fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]), fields[3] == "255" else {
            throw NSError(domain: "ppm", code: 1, userInfo: [NSLocalizedDescriptionKey: "bad PPM \(name)"])
        }
        return RGBImage(width: w, height: h, interleavedRGB8: Array(data[i..<(i + 3 * w * h)]))
    }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name)))
    }
}

/// Differences between two images in 8-bit units (after clamp + round of both).
struct Diff: CustomStringConvertible {
    var maxAbs: Int
    var meanAbs: Double

    init(_ a: RGBImage, _ b: RGBImage) {
        precondition(a.width == b.width && a.height == b.height)
        let x = a.interleavedRGB8(), y = b.interleavedRGB8()
        var m = 0, s = 0
        for i in 0..<x.count {
            let d = abs(Int(x[i]) - Int(y[i]))
            m = max(m, d)
            s += d
        }
        maxAbs = m
        meanAbs = Double(s) / Double(x.count)
    }

    var description: String { "max \(maxAbs)/255, mean \(String(format: "%.3f", meanAbs))/255" }
}

func XCTAssertImageSize(_ image: RGBImage, _ width: Int, _ height: Int, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(image.width, width, "width", file: file, line: line)
    XCTAssertEqual(image.height, height, "height", file: file, line: line)
    XCTAssertEqual(image.pixels.count, 3 * width * height, "pixel count", file: file, line: line)
}
