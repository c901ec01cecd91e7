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
}
