import Foundation

/// A small line chart renderer for training curves: title, legend, axes with tick labels and
/// grid lines, one solid colour per series. Text uses `BitmapFont`; lines are Bresenham
/// (`RGBImage.drawLine`), 2 px wide, unblended, so every line pixel has exactly its series colour.
public enum LossPlot {
    /// Series colours, in order (cycled when there are more series): the Tableau-10 hues
    /// without grey.
    public static let palette: [(Float, Float, Float)] = [
        (0.122, 0.467, 0.706),  // blue
        (1.000, 0.498, 0.055),  // orange
        (0.173, 0.627, 0.173),  // green
        (0.839, 0.153, 0.157),  // red
        (0.580, 0.404, 0.741),  // purple
        (0.549, 0.337, 0.294),  // brown
        (0.890, 0.467, 0.761),  // pink
        (0.737, 0.741, 0.133),  // olive
        (0.090, 0.745, 0.812),  // cyan
    ]
    public static let background: (Float, Float, Float) = (1, 1, 1)
    public static let gridColor: (Float, Float, Float) = (0.90, 0.90, 0.91)
    public static let axisColor: (Float, Float, Float) = (0.25, 0.25, 0.28)
    public static let textColor: (Float, Float, Float) = (0.10, 0.10, 0.12)

    /// Line width of the series, in pixels.
    public static let lineWidth = 2

    /// The colour of series `index`.
    public static func color(forSeries index: Int) -> (Float, Float, Float) {
        palette[index % palette.count]
    }

    /// Renders a line chart of `series` (each drawn in `color(forSeries:)`, points joined in the
    /// given order). Points whose x or y is not finite — or, with `logY`, whose y is not
    /// positive — are skipped and break the line there; a point with no drawable neighbour
    /// gets a small square marker. Axis ranges cover all drawable points, widened to round tick
    /// values; a constant (or single-valued) axis is widened around its value; with no
    /// drawable points the axes show 0...1. With `logY` the y axis is log10, ticked at powers
    /// of ten when it spans at least a decade. `width` must be at least 160 and `height` at least 120.
    /// `firstColor`: the palette index of the first series (charts drawn side by side keep one
    /// colour per quantity).
    public static func render(series: [(name: String, points: [(x: Double, y: Double)])],
                              width: Int = 800, height: Int = 500, title: String,
                              logY: Bool = false, firstColor: Int = 0) -> RGBImage {
        draw(series: series, width: width, height: height, title: title, logY: logY, firstColor: firstColor).image
    }

    // MARK: - Layout and drawing

    struct Rect: Equatable {
        var x: Int, y: Int, width: Int, height: Int
        func contains(_ px: Int, _ py: Int) -> Bool {
            px >= x && px < x + width && py >= y && py < y + height
        }
    }

    struct Axis {
        /// Bounds in plotted units (log10(y) on a log axis).
        var lo: Double
        var hi: Double
        /// Tick positions in plotted units, with their labels.
        var ticks: [(value: Double, label: String)]
    }

    static let margin = 12
    static let titleScale = 2
    static let tickLength = 4
    static let swatchWidth = 18
    static let legendRowHeight = 14

