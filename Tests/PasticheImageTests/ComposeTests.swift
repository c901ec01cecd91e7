import Foundation
import XCTest
import PasticheTestSupport
@testable import PasticheImage

/// Bitmap text, compositing, contact sheets and loss plots.
final class ComposeTests: XCTestCase {
    // MARK: - Helpers

    private typealias Color = (Float, Float, Float)

    private func same(_ a: (r: Float, g: Float, b: Float), _ c: Color) -> Bool {
        a.r == c.0 && a.g == c.1 && a.b == c.2
    }

    /// A test pattern whose every sample is distinct: value depends on x, y and channel.
    private func pattern(_ w: Int, _ h: Int, seed: Float = 0) -> RGBImage {
        var image = RGBImage(width: w, height: h, fill: 0)
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    image[x, y, c] = (seed + Float(c * 10_000 + y * 100 + x)) / 40_000
                }
            }
        }
        return image
    }

    /// Bounding box (minX, minY, maxX, maxY) of the pixels that differ from `background`, or nil.
    private func inkBox(_ image: RGBImage, background: Color) -> (Int, Int, Int, Int)? {
        var box: (Int, Int, Int, Int)? = nil
        for y in 0..<image.height {
            for x in 0..<image.width where !same(image.pixel(x: x, y: y), background) {
                if let b = box { box = (min(b.0, x), min(b.1, y), max(b.2, x), max(b.3, y)) }
                else { box = (x, y, x, y) }
            }
        }
        return box
    }

    private func region(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        image.cropped(x: x, y: y, width: width, height: height)
    }

    // MARK: - Bitmap font

    func testFontCoversPrintableASCIIWithDistinctGlyphs() {
        XCTAssertEqual(BitmapFont.rows.count, 95 * BitmapFont.glyphHeight)
        var seen: [[UInt8]: Character] = [:]
        for code in UInt8(33)...126 {
            let c = Character(UnicodeScalar(code))
            let glyph = BitmapFont.glyph(c)
            XCTAssertTrue(glyph.contains { $0 != 0 }, "glyph for \(c) is blank")
            XCTAssertTrue(glyph.allSatisfy { $0 & ~0x1F == 0 }, "glyph for \(c) is wider than 5 columns")
            XCTAssertNil(seen[glyph], "\(c) and \(seen[glyph] ?? " ") share a glyph")
            seen[glyph] = c
        }
        XCTAssertEqual(BitmapFont.glyph(" "), [UInt8](repeating: 0, count: 8))
    }

    func testDrawTextInksOnlyInsideItsBoxInTheGivenColour() {
        let background: Color = (0.5, 0.5, 0.5)
        let ink: Color = (1, 0, 0.25)
        for (text, scale) in [("Hg!", 1), ("Style 42", 2), ("two\nlines_", 3)] {
            var image = RGBImage(width: 120, height: 70, fill: background)
            let x = 5, y = 4
            image.drawText(text, x: x, y: y, scale: scale, color: ink)
            let w = RGBImage.textWidth(text, scale: scale), h = RGBImage.textHeight(text, scale: scale)
            var changed = 0
            for py in 0..<image.height {
                for px in 0..<image.width {
                    let p = image.pixel(x: px, y: py)
                    if same(p, background) { continue }
                    changed += 1
                    XCTAssertTrue(same(p, ink), "\(text): (\(px), \(py)) is \(p), not the ink colour")
                    XCTAssertTrue(px >= x && px < x + w && py >= y && py < y + h,
                                  "\(text): ink at (\(px), \(py)) outside \(w)x\(h)+\(x)+\(y)")
                }
            }
            XCTAssertGreaterThan(changed, 10 * scale * scale, text)
        }
    }

    func testTextMetricsMatchInkedExtent() {
        // H inks its first column and row 0; W its last column; g its descender row.
        for scale in 1...3 {
            for text in ["HW", "HgW", "H", "Hello, World"] {
                var image = RGBImage(width: 240, height: 40, fill: 0)
                image.drawText(text, x: 3, y: 2, scale: scale, color: (1, 1, 1))
                guard let box = inkBox(image, background: (0, 0, 0)) else { return XCTFail("no ink for \(text)") }
                let expectedWidth = text.count * 6 * scale - scale
                XCTAssertEqual(RGBImage.textWidth(text, scale: scale), expectedWidth, text)
                XCTAssertEqual(box.0, 3, text)
                XCTAssertEqual(box.1, 2, text)
                XCTAssertEqual(box.2 - box.0 + 1, RGBImage.textWidth(text, scale: scale), "\(text) at \(scale)x")
                if text.contains("g") {
                    XCTAssertEqual(box.3 - box.1 + 1, RGBImage.textHeight(text, scale: scale), "\(text) at \(scale)x")
                }
            }
        }
        XCTAssertEqual(RGBImage.textWidth("", scale: 2), 0)
        XCTAssertEqual(RGBImage.textHeight("", scale: 2), 0)
        XCTAssertEqual(RGBImage.textWidth("ab\nlonger\nc", scale: 1), 6 * 6 - 1)
        XCTAssertEqual(RGBImage.textHeight("ab\nlonger\nc", scale: 2), (2 * 10 + 8) * 2)
        XCTAssertEqual(RGBImage.textLineHeight(scale: 3), 30)
    }

    func testNonASCIIDrawsAsQuestionMark() {
        func render(_ s: String) -> RGBImage {
            var image = RGBImage(width: 40, height: 12, fill: 1)
            image.drawText(s, x: 1, y: 1, color: (0, 0, 0))
            return image
        }
        XCTAssertEqual(render("é…日"), render("???"))
        XCTAssertEqual(render("a\tb"), render("a?b"))
        XCTAssertEqual(RGBImage.textWidth("é…日", scale: 1), RGBImage.textWidth("???", scale: 1))
        XCTAssertNotEqual(render("e"), render("?"))
    }

    func testDrawTextClipsAtEveryEdge() {
        // Clipped drawing equals drawing on a padded canvas and cropping the middle.
        let text = "Clip me\nagain"
        for (x, y) in [(-7, -3), (-40, 5), (25, -12), (30, 10), (-200, -200), (500, 3), (3, 500),
                       (Int.min / 4, 0), (0, Int.max / 4)] {
            for scale in [1, 2] {
                var small = RGBImage(width: 36, height: 16, fill: 0.2)
                small.drawText(text, x: x, y: y, scale: scale, color: (0.9, 0.8, 0.7))
                if abs(x) > 1000 || abs(y) > 1000 {
                    XCTAssertEqual(small, RGBImage(width: 36, height: 16, fill: 0.2))
                    continue
                }
                let pad = 300
                var big = RGBImage(width: 36 + 2 * pad, height: 16 + 2 * pad, fill: 0.2)
                big.drawText(text, x: x + pad, y: y + pad, scale: scale, color: (0.9, 0.8, 0.7))
                XCTAssertEqual(small, big.cropped(x: pad, y: pad, width: 36, height: 16), "at (\(x), \(y)) \(scale)x")
            }
        }
    }

    // MARK: - Compose

    func testPasteClipsAgainstNaiveReference() {
        let source = pattern(4, 3, seed: 1)
        for oy in -4...6 {
            for ox in -5...7 {
                var dest = RGBImage(width: 5, height: 4, fill: (0.5, 0.25, 0.75))
                dest.paste(source, x: ox, y: oy)
                for y in 0..<4 {
                    for x in 0..<5 {
                        let sx = x - ox, sy = y - oy
                        let inside = sx >= 0 && sx < 4 && sy >= 0 && sy < 3
                        let expected = inside ? source.pixel(x: sx, y: sy) : (0.5, 0.25, 0.75)
                        XCTAssertTrue(same(dest.pixel(x: x, y: y), expected), "offset (\(ox), \(oy)) at (\(x), \(y))")
                    }
                }
            }
        }
        var dest = RGBImage(width: 5, height: 4, fill: 0)
        for (x, y) in [(Int.min, 0), (Int.max, 0), (0, Int.min), (0, Int.max)] { dest.paste(source, x: x, y: y) }
        XCTAssertEqual(dest, RGBImage(width: 5, height: 4, fill: 0))
    }

    func testFillRectAndStrokeRectClip() {
        for (rx, ry, rw, rh) in [(-2, -1, 4, 3), (3, 2, 10, 10), (-5, -5, 20, 20), (1, 1, 0, 3), (6, 0, 2, 2), (2, 1, 2, 2)] {
            var image = RGBImage(width: 6, height: 5, fill: 0)
            image.fillRect(x: rx, y: ry, width: rw, height: rh, color: (1, 0.5, 0.25))
            for y in 0..<5 {
                for x in 0..<6 {
                    let inside = x >= rx && x < rx + rw && y >= ry && y < ry + rh
                    XCTAssertTrue(same(image.pixel(x: x, y: y), inside ? (1, 0.5, 0.25) : (0, 0, 0)),
                                  "rect \(rw)x\(rh)+\(rx)+\(ry) at (\(x), \(y))")
                }
            }
        }
        var framed = RGBImage(width: 6, height: 5, fill: 0)
        framed.strokeRect(x: 0, y: 0, width: 6, height: 5, color: (1, 1, 1))
        for y in 0..<5 {
            for x in 0..<6 {
                let edge = x == 0 || y == 0 || x == 5 || y == 4
                XCTAssertEqual(framed[x, y, 1], edge ? 1 : 0, "(\(x), \(y))")
            }
        }
    }

    func testDrawLine() {
        var diagonal = RGBImage(width: 5, height: 5, fill: 0)
        diagonal.drawLine(x0: 0, y0: 0, x1: 4, y1: 4, color: (1, 1, 1))
        for y in 0..<5 { for x in 0..<5 { XCTAssertEqual(diagonal[x, y, 0], x == y ? 1 : 0) } }

        // A horizontal line from far off one side to far off the other covers exactly its row.
        var long = RGBImage(width: 7, height: 4, fill: 0)
        long.drawLine(x0: -1_000_000_000, y0: 2, x1: 1_000_000_000, y1: 2, color: (1, 0, 0))
        for y in 0..<4 { for x in 0..<7 { XCTAssertEqual(long[x, y, 0], y == 2 ? 1 : 0) } }

        // Entirely outside: nothing drawn, no trap.
        var none = RGBImage(width: 7, height: 4, fill: 0)
        none.drawLine(x0: -10, y0: -10, x1: -3, y1: 50, color: (1, 1, 1), thickness: 3)
        none.drawLine(x0: Int.min / 2, y0: 0, x1: Int.min / 4, y1: 3, color: (1, 1, 1))
        XCTAssertEqual(none, RGBImage(width: 7, height: 4, fill: 0))

        // Thickness 2 doubles a horizontal line downwards.
        var thick = RGBImage(width: 6, height: 5, fill: 0)
        thick.drawLine(x0: 1, y0: 1, x1: 4, y1: 1, color: (1, 1, 1), thickness: 2)
        for y in 0..<5 { for x in 0..<6 { XCTAssertEqual(thick[x, y, 2], (1...2).contains(y) && (1...5).contains(x) ? 1 : 0, "(\(x), \(y))") } }
    }

    func testStacksAndGrid() {
        let a = pattern(3, 2, seed: 1), b = pattern(2, 5, seed: 2), c = pattern(4, 1, seed: 3)
        let row = RGBImage.hstack([a, b, c], spacing: 2, background: (0, 0, 1))
        XCTAssertEqual(row.width, 3 + 2 + 4 + 2 * 2)
        XCTAssertEqual(row.height, 5)
        XCTAssertEqual(row.cropped(x: 0, y: 1, width: 3, height: 2), a)   // (5 - 2) / 2 = 1
        XCTAssertEqual(row.cropped(x: 5, y: 0, width: 2, height: 5), b)
        XCTAssertEqual(row.cropped(x: 9, y: 2, width: 4, height: 1), c)
        XCTAssertTrue(same(row.pixel(x: 3, y: 0), (0, 0, 1)))
        XCTAssertTrue(same(row.pixel(x: 0, y: 0), (0, 0, 1)))

        let column = RGBImage.vstack([a, b], spacing: 1, background: (0, 1, 0))
        XCTAssertEqual(column.width, 3)
        XCTAssertEqual(column.height, 2 + 1 + 5)
        XCTAssertEqual(column.cropped(x: 0, y: 3, width: 2, height: 5), b)

        let grid = RGBImage.grid([a, b, c], columns: 2, spacing: 1, background: (1, 0, 0))
        XCTAssertEqual(grid.width, 2 * 4 + 1)
        XCTAssertEqual(grid.height, 2 * 5 + 1)
        XCTAssertEqual(grid.cropped(x: 0, y: 1, width: 3, height: 2), a)
        XCTAssertEqual(grid.cropped(x: 6, y: 0, width: 2, height: 5), b)
        XCTAssertEqual(grid.cropped(x: 0, y: 6 + 2, width: 4, height: 1), c)
    }

    func testFittedSize() {
        XCTAssertTrue(RGBImage.fittedSize(width: 200, height: 100, boxWidth: 50, boxHeight: 50) == (50, 25))
        XCTAssertTrue(RGBImage.fittedSize(width: 30, height: 90, boxWidth: 60, boxHeight: 60) == (20, 60))
        XCTAssertTrue(RGBImage.fittedSize(width: 10, height: 10, boxWidth: 40, boxHeight: 40) == (40, 40))
        XCTAssertTrue(RGBImage.fittedSize(width: 1000, height: 1, boxWidth: 40, boxHeight: 40) == (40, 1))
        let image = pattern(30, 90).fitted(width: 60, height: 60)
        XCTAssertEqual(image.width, 20)
        XCTAssertEqual(image.height, 60)
    }

    // MARK: - Contact sheet

    func testContactSheetDimensions() {
        let thumb = pattern(30, 20)
        for (count, columns, stylized, title) in [(5, 3, true, false), (5, 3, false, true), (1, 4, false, false),
                                                  (8, 4, true, true), (0, 4, false, true)] {
            let entries = (0..<count).map {
                ContactSheet.Entry(name: "style \($0)", thumbnail: thumb, stylized: stylized ? thumb : nil)
            }
            let sheet = ContactSheet.render(entries, cellSize: 40, columns: columns, title: title ? "Library" : nil)
            let cols = max(1, min(columns, count))
            let rows = max(1, (count + cols - 1) / cols)
            let cellWidth = 2 * 8 + (stylized ? 2 * 40 + 8 : 40)
            let cellHeight = 8 + 40 + 6 + 8 + 8
            let titleHeight = title ? 2 * 8 + 12 : 0
            XCTAssertEqual(sheet.width, 2 * 16 + cols * cellWidth + (cols - 1) * 12, "\(count) entries")
            XCTAssertEqual(sheet.height, 2 * 16 + titleHeight + rows * cellHeight + (rows - 1) * 12, "\(count) entries")
            let layout = ContactSheet.Layout(count: count, cellSize: 40, columns: columns,
                                             hasStylized: stylized, hasTitle: title)
            XCTAssertEqual(layout.width, sheet.width)
            XCTAssertEqual(layout.height, sheet.height)
        }
    }

    func testContactSheetCellsHoldFittedImagesAndNames() {
        let cellSize = 48
        let thumbs = [pattern(60, 30, seed: 1), pattern(20, 50, seed: 2), pattern(48, 48, seed: 3),
                      pattern(10, 12, seed: 4), pattern(200, 100, seed: 5)]
        let entries = thumbs.enumerated().map { i, t in
            ContactSheet.Entry(name: ["starry", "wave", "udnie", "mosaic", "a very long style name that cannot fit"][i], thumbnail: t,
                               stylized: i == 1 ? nil : pattern(40 + i, 30, seed: Float(10 + i)))
        }
        let sheet = ContactSheet.render(entries, cellSize: cellSize, columns: 2, title: "Test sheet")
        let layout = ContactSheet.Layout(count: entries.count, cellSize: cellSize, columns: 2,
                                         hasStylized: true, hasTitle: true)
        for (i, entry) in entries.enumerated() {
            let fitted = ContactSheet.fit(entry.thumbnail, side: cellSize)
            XCTAssertEqual(max(fitted.width, fitted.height), cellSize)
            let at = layout.imageOrigin(i, slot: 0, width: fitted.width, height: fitted.height)
            XCTAssertEqual(region(sheet, x: at.x, y: at.y, width: fitted.width, height: fitted.height), fitted,
                           "thumbnail of entry \(i)")
            if let stylized = entry.stylized {
                let f = ContactSheet.fit(stylized, side: cellSize)
                let s = layout.imageOrigin(i, slot: 1, width: f.width, height: f.height)
                XCTAssertEqual(region(sheet, x: s.x, y: s.y, width: f.width, height: f.height), f, "stylized of entry \(i)")
            } else {
                let box = layout.boxOrigin(i, slot: 1)
                XCTAssertEqual(region(sheet, x: box.x, y: box.y, width: cellSize, height: cellSize),
                               RGBImage(width: cellSize, height: cellSize, fill: ContactSheet.placeholder))
            }
            // The name is printed in the label band beneath, within the cell.
            let cell = layout.cellOrigin(i)
            let band = region(sheet, x: cell.x, y: layout.labelTop(i), width: layout.cellWidth, height: 8)
            guard let ink = inkBox(band, background: ContactSheet.panel) else { XCTFail("no label for \(i)"); continue }
            let name = ContactSheet.truncate(entry.name, maxWidth: layout.cellWidth - 16)
            // These names' first and last glyphs ink their outer columns, except '.', whose last
            // two columns are blank.
            let blank = name.hasSuffix(".") ? 2 : 0
            XCTAssertEqual(ink.2 - ink.0 + 1, RGBImage.textWidth(name, scale: 1) - blank, "label width of entry \(i)")
            XCTAssertEqual(ink.0, 8 + (layout.cellWidth - 16 - RGBImage.textWidth(name, scale: 1)) / 2, "label of \(i) centred")
        }
        let long = ContactSheet.truncate(entries[4].name, maxWidth: layout.cellWidth - 16)
        XCTAssertTrue(long.hasSuffix("..."))
        XCTAssertTrue(entries[4].name.hasPrefix(long.dropLast(3)))
        XCTAssertLessThanOrEqual(RGBImage.textWidth(long, scale: 1), layout.cellWidth - 16)
        XCTAssertGreaterThan(RGBImage.textWidth(long + "x", scale: 1), layout.cellWidth - 16)
        XCTAssertEqual(ContactSheet.truncate("short", maxWidth: 100), "short")
        XCTAssertEqual(ContactSheet.truncate("a long name", maxWidth: 5), ".")
    }

    func testStripWidthAndLabels() {
        let frames = [pattern(30, 20, seed: 1), pattern(25, 24, seed: 2), pattern(40, 16, seed: 3)]
        let plain = ContactSheet.strip(frames, labels: nil, spacing: 6)
        XCTAssertEqual(plain.width, 30 + 25 + 40 + 2 * 6)
        XCTAssertEqual(plain.height, 24)
        XCTAssertEqual(plain.cropped(x: 36, y: 0, width: 25, height: 24), frames[1])
        XCTAssertEqual(plain.cropped(x: 67, y: 4, width: 40, height: 16), frames[2])

        // Labels whose first and last glyphs ink their outer columns, so ink extent = text width.
        let labels = ["0.00", "0.50", "0.75"]
        let labelled = ContactSheet.strip(frames, labels: labels, spacing: 6)
        XCTAssertEqual(labelled.width, plain.width)
        XCTAssertEqual(labelled.height, 24 + 2 * 4 + 8)
        XCTAssertEqual(labelled.cropped(x: 0, y: 0, width: plain.width, height: 24), plain)
        let band = labelled.cropped(x: 0, y: 24, width: labelled.width, height: 16)
        for (i, x0) in [0, 36, 67].enumerated() {
            let part = band.cropped(x: x0, y: 0, width: frames[i].width, height: 16)
            guard let ink = inkBox(part, background: ContactSheet.background) else { XCTFail("no label \(i)"); continue }
            XCTAssertEqual(ink.2 - ink.0 + 1, RGBImage.textWidth(labels[i], scale: 1))
            XCTAssertEqual(ink.0, (frames[i].width - RGBImage.textWidth(labels[i], scale: 1)) / 2, "label \(i) centred")
            XCTAssertEqual(ink.1, 4, "label \(i) top")
        }
        // Fewer labels than frames: the rest stay blank.
        let partial = ContactSheet.strip(frames, labels: ["a"], spacing: 0)
        XCTAssertEqual(partial.width, 95)
        XCTAssertNil(inkBox(partial.cropped(x: 30, y: 24, width: 65, height: 16), background: ContactSheet.background))
    }

    // MARK: - Loss plot

    private func colourPixels(_ image: RGBImage, _ color: Color, in rect: LossPlot.Rect? = nil) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        for y in 0..<image.height {
            for x in 0..<image.width where same(image.pixel(x: x, y: y), color) {
                if let rect, !rect.contains(x, y) { continue }
                out.append((x, y))
            }
        }
        return out
    }

    func testLossPlotDrawsSeriesAndLeavesBackground() {
        let decreasing = (0..<50).map { (x: Double($0), y: 10 * exp(-Double($0) / 10) + 0.5) }
        let flat = (0..<50).map { (x: Double($0), y: 3.0) }
        let result = LossPlot.draw(series: [("total", decreasing), ("style", flat)], width: 400, height: 260,
                                   title: "Training loss", logY: false)
        let image = result.image
        XCTAssertEqual(image.width, 400)
        XCTAssertEqual(image.height, 260)
        let blue = colourPixels(image, LossPlot.color(forSeries: 0), in: result.plot)
        let orange = colourPixels(image, LossPlot.color(forSeries: 1), in: result.plot)
        XCTAssertGreaterThan(blue.count, 100)
        XCTAssertGreaterThan(orange.count, 100)
        // The constant series is one horizontal band (2 px thick).
        XCTAssertLessThanOrEqual(Set(orange.map(\.1)).count, 2)
        // Legend swatches appear outside the plot area.
        XCTAssertFalse(colourPixels(image, LossPlot.color(forSeries: 1)).filter { !result.plot.contains($0.0, $0.1) }.isEmpty)
        // Most of the plot area is background (or grid), and the corners are untouched.
        var background = 0
        for y in result.plot.y..<(result.plot.y + result.plot.height) {
            for x in result.plot.x..<(result.plot.x + result.plot.width) {
                let p = image.pixel(x: x, y: y)
                if same(p, LossPlot.background) || same(p, LossPlot.gridColor) { background += 1 }
            }
        }
        XCTAssertGreaterThan(Double(background), 0.9 * Double(result.plot.width * result.plot.height))
        for (x, y) in [(0, 0), (399, 0), (0, 259), (399, 259)] {
            XCTAssertTrue(same(image.pixel(x: x, y: y), LossPlot.background))
        }
        // A decreasing series starts higher (smaller y) than it ends.
        let leftX = blue.map(\.0).min()!, rightX = blue.map(\.0).max()!
        let leftY = blue.filter { $0.0 == leftX }.map(\.1).min()!
        let rightY = blue.filter { $0.0 == rightX }.map(\.1).min()!
        XCTAssertLessThan(leftY, rightY)
        XCTAssertLessThan(rightX - leftX, result.plot.width)
        XCTAssertGreaterThan(rightX - leftX, result.plot.width * 3 / 4)
    }

    func testLossPlotDegenerateSeries() {
        let nan = Double.nan
        let cases: [[(name: String, points: [(x: Double, y: Double)])]] = [
            [("single", [(x: 5, y: 2)])],
            [("constant", [(x: 0, y: 1), (x: 1, y: 1), (x: 2, y: 1)])],
            [("gaps", [(x: 0, y: 4), (x: 1, y: nan), (x: 2, y: 3), (x: 3, y: .infinity), (x: nan, y: 1), (x: 5, y: 2)])],
            [("all nan", [(x: nan, y: nan)])],
            [("empty", [])],
            [],
            [("huge", [(x: 0, y: 1e12), (x: 1e9, y: -1e12)])],
        ]
        for series in cases {
            for logY in [false, true] {
                let result = LossPlot.draw(series: series, width: 320, height: 200, title: "t", logY: logY)
                XCTAssertEqual(result.image.width, 320)
                XCTAssertTrue(result.x.lo < result.x.hi && result.y.lo < result.y.hi)
                XCTAssertTrue(result.x.lo.isFinite && result.y.hi.isFinite)
            }
        }
        // A lone point gets a marker inside the plot.
        let single = LossPlot.draw(series: [("single", [(x: 5, y: 2)])], width: 320, height: 200, title: "t", logY: false)
        XCTAssertGreaterThanOrEqual(colourPixels(single.image, LossPlot.color(forSeries: 0), in: single.plot).count, 25)
        // NaN breaks the line: the point at x = 0 gets a marker and nothing is drawn through x = 1.
        let gaps = LossPlot.draw(series: [("g", [(x: 0, y: 4), (x: 1, y: nan), (x: 2, y: 3), (x: 3, y: 3)])],
                                 width: 320, height: 200, title: "t", logY: false)
        let pixels = colourPixels(gaps.image, LossPlot.color(forSeries: 0), in: gaps.plot)
        let xAt1 = gaps.plot.x + Int(((1 - gaps.x.lo) / (gaps.x.hi - gaps.x.lo) * Double(gaps.plot.width - 1)).rounded())
        XCTAssertFalse(pixels.contains { $0.0 == xAt1 })
        // Log axis: points with y <= 0 are skipped, not drawn at -infinity.
        let log = LossPlot.draw(series: [("l", [(x: 0, y: 0), (x: 1, y: 100), (x: 2, y: 0.01)])],
                                width: 320, height: 200, title: "t", logY: true)
        XCTAssertEqual(log.y.lo, -2)
        XCTAssertEqual(log.y.hi, 2)
        XCTAssertEqual(log.y.ticks.map(\.label), ["0.01", "0.1", "1", "10", "100"])
    }

    func testAxisTicks() {
        XCTAssertEqual(LossPlot.niceStep(0.3), 0.5)
        XCTAssertEqual(LossPlot.niceStep(1), 1)
        XCTAssertEqual(LossPlot.niceStep(130), 200)
        let axis = LossPlot.linearAxis([0.12, 0.93], targetTicks: 5)
        XCTAssertEqual(axis.ticks.map(\.label), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(axis.lo, 0)
        XCTAssertEqual(axis.hi, 1, accuracy: 1e-12)
        XCTAssertEqual(LossPlot.linearAxis([0, 10_000], targetTicks: 5).ticks.last?.label, "10000")
        XCTAssertEqual(LossPlot.linearAxis([-1, 1], targetTicks: 4).ticks.map(\.label), ["-1.0", "-0.5", "0.0", "0.5", "1.0"])
        XCTAssertEqual(LossPlot.format(2.5e-6, step: 1e-6), "2.5e-6")
        XCTAssertEqual(LossPlot.format(3e7, step: 1e7), "3e7")
        XCTAssertEqual(LossPlot.formatPowerOfTen(-5), "1e-5")
        XCTAssertEqual(LossPlot.formatPowerOfTen(3), "1000")
    }

    // MARK: - Samples

    /// A sample contact sheet, strip and loss plots, written as PNG (into PASTICHE_SAMPLE_DIR
    /// when set, for looking at; else a temporary folder) and read back: each has ink of more
    /// than one colour, and comes back as rendered to 8-bit rounding.
    func testSamplesRenderAndSurviveAPNGRoundTrip() throws {
        let dir = try ProcessInfo.processInfo.environment["PASTICHE_SAMPLE_DIR"] ?? temporaryDirectory("pastiche-samples")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var written: [(String, RGBImage)] = []
        func write(_ image: RGBImage, _ name: String) throws {
            try ImageIO.write(image, to: dir + "/" + name)
            written.append((name, image))
        }
        func swatch(_ w: Int, _ h: Int, _ k: Int) -> RGBImage {
            var image = RGBImage(width: w, height: h, fill: 0)
            for y in 0..<h {
                for x in 0..<w {
                    let u = Float(x) / Float(w), v = Float(y) / Float(h)
                    let t = Float(k)
                    image.setPixel(x: x, y: y, (0.5 + 0.5 * sin(6 * u + t), 0.5 + 0.5 * sin(5 * v + 2 * t),
                                               0.5 + 0.5 * cos(4 * (u + v) + t)))
                }
            }
            return image
        }
        let names = ["starry night", "the great wave off kanagawa", "udnie", "mosaic", "candy", "rain princess",
                     "composition vii (kandinsky)", "scream"]
        let entries = names.enumerated().map { i, name in
            ContactSheet.Entry(name: name, thumbnail: swatch(i % 2 == 0 ? 200 : 120, i % 3 == 0 ? 120 : 200, i),
                               stylized: i == 5 ? nil : swatch(240, 180, i + 3))
        }
        let sheet = ContactSheet.render(entries, cellSize: 128, columns: 3, title: "Pastiche style library (8 styles)")
        try write(sheet, "contact_sheet.png")
        let frames = (0..<5).map { swatch(128, 96, $0) }
        let strip = ContactSheet.strip(frames, labels: ["0.00", "0.25", "0.50", "0.75", "1.00"], spacing: 8)
        try write(strip, "strip.png")
        let steps = (0..<400).map(Double.init)
        let content = steps.map { (x: $0 * 10, y: 8 * exp(-$0 / 60) + 1 + 0.2 * sin($0 / 3)) }
        let style = steps.map { (x: $0 * 10, y: $0 == 200 ? Double.nan : 30 * exp(-$0 / 25) + 0.4) }
        let tv = steps.map { (x: $0 * 10, y: 0.05) }
        let plot = LossPlot.render(series: [("content", content), ("style", style), ("tv", tv)],
                                   title: "Training loss")
        try write(plot, "loss.png")
        let logPlot = LossPlot.render(series: [("content", content), ("style", style), ("tv", tv)],
                                      title: "Training loss (log)", logY: true)
        try write(logPlot, "loss_log.png")
        for (name, image) in written {
            let back = try ImageIO.read(path: dir + "/" + name)
            XCTAssertEqual([back.width, back.height], [image.width, image.height], name)
            let worst = maxAbsDifference(back, image)
            XCTAssertLessThanOrEqual(worst, 0.5 / 255 + 1e-6, "\(name) survives 8-bit PNG")
            XCTAssertGreaterThan(Set(image.pixels.map { ($0 * 255).rounded() }).count, 2, "\(name) has ink")
        }
    }
}
