import XCTest
@testable import PasticheImage

/// Mask images → per-pixel style weights (issue 19's first step; the network takes them next).
final class StyleMasksTests: XCTestCase {
    /// Left half `left`, right half `right` (grey), w×h.
    func split(_ w: Int, _ h: Int, left: Float, right: Float) -> RGBImage {
        var m = RGBImage(width: w, height: h)
        for y in 0..<h { for x in 0..<w { let v = x < w / 2 ? left : right; m.setPixel(x: x, y: y, (v, v, v)) } }
        return m
    }

    func assertSumToOne(_ m: StyleMasks, file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<(m.width * m.height) {
            XCTAssertEqual(m.planes.reduce(0) { $0 + $1[i] }, 1, accuracy: 1e-6, "pixel \(i)", file: file, line: line)
        }
    }

    func testOneMaskIsThePerPixelStrength() throws {
        let m = try StyleMasks(masks: [split(8, 4, left: 0, right: 0.75)], width: 8, height: 4)
        XCTAssertEqual(m.styleCount, 1)
        XCTAssertEqual(m.planes[0][0], 0)
        XCTAssertEqual(m.planes[1][0], 1, "black: the photo's own embedding")
        XCTAssertEqual(m.planes[0][7], 0.75, accuracy: 1e-6)
        XCTAssertEqual(m.planes[1][7], 0.25, accuracy: 1e-6)
        var options = StyleMasks.Options()
        options.invert = true
        options.strength = 0.5
        let inv = try StyleMasks(masks: [split(8, 4, left: 0, right: 0.75)], width: 8, height: 4, options: options)
        XCTAssertEqual(inv.planes[0][0], 0.5, accuracy: 1e-6, "inverted, then scaled by the strength")
        XCTAssertEqual(inv.planes[0][7], 0.125, accuracy: 1e-6)
        assertSumToOne(inv)
        // All black with one style is allowed: strength 0 everywhere.
        let none = try StyleMasks(masks: [RGBImage(width: 8, height: 4)], width: 8, height: 4)
        XCTAssertEqual(Set(none.planes[1]), [1])
    }

    func testSeveralMasksAreNormalisedAndBlackKeepsThePhoto() throws {
        let a = split(8, 4, left: 1, right: 0), b = split(8, 4, left: 0.5, right: 0)
        var c = RGBImage(width: 8, height: 4)
        c.setPixel(x: 7, y: 0, (0.2, 0.2, 0.2))
        let m = try StyleMasks(masks: [a, b, c], width: 8, height: 4)
        XCTAssertEqual(m.planes[0][0], 2.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(m.planes[1][0], 1.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(m.planes[2][7], 1, accuracy: 1e-6, "the only mask there takes all of it")
        XCTAssertEqual(m.planes[3][6], 1, "nowhere styled: the photo's own embedding")
        XCTAssertEqual(m.planes[3][0], 0)
        assertSumToOne(m)
        XCTAssertThrowsError(try StyleMasks(masks: [RGBImage(width: 4, height: 4), RGBImage(width: 4, height: 4)], width: 4, height: 4)) {
            XCTAssertTrue("\($0)".contains("every mask is black"))
        }
        XCTAssertThrowsError(try StyleMasks(masks: [a, b], width: 8, height: 4, options: { var o = StyleMasks.Options(); o.invert = true; return o }()))
    }

    func testMasksOfAnySizeAreAreaAveraged() throws {
        // A 4×4 checkerboard fitted to 2×2: every output pixel averages two white and two black.
        var checker = RGBImage(width: 4, height: 4)
        for y in 0..<4 { for x in 0..<4 where (x + y) % 2 == 0 { checker.setPixel(x: x, y: y, (1, 1, 1)) } }
        let m = try StyleMasks(masks: [checker], width: 2, height: 2)
        for v in m.planes[0] { XCTAssertEqual(v, 0.5, accuracy: 1e-6) }
        // RGB masks count by luminance.
        var red = RGBImage(width: 2, height: 2)
        for y in 0..<2 { for x in 0..<2 { red.setPixel(x: x, y: y, (1, 0, 0)) } }
        XCTAssertEqual(try StyleMasks(masks: [red], width: 2, height: 2).planes[0][0], 0.299, accuracy: 1e-6)
        // A grey pixel gives its value exactly (the weighted sum of three equal values would round).
        var grey = RGBImage(width: 1, height: 1)
        grey.setPixel(x: 0, y: 0, (0.3, 0.3, 0.3))
        XCTAssertEqual(try StyleMasks(masks: [grey], width: 1, height: 1).planes[0][0], 0.3)
    }

    func testFeatherTurnsAStepIntoARamp() throws {
        var options = StyleMasks.Options()
        options.feather = 16
        let m = try StyleMasks(masks: [split(128, 4, left: 0, right: 1)], width: 128, height: 4, options: options)
        let row = Array(m.planes[0][0..<128])
        XCTAssertEqual(row, row.sorted(), "monotone across the seam")
        let steps = zip(row, row.dropFirst()).map { $1 - $0 }
        XCTAssertLessThan(steps.max()!, 0.06, "no step above 0.06 (a hard edge is a step of 1)")
        XCTAssertEqual(row[0], 0, accuracy: 1e-4)
        XCTAssertEqual(row[127], 1, accuracy: 1e-4)
        XCTAssertEqual(row[63] + row[64], 1, accuracy: 1e-4, "symmetric about the seam")
        assertSumToOne(m)
    }

    /// The blur against a direct double-precision Gaussian (clamped edges) on a plane with flat
    /// areas, seams and a noisy patch: within 1e-6 everywhere, and exactly the input wherever the
    /// pixel's whole window is one value (the skipped work).
    func testBlurMatchesTheDirectSumAndKeepsFlatAreasExactly() {
        let w = 77, h = 53, sigma = 3.0
        let r = Int((3 * sigma).rounded(.up))
        var plane = [Float](repeating: 0, count: w * h)
        var seed: UInt64 = 12345
        for y in 0..<h {
            for x in 0..<w {
                var v: Float = x < 40 ? 0.25 : 1
                if y > 35 { v = 0 }
                if (10..<20).contains(x) && (5..<15).contains(y) {
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    v = Float(seed >> 40) / Float(1 << 24)
                }
                plane[y * w + x] = v
            }
        }
        let input = plane
        var scratch = [Float](repeating: 0, count: w * h)
        plane.withUnsafeMutableBufferPointer { p in
            scratch.withUnsafeMutableBufferPointer { s in
                StyleMasks.gaussianBlur(p.baseAddress!, scratch: s.baseAddress!, width: w, height: h, sigma: sigma)
            }
        }
        let kernel = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        func at(_ x: Int, _ y: Int) -> Double { Double(input[min(h - 1, max(0, y)) * w + min(w - 1, max(0, x))]) }
        var worst = 0.0, flat = 0
        for y in 0..<h {
            for x in 0..<w {
                var sum = 0.0
                for dy in -r...r { for dx in -r...r { sum += kernel[dy + r] * kernel[dx + r] * at(x + dx, y + dy) } }
                sum /= total * total
                worst = max(worst, abs(sum - Double(plane[y * w + x])))
                let window = (-r...r).flatMap { dy in (-r...r).map { dx in at(x + dx, y + dy) } }
                if window.allSatisfy({ $0 == window[0] }) {
                    flat += 1
                    XCTAssertEqual(plane[y * w + x], input[y * w + x], "flat window at \(x),\(y)")
                }
            }
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertGreaterThan(flat, w * h / 4, "the plane has flat areas to skip")
    }
}
