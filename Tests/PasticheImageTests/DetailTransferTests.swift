import Foundation
@testable import PasticheImage
import XCTest
import PasticheTestSupport

/// `DetailTransfer`: the guided filter's local slopes carry the photo's detail above the
/// working resolution into the upscaled painting.
final class DetailTransferTests: XCTestCase {
    private func photo() throws -> RGBImage {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        return try ImageIO.read(path: root + "/docs/images/summer_palace.jpg")
    }

    private func meanDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        zip(a.pixels, b.pixels).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(a.pixels.count)
    }

    /// The box mean against the plain window average (clipped at the borders), to 1e-6.
    func testBoxMeanIsTheWindowAverage() {
        let (w, h) = (13, 9)
        let plane = (0..<(w * h)).map { Float(($0 * 37) % 101) / 101 }
        for r in [1, 4, 20] {
            let fast = DetailTransfer.boxMean(plane, w, h, radius: r)
            for y in 0..<h { for x in 0..<w {
                var s = 0.0, n = 0.0
                for yy in max(0, y - r)...min(h - 1, y + r) { for xx in max(0, x - r)...min(w - 1, x + r) { s += Double(plane[yy * w + xx]); n += 1 } }
                XCTAssertEqual(Double(fast[y * w + x]), s / n, accuracy: 1e-6, "r \(r) at \(x),\(y)")
            } }
        }
    }

    /// A painting that is the working photo itself (slope 1 where there is contrast) comes
    /// back as nearly the full photo: at least 3× closer than a plain upscale of it.
    func testAnIdentityPaintingGivesBackThePhoto() throws {
        let full = try photo()
        let working = full.resized(width: full.width / 4, height: full.height / 4)
        let up = DetailTransfer.upsample(working, working: working, photo: full)
        let plain = working.resized(width: full.width, height: full.height, filter: .lanczos3)
        let d = meanDifference(up, full), dPlain = meanDifference(plain, full)
        print(String(format: "identity painting: detail transfer %.2f levels from the photo, plain upscale %.2f", d * 255, dPlain * 255))
        XCTAssertLessThan(d, dPlain / 3)
    }

    /// A flat painting has no slope: no photo texture is pasted on it.
    func testAFlatPaintingStaysFlat() throws {
        let full = try photo()
        let working = full.resized(width: full.width / 4, height: full.height / 4)
        let flat = RGBImage(width: working.width, height: working.height, fill: (0.2, 0.5, 0.7))
        let up = DetailTransfer.upsample(flat, working: working, photo: full)
        XCTAssertEqual([up.width, up.height], [full.width, full.height])
        let spread = maxAbsDifference(up, RGBImage(width: full.width, height: full.height, fill: (0.2, 0.5, 0.7)))
        XCTAssertLessThan(spread, 1e-5)
    }

    /// Mask planes resized to a working size stay weights: in [0, 1], summing to 1.
    func testResizedMasksStillSumToOne() throws {
        let (w, h) = (300, 200)
        var a = RGBImage(width: w, height: h)
        for y in 0..<h { for x in 0..<w where (x / 37 + y / 23) % 2 == 0 { for c in 0..<3 { a.pixels[c * w * h + y * w + x] = 1 } } }
        let b = RGBImage(width: w, height: h, fill: 0.3)
        let masks = try StyleMasks(masks: [a, b], width: w, height: h)
        let small = masks.resized(width: 77, height: 51)
        XCTAssertEqual(small.planeCount, masks.planeCount)
        for p in 0..<(77 * 51) {
            var sum: Float = 0
            for k in 0..<small.planeCount {
                let v = small.weights[k * 77 * 51 + p]
                XCTAssertTrue((0...1).contains(v))
                sum += v
            }
            XCTAssertEqual(sum, 1, accuracy: 1e-5)
        }
    }
}
