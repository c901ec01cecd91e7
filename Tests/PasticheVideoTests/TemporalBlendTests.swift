import XCTest
import PasticheImage
@testable import PasticheVideo

/// `TemporalBlend`: the previous output, moved by the frame's shift, carried in where the photo
/// is unchanged, and not where it changed.
final class TemporalBlendTests: XCTestCase {
    /// A w×h image whose pixel (x, y) is f(x, y) in every channel.
    func image(_ w: Int, _ h: Int, _ f: (Int, Int) -> Float) -> RGBImage {
        var m = RGBImage(width: w, height: h)
        for y in 0..<h { for x in 0..<w { let v = f(x, y); m.setPixel(x: x, y: y, (v, v, v)) } }
        return m
    }

    func testCarriesTheShiftedOutputWhereTheInputIsUnchanged() {
        let w = 16, h = 8
        let blend = TemporalBlend(weight: 0.75, tolerance: 0.1)
        let scene = { (x: Int, y: Int) -> Float in Float((x * 7 + y * 3) % 11) / 10 }
        // Frame 1: the first is passed through.
        let in1 = image(w, h, scene), out1 = image(w, h) { x, _ in x < 8 ? 0.2 : 0.9 }
        XCTAssertEqual(blend.apply(out1, input: in1, motion: nil), out1)
        // Frame 2: the camera moved 2 px right (this(x) = previous(x + 2)); the new render is 0.5
        // everywhere. Where the scene is the same, 3/4 of the previous output at x + 2 comes back.
        let in2 = image(w, h) { x, y in x == 5 ? 1 - scene(x + 2, y) : scene(x + 2, y) }
        let new = image(w, h) { _, _ in 0.5 }
        let out2 = blend.apply(new, input: in2, motion: (dx: 2, dy: 0))
        for y in 0..<h {
            for x in 0..<w {
                let v = out2.pixel(x: x, y: y).0
                if x + 2 >= w {
                    XCTAssertEqual(v, 0.5, "no previous pixel at x + 2: the new render")
                } else if x == 5 && abs(1 - 2 * scene(x + 2, y)) >= 0.1 {
                    XCTAssertEqual(v, 0.5, "the photo changed there: the new render")
                } else if x != 5 {
                    let carried: Float = x + 2 < 8 ? 0.2 : 0.9
                    XCTAssertEqual(v, 0.5 + 0.75 * (carried - 0.5), accuracy: 1e-6, "at \(x),\(y)")
                }
            }
        }
        // A frame whose shift was not found: passed through, and it becomes the one carried.
        let out3 = blend.apply(new, input: in2, motion: nil)
        XCTAssertEqual(out3, new)
    }
}