    /// Draws the chart; also returns the plot area (inside the axes) and the axes, for tests.
    static func draw(series: [(name: String, points: [(x: Double, y: Double)])], width: Int, height: Int,
                     title: String, logY: Bool, firstColor: Int = 0) -> (image: RGBImage, plot: Rect, x: Axis, y: Axis) {
        precondition(width >= 160 && height >= 120, "plot must be at least 160x120, got \(width)x\(height)")
        var image = RGBImage(width: width, height: height, fill: background)

        // Data in plotted units; nil marks a skipped point (a break in the line).
        let plotted: [[(Double, Double)?]] = series.map { s in
            s.points.map { p in
                guard p.x.isFinite, p.y.isFinite, !logY || p.y > 0 else { return nil }
                return (p.x, logY ? log10(p.y) : p.y)
            }
        }
        let all = plotted.flatMap { $0.compactMap { $0 } }
        let xAxis = linearAxis(all.map(\.0), targetTicks: 6)
        let yAxis = logY ? logAxis(all.map(\.1)) : linearAxis(all.map(\.1), targetTicks: 5)

        // Title.
        var top = margin
        let titleText = ContactSheet.truncate(title, maxWidth: width - 2 * margin, scale: titleScale)
        if !titleText.isEmpty {
            let tw = RGBImage.textWidth(titleText, scale: titleScale)
            image.drawText(titleText, x: (width - tw) / 2, y: top, scale: titleScale, color: textColor)
            top += BitmapFont.glyphHeight * titleScale + 8
        }

        // Legend: entries flow left to right, wrapping, above the plot area.
        if !series.isEmpty {
            var x = margin
            var rowTop = top
            let maxName = width - 2 * margin - swatchWidth - 6
            for (i, s) in series.enumerated() {
                let name = ContactSheet.truncate(String(s.name.map { $0.isNewline ? " " : $0 }),
                                                 maxWidth: maxName)
                let entryWidth = swatchWidth + 6 + RGBImage.textWidth(name, scale: 1)
                if x > margin && x + entryWidth > width - margin {
                    x = margin
                    rowTop += legendRowHeight
                }
                let c = color(forSeries: firstColor + i)
                image.fillRect(x: x, y: rowTop + 2, width: swatchWidth, height: 4, color: c)
                image.drawText(name, x: x + swatchWidth + 6, y: rowTop, color: textColor)
                x += entryWidth + 16
            }
            top = rowTop + legendRowHeight + 4
        }

        // Plot area: room on the left for the y labels, below for the x labels.
        let yLabelWidth = yAxis.ticks.map { RGBImage.textWidth($0.label, scale: 1) }.max() ?? 0
        let lastXLabel = xAxis.ticks.last.map { RGBImage.textWidth($0.label, scale: 1) } ?? 0
        let left = margin + yLabelWidth + tickLength + 4
        let right = width - margin - max(0, lastXLabel / 2 - margin / 2)
        let bottom = height - margin - BitmapFont.glyphHeight - tickLength - 4
        let plot = Rect(x: left, y: top, width: max(8, right - left), height: max(8, bottom - top))

        func px(_ v: Double) -> Int {
            plot.x + Int(((v - xAxis.lo) / (xAxis.hi - xAxis.lo) * Double(plot.width - 1)).rounded())
        }
        func py(_ v: Double) -> Int {
            plot.y + Int(((1 - (v - yAxis.lo) / (yAxis.hi - yAxis.lo)) * Double(plot.height - 1)).rounded())
        }
        let plotRight = plot.x + plot.width - 1, plotBottom = plot.y + plot.height - 1

        // Grid, ticks and labels.
        for tick in xAxis.ticks {
            let x = px(tick.value)
            image.drawLine(x0: x, y0: plot.y, x1: x, y1: plotBottom, color: gridColor)
            image.drawLine(x0: x, y0: plotBottom + 1, x1: x, y1: plotBottom + tickLength, color: axisColor)
            let tw = RGBImage.textWidth(tick.label, scale: 1)
            image.drawText(tick.label, x: x - tw / 2, y: plotBottom + tickLength + 4, color: textColor)
        }
        for tick in yAxis.ticks {
            let y = py(tick.value)
            image.drawLine(x0: plot.x, y0: y, x1: plotRight, y1: y, color: gridColor)
            image.drawLine(x0: plot.x - tickLength, y0: y, x1: plot.x - 1, y1: y, color: axisColor)
            let tw = RGBImage.textWidth(tick.label, scale: 1)
            image.drawText(tick.label, x: plot.x - tickLength - 4 - tw, y: y - 3, color: textColor)
        }
        image.drawLine(x0: plot.x - 1, y0: plot.y, x1: plot.x - 1, y1: plotBottom + 1, color: axisColor)
        image.drawLine(x0: plot.x - 1, y0: plotBottom + 1, x1: plotRight, y1: plotBottom + 1, color: axisColor)

        // Series, in order (later series on top).
        for (i, points) in plotted.enumerated() {
            let c = color(forSeries: firstColor + i)
            for (j, point) in points.enumerated() {
                guard let (x, y) = point else { continue }
                let here = (px(x), py(y))
                let previous = j > 0 ? points[j - 1] : nil
                let next = j + 1 < points.count ? points[j + 1] : nil
                if let (x1, y1) = next {
                    image.drawLine(x0: here.0, y0: here.1, x1: px(x1), y1: py(y1), color: c, thickness: lineWidth)
                } else if previous == nil {
                    image.fillRect(x: here.0 - 2, y: here.1 - 2, width: 5, height: 5, color: c)
                }
            }
        }
        return (image, plot, xAxis, yAxis)
    }

