import XCTest
import PasticheImage
@testable import PasticheTraining

/// `train report`'s chart: the total and its terms in separate charts, so a style term that is
/// most of the total is not drawn on top of it.
final class TrainingLogPlotTests: XCTestCase {
    func testTotalAndStyleAreNotDrawnOnTopOfEachOther() {
        let records = (1...40).map { s -> StepReport in
            let style = 800 / Double(s), content = 30 - Double(s) / 4, tv = 0.5
            return StepReport(step: s, steps: 40, content: content, style: style, tv: tv, embedding: nil,
                              total: content + style + tv, gradNorm: 1, samplesPerSecond: 1, elapsed: 1, eta: 1,
                              allreduceSeconds: nil)
        }
        let image = TrainingLog.plot(records, window: 5)
        XCTAssertEqual(image.width, 800)
        XCTAssertEqual(image.height, 280 + 360)
        func count(_ series: Int, rows: Range<Int>) -> Int {
            let c = LossPlot.color(forSeries: series)
            var n = 0
            for y in rows {
                for x in 0..<image.width {
                    let p = image.pixel(x: x, y: y)
                    if abs(p.0 - c.0) < 1e-3 && abs(p.1 - c.1) < 1e-3 && abs(p.2 - c.2) < 1e-3 { n += 1 }
                }
            }
            return n
        }
        // Series colours: 0 total, 1 content, 2 style, 3 tv (one per quantity in both charts).
        let top = 0..<280, bottom = 280..<image.height
        XCTAssertGreaterThan(count(0, rows: top), 200, "the total is drawn in the upper chart")
        XCTAssertEqual(count(2, rows: top), 0, "the style term is not in the upper chart")
        XCTAssertEqual(count(0, rows: bottom), 0, "the total is not in the lower chart")
        for term in 1...3 { XCTAssertGreaterThan(count(term, rows: bottom), 200, "term \(term) is drawn below") }
    }
}
