import Foundation
import XCTest
import PasticheTestSupport
@testable import PasticheImage

final class RoundTripTests: XCTestCase {
    func testPNGRoundTripIsExact() throws {
        let base = try Fixtures.ppm("base.ppm")
        let bytes = try ImageIO.encode(base, format: .png)
        XCTAssertEqual(ImageFormat(magic: bytes), .png)
        let back = try ImageIO.decode(bytes, name: "rt.png")
        XCTAssertTrue(back == base, "\(Diff(back, base))")  // 8-bit values survive exactly (k/255 → k → k/255)
        let info = try ImageIO.info(bytes, name: "rt.png")
        XCTAssertEqual(info.bitDepth, 8)
        XCTAssertEqual(info.colorDescription, "RGB")
    }

    func testFloatToByteConversion() {
        XCTAssertEqual(RGBImage.toByte(-0.5), 0)
        XCTAssertEqual(RGBImage.toByte(.nan), 0)
        XCTAssertEqual(RGBImage.toByte(2), 255)
        XCTAssertEqual(RGBImage.toByte(0.5), 128)          // round(127.5) = 128
        XCTAssertEqual(RGBImage.toByte(100.0 / 255), 100)
        XCTAssertEqual(RGBImage.toByte(100.49 / 255), 100)
        XCTAssertEqual(RGBImage.toByte(100.51 / 255), 101)
    }

    /// JPEG at quality 95 (4:4:4 chroma): measured max 13/255, mean 1.25/255 on the 451x300 cat
    /// photo with libjpeg-turbo 2.1.5; asserted mean ≤ 2/255, max ≤ 32/255.
    func testJPEGRoundTripAtQuality95IsClose() throws {
        let photo = try ImageIO.read(path: Fixtures.path("real_chelsea_cat.png"))
        let bytes = try ImageIO.encode(photo, format: .jpeg, quality: 95)
        XCTAssertEqual(ImageFormat(magic: bytes), .jpeg)
        let back = try ImageIO.decode(bytes, name: "rt.jpg")
        XCTAssertImageSize(back, photo.width, photo.height)
        let diff = Diff(back, photo)
        print("JPEG q95 round trip (451x300 photo): \(diff), \(bytes.count) bytes")
        XCTAssertLessThanOrEqual(diff.meanAbs, 2.0, "\(diff)")
        XCTAssertLessThanOrEqual(diff.maxAbs, 32, "\(diff)")

        let low = try ImageIO.encode(photo, format: .jpeg, quality: 20)
        XCTAssertLessThan(low.count, bytes.count)
        let lowBack = try ImageIO.decode(low, name: "low.jpg")
        let lowDiff = Diff(lowBack, photo)
        print("JPEG q20 round trip: \(lowDiff), \(low.count) bytes")
        XCTAssertGreaterThan(lowDiff.meanAbs, diff.meanAbs)
    }

    func testQualityIsValidated() {
        let img = RGBImage(width: 2, height: 2, fill: 0.5)
        XCTAssertThrowsError(try ImageIO.encode(img, format: .jpeg, quality: 0))
        XCTAssertThrowsError(try ImageIO.encode(img, format: .jpeg, quality: 101))
        XCTAssertNoThrow(try ImageIO.encode(img, format: .jpeg, quality: 1))
        XCTAssertNoThrow(try ImageIO.encode(img, format: .jpeg, quality: 100))
    }

    func testWriteAtomicallyByExtension() throws {
        let dir = URL(fileURLWithPath: try temporaryDirectory("pastiche-rt"))
        let base = try Fixtures.ppm("base.ppm")

        let png = dir.appendingPathComponent("out.PNG").path
        try ImageIO.write(base, to: png)
        XCTAssertEqual(try ImageIO.info(path: png).format, .png)
        XCTAssertTrue(try ImageIO.read(path: png) == base)

        let jpg = dir.appendingPathComponent("out.jpeg").path
        try ImageIO.write(base, to: jpg, quality: 90)
        XCTAssertEqual(try ImageIO.info(path: jpg).format, .jpeg)

        // Overwrite in place; no temporary files left behind.
        try ImageIO.write(RGBImage(width: 5, height: 4, fill: 1), to: png)
        XCTAssertEqual(try ImageIO.info(path: png).width, 5)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["out.PNG", "out.jpeg"])

        // Explicit format wins over the extension.
        let forced = dir.appendingPathComponent("forced.png").path
        try ImageIO.write(base, to: forced, format: .jpeg)
        XCTAssertEqual(try ImageIO.info(path: forced).format, .jpeg)

        XCTAssertThrowsError(try ImageIO.write(base, to: dir.appendingPathComponent("out.gif").path)) { error in
            XCTAssertTrue("\(error)".contains("out.gif: "), "\(error)")
        }
        XCTAssertThrowsError(try ImageIO.write(base, to: dir.appendingPathComponent("nodir/out.png").path)) { error in
            XCTAssertTrue("\(error)".contains("nodir/out.png: "), "\(error)")
        }
    }
}