    // MARK: - Axes

    /// 1, 2 or 5 × 10^k, the smallest such at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        let exponent = floor(log10(raw))
        let base = pow(10, exponent)
        for m in [1.0, 2, 5, 10] where m * base >= raw * (1 - 1e-9) { return m * base }
        return 10 * base
    }

    /// The range of `values` widened when degenerate: (0, 1) when empty; v ± max(|v|·0.05, 0.5) when constant.
    static func span(_ values: [Double]) -> (Double, Double) {
        guard var lo = values.min(), var hi = values.max() else { return (0, 1) }
        if hi - lo <= max(abs(lo), abs(hi)) * 1e-12 {
            let pad = max(abs(lo) * 0.05, 0.5)
            lo -= pad
            hi += pad
        }
        return (lo, hi)
    }

    static func linearAxis(_ values: [Double], targetTicks: Int) -> Axis {
        let (lo, hi) = span(values)
        let step = niceStep((hi - lo) / Double(targetTicks))
        let first = floor(lo / step + 1e-9), last = ceil(hi / step - 1e-9)
        let axisLo = first * step, axisHi = max(last, first + 1) * step
        var ticks: [(Double, String)] = []
        var k = first
        while k <= last + 0.5 && ticks.count < 50 {
            let v = k * step
            ticks.append((v, format(v, step: step)))
            k += 1
        }
        return Axis(lo: axisLo, hi: axisHi, ticks: ticks)
    }

    /// Log10 axis over `values` (already log10). At least a decade: whole decades, thinned to at
    /// most about 8 ticks. Less: the data span padded by 5 %, ticked at round values.
    static func logAxis(_ values: [Double]) -> Axis {
        let (lo, hi) = span(values)
        if hi - lo >= 1 {
            let first = floor(lo + 1e-9), last = ceil(hi - 1e-9)
            let every = max(1.0, ceil((last - first) / 8))
            var ticks: [(Double, String)] = []
            var k = first
            while k <= last + 0.5 {
                ticks.append((k, formatPowerOfTen(Int(k))))
                k += every
            }
            return Axis(lo: first, hi: last, ticks: ticks)
        }
        let pad = (hi - lo) * 0.05
        let axisLo = lo - pad, axisHi = hi + pad
        let vlo = pow(10, axisLo), vhi = pow(10, axisHi)
        let step = niceStep((vhi - vlo) / 5)
        var ticks: [(Double, String)] = []
        var k = ceil(vlo / step - 1e-9)
        while k * step <= vhi * (1 + 1e-12) && ticks.count < 50 {
            let v = k * step
            if v > 0 { ticks.append((log10(v), format(v, step: step))) }
            k += 1
        }
        return Axis(lo: axisLo, hi: axisHi, ticks: ticks)
    }

    /// A tick label: fixed-point with as many decimals as `step` needs; scientific for very
    /// large or very small magnitudes.
    static func format(_ value: Double, step: Double) -> String {
        let v = abs(value) < step * 1e-6 ? 0 : value
        let magnitude = max(abs(v), step)
        if magnitude >= 1e6 || step < 1e-4 {
            return compactScientific(v)
        }
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        return String(format: "%.\(decimals)f", v)
    }

    static func formatPowerOfTen(_ k: Int) -> String {
        if k >= 0 && k <= 5 { return "1" + String(repeating: "0", count: k) }
        if k < 0 && k >= -3 { return "0." + String(repeating: "0", count: -k - 1) + "1" }
        return "1e\(k)"
    }

    /// "%.3g" without the exponent's plus sign and leading zeros: 1.5e-05 → 1.5e-5.
    static func compactScientific(_ v: Double) -> String {
        if v == 0 { return "0" }
        let s = String(format: "%.3g", v)
        guard let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return s }
        let mantissa = s[..<e]
        var exponent = s[s.index(after: e)...]
        var sign = ""
        if exponent.first == "+" { exponent = exponent.dropFirst() }
        else if exponent.first == "-" { sign = "-"; exponent = exponent.dropFirst() }
        let digits = exponent.drop(while: { $0 == "0" })
        return "\(mantissa)e\(sign)\(digits.isEmpty ? "0" : String(digits))"
    }
}
