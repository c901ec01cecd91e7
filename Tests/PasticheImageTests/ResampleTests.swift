import XCTest
@testable import PasticheImage

final class ResampleTests: XCTestCase {
    /// The horizontal pass runs 8 rows at a time; each output must still be the one scalar sum
    /// over its taps in order (the same bits), with a row count that is not a multiple of 8,
    /// a kernel that overshoots (Lanczos, clamped) and one that does not.
    func testHorizontalPassIsTheScalarSumBitForBit() {
        var image = RGBImage(width: 37, height: 5)
        var state: UInt32 = 12345
        for i in image.pixels.indices {
            state = state &* 1_664_525 &+ 1_013_904_223
            image.pixels[i] = Float(state >> 8) / Float(1 << 24)
        }
        for (newWidth, filter) in [(11, ResampleFilter.lanczos3), (16, .bilinear), (80, .bilinear), (23, .box)] {
            let kernel = Resampler.kernel(filter, downscale: newWidth < image.width)
            let coeffs = Resampler.coefficients(inSize: image.width, outSize: newWidth, kernel: kernel)
            let got = Resampler.horizontal(image, newWidth: newWidth, coeffs: coeffs, clamp: kernel.overshoots)
            for row in 0..<(3 * image.height) {
                for x in 0..<newWidth {
                    var acc: Float = 0
                    for j in 0..<coeffs.count[x] {
                        acc += image.pixels[row * image.width + coeffs.start[x] + j] * coeffs.weights[x * coeffs.taps + j]
                    }
                    if kernel.overshoots { acc = min(max(acc, 0), 1) }
                    XCTAssertEqual(got.pixels[row * newWidth + x].bitPattern, acc.bitPattern, "\(filter) to \(newWidth): row \(row), x \(x)")
                }
            }
        }
    }

    /// `RGBImage.fitted(interleavedRGB8:…)` (video's path from the decoder's bytes) is the image
    /// made from the bytes and then fitted, bit for bit: landscape and portrait, odd sizes, and
    /// a frame that already fits.
    func testFittedFromBytesIsDecodeThenFit() {
        var state: UInt32 = 99
        for (w, h, maxSide) in [(97, 41, 50), (40, 90, 33), (64, 48, 64), (301, 7, 100)] {
            let bytes = (0..<(3 * w * h)).map { _ -> UInt8 in
                state = state &* 1_103_515_245 &+ 12345
                return UInt8(truncatingIfNeeded: state >> 16)
            }
            let expected = RGBImage(width: w, height: h, interleavedRGB8: bytes).resizedToFit(maxSide: maxSide)
            let got = RGBImage.fitted(interleavedRGB8: bytes, width: w, height: h, maxSide: maxSide)
            XCTAssertEqual([got.width, got.height], [expected.width, expected.height], "\(w)x\(h)")
            XCTAssertEqual(got.pixels.map(\.bitPattern), expected.pixels.map(\.bitPattern), "\(w)x\(h) to \(maxSide)")
        }
    }

    func testDownscaleOfConstantStaysConstant() {
        let img = RGBImage(width: 97, height: 61, fill: (0.2, 0.5, 0.9))
        for (w, h) in [(48, 30), (13, 7), (1, 1), (96, 60)] {
            for filter in [ResampleFilter.automatic, .box, .bilinear, .lanczos3] {
                let small = img.resized(width: w, height: h, filter: filter)
                XCTAssertImageSize(small, w, h)
                let n = small.planeSize
                for c in 0..<3 {
                    let expected: Float = [0.2, 0.5, 0.9][c]
                    for i in 0..<n {
                        XCTAssertEqual(small.pixels[c * n + i], expected, accuracy: 1e-5)
                    }
                }
            }
        }
    }

    func testCheckerboardDownscaleIsAntiAliased() {
        let w = 64, h = 48
        var board = RGBImage(width: w, height: h, fill: 0)
        for y in 0..<h { for x in 0..<w where (x + y) % 2 == 0 { board.setPixel(x: x, y: y, (1, 1, 1)) } }
        for filter in [ResampleFilter.automatic, .box, .bilinear] {
            let half = board.resized(width: w / 2, height: h / 2, filter: filter)
            XCTAssertImageSize(half, w / 2, h / 2)
            var worst: Float = 0
            for v in half.pixels { worst = max(worst, abs(v - 0.5)) }
            // Interior exactly 0.5 (symmetric kernels pair black with white); borders are
            // renormalised, so allow a little there.
            XCTAssertLessThan(worst, 0.06, "\(filter)")
            for y in 4..<(h / 2 - 4) {
                for x in 4..<(w / 2 - 4) {
                    XCTAssertEqual(half[x, y, 0], 0.5, accuracy: 1e-4, "\(filter) at \(x),\(y)")
                }
            }
        }
        // Also at a non-integer factor, the mean grey is preserved and the pattern is gone.
        let odd = board.resized(width: 23, height: 17)
        XCTAssertTrue(odd.pixels.allSatisfy { abs($0 - 0.5) < 0.1 })
    }

