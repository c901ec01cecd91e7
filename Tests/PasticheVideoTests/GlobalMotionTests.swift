import XCTest
import PasticheImage
@testable import PasticheVideo

/// The whole-frame shift estimate behind the sampling-grid phase, on crops of a real photo.
final class GlobalMotionTests: XCTestCase {
    static let photo: RGBImage = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try! ImageIO.read(path: root.appendingPathComponent("docs/images/summer_palace.jpg").path)
    }()

    func crop(_ x: Int, _ y: Int, w: Int = 256, h: Int = 160) -> GlobalMotion.Luma {
        GlobalMotion.Luma(Self.photo.cropped(x: x, y: y, width: w, height: h))
    }

    func testFindsIntegerShiftsExactly() {
        // next(x) = previous(x + d) when the camera moves by +d.
        for d in [(0, 0), (3, 0), (1, -2), (-5, 3), (7, 6), (-13, -9), (30, 0)] {
            let got = GlobalMotion.estimate(previous: crop(200, 150), next: crop(200 + d.0, 150 + d.1))
            XCTAssertEqual(got.map { [$0.dx, $0.dy] }, [d.0, d.1], "shift \\(d)")
        }
    }

    func testUnrelatedFramesAreNotAShift() {
        // Two different parts of the photo: no shift explains one by the other clearly better.
        let got = GlobalMotion.estimate(previous: crop(20, 20), next: crop(360, 240))
        XCTAssertEqual(got.map { [$0.dx, $0.dy] }, [0, 0])
    }

    func testTheGridPhaseFollowsAPan() {
        let grid = SamplingGrid(multiple: 4)
        let phases = (0..<6).map { t in grid.place(Self.photo.cropped(x: 100 + 3 * t, y: 120, width: 192, height: 128)).phase }
        XCTAssertEqual(phases.map { $0.x }, [0, 3, 2, 1, 0, 3])
        XCTAssertEqual(phases.map { $0.y }, [0, 0, 0, 0, 0, 0])
    }

    func testTinyFramesGiveNoEstimate() {
        XCTAssertNil(GlobalMotion.estimate(previous: crop(0, 0, w: 20, h: 20), next: crop(1, 0, w: 20, h: 20)))
    }
}
