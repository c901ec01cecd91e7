/// Compositing helpers: pasting, filled and outlined rectangles, lines, and stacking images
/// into rows, columns and grids. Every drawing call clips to the image; nothing outside it is
/// touched and no coordinate (however far off the image) traps.
extension RGBImage {
    /// Copies `other` with its top-left corner at (x, y). Parts falling outside this image are
    /// dropped; offsets may be negative or beyond the edges.
    public mutating func paste(_ other: RGBImage, x: Int, y: Int) {
        let w = width, h = height, n = planeSize
        let ow = other.width, oh = other.height, on = other.planeSize
        // Clip in the source's coordinates, comparing before adding so far-off offsets cannot overflow.
        guard x < w, y < h, x > -ow, y > -oh else { return }
        let sx0 = max(0, -x), sy0 = max(0, -y)
        let sx1 = min(ow, w - x), sy1 = min(oh, h - y)
        guard sx0 < sx1, sy0 < sy1 else { return }
        let count = sx1 - sx0
        other.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for sy in sy0..<sy1 {
                        let s = c * on + sy * ow + sx0
                        let d = c * n + (y + sy) * w + (x + sx0)
                        (dst.baseAddress! + d).update(from: src.baseAddress! + s, count: count)
                    }
                }
            }
        }
    }

    /// Fills the rectangle at (x, y) of size `width` × `height` with `color`, clipped to the image.
    /// A non-positive size draws nothing.
    public mutating func fillRect(x: Int, y: Int, width rw: Int, height rh: Int, color: (Float, Float, Float)) {
        guard rw > 0, rh > 0 else { return }
        let w = width, h = height, n = planeSize
        guard x < w, y < h, x > -rw, y > -rh else { return }
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(w, x + rw), y1 = min(h, y + rh)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { px in
            for (c, value) in [color.0, color.1, color.2].enumerated() {
                for yy in y0..<y1 {
                    let r = c * n + yy * w
                    for xx in x0..<x1 { px[r + xx] = value }
                }
            }
        }
    }

    /// Outlines the rectangle at (x, y) of size `width` × `height` with lines `thickness` pixels
    /// wide, drawn inside the rectangle. Clipped to the image.
    public mutating func strokeRect(x: Int, y: Int, width rw: Int, height rh: Int,
                                    color: (Float, Float, Float), thickness: Int = 1) {
        guard rw > 0, rh > 0, thickness > 0 else { return }
        let t = min(thickness, rw, rh)
        fillRect(x: x, y: y, width: rw, height: t, color: color)
        fillRect(x: x, y: y + rh - t, width: rw, height: t, color: color)
        fillRect(x: x, y: y + t, width: t, height: rh - 2 * t, color: color)
        fillRect(x: x + rw - t, y: y + t, width: t, height: rh - 2 * t, color: color)
    }

    /// Draws a solid line from (x0, y0) to (x1, y1), both ends included, with Bresenham's
    /// algorithm and a square pen `thickness` pixels wide (for even widths the extra pixel goes
    /// right/down). Endpoints off the image are clipped first (Liang–Barsky), so very long or
    /// far-off lines cost only the visible part.
    public mutating func drawLine(x0: Int, y0: Int, x1: Int, y1: Int,
                                  color: (Float, Float, Float), thickness: Int = 1) {
        guard thickness > 0 else { return }
        let w = width, h = height, n = planeSize
        let lo = (thickness - 1) / 2, hi = thickness / 2
        var ax = x0, ay = y0, bx = x1, by = y1
        // Clip to the image widened by the pen, unless both ends are already inside it.
        let minX = -hi, maxX = w - 1 + lo, minY = -hi, maxY = h - 1 + lo
        func inside(_ x: Int, _ y: Int) -> Bool { x >= minX && x <= maxX && y >= minY && y <= maxY }
        if !inside(ax, ay) || !inside(bx, by) {
            guard let clipped = RGBImage.clipSegment(Double(ax), Double(ay), Double(bx), Double(by),
                                                     Double(minX), Double(minY), Double(maxX), Double(maxY))
            else { return }
            ax = Int(clipped.0.rounded()); ay = Int(clipped.1.rounded())
            bx = Int(clipped.2.rounded()); by = Int(clipped.3.rounded())
        }
        let dx = abs(bx - ax), dy = -abs(by - ay)
        let sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1
        var err = dx + dy
        var x = ax, y = ay
        pixels.withUnsafeMutableBufferPointer { px in
            while true {
                let px0 = max(0, x - lo), px1 = min(w - 1, x + hi)
                let py0 = max(0, y - lo), py1 = min(h - 1, y + hi)
                if px0 <= px1 && py0 <= py1 {
                    for yy in py0...py1 {
                        let r = yy * w
                        for xx in px0...px1 {
                            px[r + xx] = color.0
                            px[n + r + xx] = color.1
                            px[2 * n + r + xx] = color.2
                        }
                    }
                }
                if x == bx && y == by { break }
                let e2 = 2 * err
                if e2 >= dy { err += dy; x += sx }
                if e2 <= dx { err += dx; y += sy }
            }
        }
    }

    /// Liang–Barsky: the part of the segment inside [minX, maxX] × [minY, maxY], or nil.
    static func clipSegment(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double,
                            _ minX: Double, _ minY: Double, _ maxX: Double, _ maxY: Double)
        -> (Double, Double, Double, Double)? {
        let dx = x1 - x0, dy = y1 - y0
        var t0 = 0.0, t1 = 1.0
        for (p, q) in [(-dx, x0 - minX), (dx, maxX - x0), (-dy, y0 - minY), (dy, maxY - y0)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let r = q / p
                if p < 0 { if r > t1 { return nil }; if r > t0 { t0 = r } }
                else { if r < t0 { return nil }; if r < t1 { t1 = r } }
            }
        }
        return (x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy)
    }

    /// The images side by side, left to right, `spacing` pixels apart, each centred vertically
    /// (offset rounded down) on `background`. Width = Σ widths + spacing × (count − 1);
    /// height = the tallest image. `images` must not be empty.
    public static func hstack(_ images: [RGBImage], spacing: Int = 0,
                              background: (Float, Float, Float) = (1, 1, 1)) -> RGBImage {
        precondition(!images.isEmpty, "hstack needs at least one image")
        let gap = max(0, spacing)
        let totalWidth = images.reduce(0) { $0 + $1.width } + gap * (images.count - 1)
        let height = images.map(\.height).max()!
        var out = RGBImage(width: totalWidth, height: height, fill: background)
        var x = 0
        for image in images {
            out.paste(image, x: x, y: (height - image.height) / 2)
            x += image.width + gap
        }
        return out
    }

    /// The images stacked top to bottom, `spacing` pixels apart, each centred horizontally
    /// (offset rounded down) on `background`. `images` must not be empty.
    public static func vstack(_ images: [RGBImage], spacing: Int = 0,
                              background: (Float, Float, Float) = (1, 1, 1)) -> RGBImage {
        precondition(!images.isEmpty, "vstack needs at least one image")
        let gap = max(0, spacing)
        let totalHeight = images.reduce(0) { $0 + $1.height } + gap * (images.count - 1)
        let width = images.map(\.width).max()!
        var out = RGBImage(width: width, height: totalHeight, fill: background)
        var y = 0
        for image in images {
            out.paste(image, x: (width - image.width) / 2, y: y)
            y += image.height + gap
        }
        return out
    }

    /// The images in rows of `columns`, left to right then top to bottom. Every cell is as wide
    /// as the widest image and as tall as the tallest; each image is centred in its cell.
    /// Cells are `spacing` pixels apart, with no outer margin. `images` must not be empty.
    public static func grid(_ images: [RGBImage], columns: Int, spacing: Int = 0,
                            background: (Float, Float, Float) = (1, 1, 1)) -> RGBImage {
        precondition(!images.isEmpty, "grid needs at least one image")
        precondition(columns >= 1, "grid needs at least one column")
        let gap = max(0, spacing)
        let cols = min(columns, images.count)
        let rows = (images.count + cols - 1) / cols
        let cellW = images.map(\.width).max()!, cellH = images.map(\.height).max()!
        var out = RGBImage(width: cols * cellW + (cols - 1) * gap, height: rows * cellH + (rows - 1) * gap,
                           fill: background)
        for (i, image) in images.enumerated() {
            let cx = (i % cols) * (cellW + gap), cy = (i / cols) * (cellH + gap)
            out.paste(image, x: cx + (cellW - image.width) / 2, y: cy + (cellH - image.height) / 2)
        }
        return out
    }

    /// Scaled (aspect kept, up or down) to the largest size that fits in `boxWidth` × `boxHeight`;
    /// each side is rounded and at least 1 pixel. Returns the image unchanged if it already
    /// touches the box on one side and fits on the other.
    public func fitted(width boxWidth: Int, height boxHeight: Int, filter: ResampleFilter = .automatic) -> RGBImage {
        precondition(boxWidth > 0 && boxHeight > 0, "fit box must be positive, got \(boxWidth)x\(boxHeight)")
        let size = RGBImage.fittedSize(width: width, height: height, boxWidth: boxWidth, boxHeight: boxHeight)
        return resized(width: size.width, height: size.height, filter: filter)
    }

    /// The size `fitted(width:height:)` produces for an image of `width` × `height`.
    public static func fittedSize(width: Int, height: Int, boxWidth: Int, boxHeight: Int) -> (width: Int, height: Int) {
        // Compare aspect ratios exactly in integers to choose the limiting side.
        if width * boxHeight >= height * boxWidth {
            let h = Int((Double(height) * Double(boxWidth) / Double(width)).rounded())
            return (boxWidth, min(boxHeight, max(1, h)))
        } else {
            let w = Int((Double(width) * Double(boxHeight) / Double(height)).rounded())
            return (min(boxWidth, max(1, w)), boxHeight)
        }
    }
}