    func testBilinearUpscaleOf2x1() {
        var img = RGBImage(width: 2, height: 1, fill: 0)
        img.setPixel(x: 0, y: 0, (0, 1, 0.2))
        img.setPixel(x: 1, y: 0, (1, 0, 0.6))
        let up = img.resized(width: 4, height: 1)
        // Half-pixel centres: output centres at input x = 0.25, 0.75, 1.25, 1.75 − 0.5 offsets
        // → 0 (edge clamp), 0.25, 0.75, 1 (edge clamp).
        let reds = Array(up.pixels[0..<4])
        XCTAssertEqual(reds[0], 0, accuracy: 1e-6)
        XCTAssertEqual(reds[1], 0.25, accuracy: 1e-6)
        XCTAssertEqual(reds[2], 0.75, accuracy: 1e-6)
        XCTAssertEqual(reds[3], 1, accuracy: 1e-6)
        XCTAssertEqual(Array(up.pixels[4..<8]), [1, 0.75, 0.25, 0], accuracy: 1e-6)
        XCTAssertEqual(Array(up.pixels[8..<12]), [0.2, 0.3, 0.5, 0.6], accuracy: 1e-6)

        // 2x1 → 8x3: every row the same; x = 1/8 centres.
        let up2 = img.resized(width: 8, height: 3)
        XCTAssertImageSize(up2, 8, 3)
        let expected: [Float] = [0, 0, 0.125, 0.375, 0.625, 0.875, 1, 1]
        for y in 0..<3 { XCTAssertEqual((0..<8).map { up2[$0, y, 0] }, expected, accuracy: 1e-6) }
    }

    func testShapes() {
        let img = RGBImage(width: 640, height: 427, fill: 0.3)
        let s = img.resizedShortestSide(to: 256)
        XCTAssertImageSize(s, 384, 256)  // 640 * 256 / 427 = 383.7
        let tall = RGBImage(width: 300, height: 451, fill: 0.3).resizedShortestSide(to: 100)
        XCTAssertImageSize(tall, 100, 150)  // 451 / 3 = 150.3
        let crop = s.centerCropped(width: 256, height: 256)
        XCTAssertImageSize(crop, 256, 256)
        XCTAssertImageSize(img.resizedToFit(maxSide: 320), 320, 214)  // 213.5 → 214
        XCTAssertTrue(img.resizedToFit(maxSide: 1000) == img)            // never upscales
        XCTAssertTrue(img.resizedToFit(maxSide: 640) == img)
        XCTAssertImageSize(RGBImage(width: 100, height: 400, fill: 0).resizedToFit(maxSide: 200), 50, 200)
        XCTAssertImageSize(img.resized(width: 1000, height: 50), 1000, 50)  // up one axis, down the other
    }

    func testCropTakesTheRightPixels() {
        var img = RGBImage(width: 5, height: 4, fill: 0)
        for y in 0..<4 { for x in 0..<5 { img.setPixel(x: x, y: y, (Float(x), Float(y), Float(x * 10 + y))) } }
        let c = img.cropped(x: 1, y: 2, width: 3, height: 2)
        XCTAssertImageSize(c, 3, 2)
        XCTAssertEqual(c.pixel(x: 0, y: 0).r, 1)
        XCTAssertEqual(c.pixel(x: 2, y: 1).g, 3)
        XCTAssertEqual(c.pixel(x: 2, y: 1).b, 33)
        let cc = img.centerCropped(width: 3, height: 2)
        XCTAssertEqual(cc.pixel(x: 0, y: 0).r, 1)
        XCTAssertEqual(cc.pixel(x: 0, y: 0).g, 1)
        XCTAssertTrue(img.centerCropped(width: 99, height: 99) == img)
    }

    func testRealPhotoDownscaleMatchesMean() throws {
        let photo = try ImageIO.read(path: Fixtures.path("real_summer_palace.jpg"))
        let small = photo.resizedToFit(maxSide: 160)
        XCTAssertImageSize(small, 160, 107)
        func mean(_ img: RGBImage, _ c: Int) -> Double {
            let n = img.planeSize
            return img.pixels[(c * n)..<((c + 1) * n)].reduce(0.0) { $0 + Double($1) } / Double(n)
        }
        for c in 0..<3 { XCTAssertEqual(mean(small, c), mean(photo, c), accuracy: 0.01) }
        XCTAssertTrue(small.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    func testPlanarLayoutAndInitialisers() {
        let img = RGBImage(width: 3, height: 2, fill: (0.1, 0.2, 0.3))
        XCTAssertEqual(img.pixels.count, 18)
        XCTAssertEqual(Array(img.pixels[0..<6]), [Float](repeating: 0.1, count: 6))
        XCTAssertEqual(Array(img.pixels[6..<12]), [Float](repeating: 0.2, count: 6))
        XCTAssertEqual(Array(img.pixels[12..<18]), [Float](repeating: 0.3, count: 6))
        XCTAssertEqual(img.index(x: 2, y: 1, channel: 1), 6 + 5)
        let bytes: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]
        let fromBytes = RGBImage(width: 3, height: 2, interleavedRGB8: bytes)
        XCTAssertEqual(fromBytes.interleavedRGB8(), bytes)
        XCTAssertEqual(fromBytes.pixel(x: 1, y: 0).g, 1)
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, _ message: String = "",
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b) \(message)", file: file, line: line) }
}
