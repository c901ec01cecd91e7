import XCTest
import PasticheImage
@testable import PasticheTraining

/// `train report`'s chart: the total and its terms in separate charts, so a style term that is
/// most of the total is not drawn on top of it.
final class TrainingLogPlotTests: XCTestCase {
    func testTotalAndStyleAreNotDrawnOnTopOfEachOther() {
        let records = (1...40).map { s -> StepReport in
            let style = 800 / Double(s), content = 30 - Double(s) / 4, tv = 0.5
            return StepReport(step: s, steps: 40, content: content, style: style, tv: tv, embedding: nil, teacher: nil,
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

    /// The log is written with snake_case keys, as every JSON Pastiche writes, and a log written
    /// with the camelCase keys of earlier versions still reads (a resumed run appends to it).
    func testLogIsSnakeCaseAndOldLogsStillRead() throws {
        let dir = NSTemporaryDirectory() + "pastiche-log-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/train.jsonl"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let old = #"{"content":1,"elapsed":2,"eta":3,"gradNorm":4.5,"samplesPerSecond":6,"step":1,"steps":2,"style":7,"total":8.5,"tv":0.5}"#
        try (old + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let log = try JSONLLog(path: path, resumingAt: 1)
        try log.append(StepReport(step: 2, steps: 2, content: 1, style: 2, tv: 3, embedding: nil, teacher: 0.25, total: 6.25, gradNorm: 9,
                                  samplesPerSecond: 10, elapsed: 11, eta: 0, allreduceSeconds: 0.5))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let newLine = String(text.split(separator: "\n")[1])
        for key in ["\"grad_norm\"", "\"samples_per_second\"", "\"allreduce_seconds\"", "\"teacher\""] {
            XCTAssertTrue(newLine.contains(key), newLine)
        }
        XCTAssertFalse(newLine.contains("gradNorm"), newLine)
        let records = try TrainingLog.read(path)
        XCTAssertEqual(records.map(\.gradNorm), [4.5, 9])
        XCTAssertEqual(records.map(\.samplesPerSecond), [6, 10])
        XCTAssertEqual(records[1].teacher, 0.25)
        XCTAssertEqual(records[1].allreduceSeconds, 0.5)
    }
}
