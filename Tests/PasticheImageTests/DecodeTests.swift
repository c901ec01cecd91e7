import Foundation
import XCTest
@testable import PasticheImage

/// Decodes against the reference pixels made by Fixtures/make_fixtures.py.
final class DecodeTests: XCTestCase {
    /// PNG: exact up to rounding of the float → 8-bit conversion (≤ 1/255 anywhere).
    func testPNGVariantsMatchReference() throws {
        let names = ["png_rgb16", "png_rgba16", "png_grey16", "png_grey4", "png_grey_trns", "png_grey_alpha",
                     "png_rgba", "png_palette_trns", "png_interlaced"]
        for name in names {
            let image = try ImageIO.read(path: Fixtures.path("\(name).png"))
            let expected = try Fixtures.ppm("\(name).expected.ppm")
            XCTAssertImageSize(image, expected.width, expected.height)
            let diff = Diff(image, expected)
            XCTAssertLessThanOrEqual(diff.maxAbs, 1, "\(name): \(diff)")
            XCTAssertTrue(image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(name): samples outside [0, 1]")
        }
    }

    /// JPEG against Pillow's decode (both libjpeg-turbo, ISLOW IDCT, fancy upsampling).
    func testJPEGVariantsMatchPillow() throws {
        for name in ["jpeg_baseline", "jpeg_progressive", "jpeg_grey", "jpeg_cmyk"] {
            let image = try ImageIO.read(path: Fixtures.path("\(name).jpg"))
            let expected = try Fixtures.ppm("\(name).expected.ppm")
            XCTAssertImageSize(image, expected.width, expected.height)
            let diff = Diff(image, expected)
            print("JPEG \(name) vs Pillow: \(diff)")
            XCTAssertLessThanOrEqual(diff.maxAbs, JPEGTolerance.maxAbs, "\(name): \(diff)")
            XCTAssertLessThanOrEqual(diff.meanAbs, JPEGTolerance.meanAbs, "\(name): \(diff)")
        }
    }

    func testGreyJPEGIsGrey() throws {
        let image = try ImageIO.read(path: Fixtures.path("jpeg_grey.jpg"))
        let n = image.planeSize
        for i in 0..<n {
            XCTAssertEqual(image.pixels[i], image.pixels[n + i])
            XCTAssertEqual(image.pixels[i], image.pixels[2 * n + i])
        }
    }

    /// All 8 EXIF orientations (odd ones big-endian "MM", even ones little-endian "II"),
    /// against Pillow's ImageOps.exif_transpose.
    func testEXIFOrientationsMatchPillowExifTranspose() throws {
        let upright = try ImageIO.read(path: Fixtures.path("jpeg_orient1.jpg"))
        for o in 1...8 {
            let path = Fixtures.path("jpeg_orient\(o).jpg")
            let info = try ImageIO.info(path: path)
            XCTAssertEqual(info.exifOrientation, o)
            let image = try ImageIO.read(path: path)
            let expected = try Fixtures.ppm("jpeg_orient\(o).expected.ppm")
            XCTAssertImageSize(image, expected.width, expected.height)
            let diff = Diff(image, expected)
            print("JPEG orientation \(o) vs Pillow: \(diff)")
            XCTAssertLessThanOrEqual(diff.maxAbs, JPEGTolerance.maxAbs, "orientation \(o): \(diff)")
            XCTAssertLessThanOrEqual(diff.meanAbs, JPEGTolerance.meanAbs, "orientation \(o): \(diff)")

            // Without orientation: the stored pixels, same as orientation 1's.
            let raw = try ImageIO.read(path: path, applyOrientation: false)
            XCTAssertTrue(raw == upright, "orientation \(o): raw pixels differ from the upright file")
        }
    }

    func testPNGeXIfOrientation() throws {
        let info = try ImageIO.info(path: Fixtures.path("png_exif6.png"))
        XCTAssertEqual(info.exifOrientation, 6)
        let image = try ImageIO.read(path: Fixtures.path("png_exif6.png"))
        let expected = try Fixtures.ppm("png_exif6.expected.ppm")
        XCTAssertImageSize(image, 48, 64)
        XCTAssertLessThanOrEqual(Diff(image, expected).maxAbs, 1)
    }

    func testOrientationTransformsAreInverseConsistent() {
        // A 3x2 image with distinct values; compare with hand-derived results.
        var img = RGBImage(width: 3, height: 2, fill: 0)
        for y in 0..<2 { for x in 0..<3 { img.setPixel(x: x, y: y, (Float(y * 3 + x), 0, 0)) } }
        func reds(_ i: RGBImage) -> [Float] { Array(i.pixels[0..<i.planeSize]) }
        // 0 1 2
        // 3 4 5
        XCTAssertEqual(reds(img.applyingOrientation(1)), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(reds(img.applyingOrientation(2)), [2, 1, 0, 5, 4, 3])
        XCTAssertEqual(reds(img.applyingOrientation(3)), [5, 4, 3, 2, 1, 0])
        XCTAssertEqual(reds(img.applyingOrientation(4)), [3, 4, 5, 0, 1, 2])
        XCTAssertEqual(reds(img.applyingOrientation(5)), [0, 3, 1, 4, 2, 5])   // transpose, 2 wide
        XCTAssertEqual(reds(img.applyingOrientation(6)), [3, 0, 4, 1, 5, 2])   // 90° CW
        XCTAssertEqual(reds(img.applyingOrientation(7)), [5, 2, 4, 1, 3, 0])   // transverse
        XCTAssertEqual(reds(img.applyingOrientation(8)), [2, 5, 1, 4, 0, 3])   // 90° CCW
        XCTAssertEqual(img.applyingOrientation(6).width, 2)
        XCTAssertTrue(img.applyingOrientation(9) == img)
    }

    /// Real photos: size, per-channel mean and sampled pixels against Pillow.
    func testRealFilesMatchPillow() throws {
        let summary = try XCTUnwrap(Fixtures.json("real_expected.json") as? [String: [String: Any]])
        XCTAssertEqual(summary.count, 3)
        for (name, entry) in summary.sorted(by: { $0.key < $1.key }) {
            let image = try ImageIO.read(path: Fixtures.path(name))
            let isJPEG = name.hasSuffix(".jpg")
            XCTAssertImageSize(image, entry["width"] as! Int, entry["height"] as! Int)
            let means = entry["mean"] as! [Double]
            let n = image.planeSize
            for c in 0..<3 {
                let mean = image.pixels[(c * n)..<((c + 1) * n)].reduce(0.0) { $0 + Double($1) } / Double(n)
                XCTAssertEqual(mean, means[c], accuracy: isJPEG ? 1.0 / 255 : 0.5 / 255, "\(name) channel \(c) mean")
            }
            var worst = 0
            for sample in entry["samples"] as! [[String: Any]] {
                let x = sample["x"] as! Int, y = sample["y"] as! Int, rgb = sample["rgb"] as! [Int]
                let p = image.pixel(x: x, y: y)
                for (c, v) in [p.r, p.g, p.b].enumerated() {
                    worst = max(worst, abs(Int(RGBImage.toByte(v)) - rgb[c]))
                }
            }
            print("real \(name) sampled pixels vs Pillow: max \(worst)/255")
            XCTAssertLessThanOrEqual(worst, isJPEG ? JPEGTolerance.maxAbs : 0, name)
        }
    }

    func testInfo() throws {
        var info = try ImageIO.info(path: Fixtures.path("png_rgb16.png"))
        XCTAssertEqual(info.format, .png)
        XCTAssertEqual(info.width, 64)
        XCTAssertEqual(info.height, 48)
        XCTAssertEqual(info.bitDepth, 16)
        XCTAssertEqual(info.channels, 3)
        XCTAssertEqual(info.colorDescription, "RGB")
        XCTAssertFalse(info.interlaced)

        info = try ImageIO.info(path: Fixtures.path("png_palette_trns.png"))
        XCTAssertEqual(info.colorDescription, "palette+tRNS")
        XCTAssertEqual(info.channels, 1)
        XCTAssertEqual(try ImageIO.info(path: Fixtures.path("png_grey_alpha.png")).colorDescription, "grey+alpha")
        XCTAssertTrue(try ImageIO.info(path: Fixtures.path("png_interlaced.png")).interlaced)
        XCTAssertEqual(try ImageIO.info(path: Fixtures.path("png_grey4.png")).bitDepth, 4)

        info = try ImageIO.info(path: Fixtures.path("jpeg_progressive.jpg"))
        XCTAssertEqual(info.format, .jpeg)
        XCTAssertTrue(info.progressive)
        XCTAssertEqual(info.colorDescription, "YCbCr")
        XCTAssertEqual(info.exifOrientation, 1)
        XCTAssertFalse(try ImageIO.info(path: Fixtures.path("jpeg_baseline.jpg")).progressive)

        info = try ImageIO.info(path: Fixtures.path("jpeg_cmyk.jpg"))
        XCTAssertEqual(info.channels, 4)
        XCTAssertEqual(info.colorDescription, "CMYK (Adobe)")
        XCTAssertEqual(try ImageIO.info(path: Fixtures.path("jpeg_grey.jpg")).colorDescription, "grey")

        // Codable round trip.
        let data = try JSONEncoder().encode(info)
        XCTAssertEqual(try JSONDecoder().decode(ImageInfo.self, from: data), info)
    }

    func testFormatDetection() throws {
        XCTAssertEqual(ImageFormat(pathExtension: "a/b.PNG"), .png)
        XCTAssertEqual(ImageFormat(pathExtension: "x.Jpeg"), .jpeg)
        XCTAssertEqual(ImageFormat(pathExtension: "x.jpg"), .jpeg)
        XCTAssertNil(ImageFormat(pathExtension: "x.gif"))
        XCTAssertNil(ImageFormat(pathExtension: "png"))
        XCTAssertNil(ImageFormat(pathExtension: "dir.png/file"))
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("png_rgba.png"))))
        let jpg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("jpeg_grey.jpg"))))
        XCTAssertEqual(ImageFormat(magic: png), .png)
        XCTAssertEqual(ImageFormat(magic: jpg), .jpeg)
        XCTAssertNil(ImageFormat(magic: Array("hello".utf8)))
        XCTAssertNil(ImageFormat(magic: []))
        // Magic bytes win over a misleading name.
        XCTAssertEqual(try ImageIO.decode(png, name: "looks-like.jpg").width, 64)
    }
}

/// Measured with libjpeg-turbo 2.1.5 (Debian) against Pillow 13.0's bundled libjpeg-turbo: 0/255
/// difference on every fixture (same ISLOW IDCT and fancy upsampling). The tolerance leaves room
/// for other libjpeg builds (e.g. different SIMD paths or libjpeg 9's upsampler).
enum JPEGTolerance {
    static let maxAbs = 2
    static let meanAbs = 0.5
}
