/// Overview images of a style library: a grid of labelled cells (`render`) and a row of
/// interpolation frames (`strip`).
public enum ContactSheet {
    /// One cell: a style's name, its thumbnail and, optionally, a photo stylized with it.
    public struct Entry: Sendable {
        public var name: String
        public var thumbnail: RGBImage
        public var stylized: RGBImage?

        public init(name: String, thumbnail: RGBImage, stylized: RGBImage? = nil) {
            self.name = name
            self.thumbnail = thumbnail
            self.stylized = stylized
        }
    }

    /// Colours used by `render` and `strip`.
    public static let background: (Float, Float, Float) = (0.93, 0.93, 0.94)
    public static let panel: (Float, Float, Float) = (1, 1, 1)
    public static let border: (Float, Float, Float) = (0.80, 0.80, 0.82)
    public static let placeholder: (Float, Float, Float) = (0.86, 0.86, 0.88)
    public static let ink: (Float, Float, Float) = (0.10, 0.10, 0.12)

    /// Where everything goes on a sheet. Every cell is a white panel holding one image box
    /// (`cellSize` square) — two side by side, thumbnail then stylized, when any entry has a
    /// stylized image — with the name beneath.
    public struct Layout: Sendable {
        public static let margin = 16
        public static let cellGap = 12
        public static let padding = 8
        public static let boxGap = 8
        public static let labelGap = 6
        public static let titleScale = 2
        public static let titleGap = 12

        public let count: Int
        public let columns: Int
        public let rows: Int
        public let cellSize: Int
        /// Boxes per cell: 1 (thumbnails only) or 2 (thumbnail and stylized).
        public let slots: Int
        public let labelScale: Int
        public let cellWidth: Int
        public let cellHeight: Int
        /// Height of the title band above the grid (0 without a title), gap included.
        public let titleHeight: Int
        public let width: Int
        public let height: Int

        public init(count: Int, cellSize: Int, columns: Int, hasStylized: Bool, hasTitle: Bool) {
            precondition(cellSize >= 8, "cellSize must be at least 8, got \(cellSize)")
            precondition(columns >= 1, "columns must be at least 1, got \(columns)")
            self.count = max(0, count)
            self.columns = max(1, min(columns, self.count))
            self.rows = max(1, (self.count + self.columns - 1) / self.columns)
            self.cellSize = cellSize
            self.slots = hasStylized ? 2 : 1
            self.labelScale = cellSize >= 256 ? 2 : 1
            self.cellWidth = 2 * Layout.padding + slots * cellSize + (slots - 1) * Layout.boxGap
            self.cellHeight = 2 * Layout.padding + cellSize + Layout.labelGap + BitmapFont.glyphHeight * labelScale
            self.titleHeight = hasTitle ? BitmapFont.glyphHeight * Layout.titleScale + Layout.titleGap : 0
            self.width = 2 * Layout.margin + self.columns * cellWidth + (self.columns - 1) * Layout.cellGap
            self.height = 2 * Layout.margin + titleHeight + rows * cellHeight + (rows - 1) * Layout.cellGap
        }

        /// Top-left corner of cell `index` (row-major).
        public func cellOrigin(_ index: Int) -> (x: Int, y: Int) {
            (Layout.margin + (index % columns) * (cellWidth + Layout.cellGap),
             Layout.margin + titleHeight + (index / columns) * (cellHeight + Layout.cellGap))
        }

        /// Top-left corner of the `cellSize` square box for `slot` (0 thumbnail, 1 stylized) in cell `index`.
        public func boxOrigin(_ index: Int, slot: Int) -> (x: Int, y: Int) {
            let cell = cellOrigin(index)
            return (cell.x + Layout.padding + slot * (cellSize + Layout.boxGap), cell.y + Layout.padding)
        }

        /// Top-left corner of a fitted image of `width` × `height` centred (offsets rounded down)
        /// in the box for `slot` of cell `index`.
        public func imageOrigin(_ index: Int, slot: Int, width: Int, height: Int) -> (x: Int, y: Int) {
            let box = boxOrigin(index, slot: slot)
            return (box.x + (cellSize - width) / 2, box.y + (cellSize - height) / 2)
        }

        /// Top of the name line in cell `index`.
        public func labelTop(_ index: Int) -> Int {
            cellOrigin(index).y + Layout.padding + cellSize + Layout.labelGap
        }
    }

    /// `image` scaled (aspect kept, up or down) to fit a `side` × `side` box, as drawn in a cell.
    public static func fit(_ image: RGBImage, side: Int) -> RGBImage {
        image.fitted(width: side, height: side)
    }

    /// `text` shortened with a trailing "..." so that it is at most `maxWidth` pixels wide at `scale`.
    public static func truncate(_ text: String, maxWidth: Int, scale: Int = 1) -> String {
        if RGBImage.textWidth(text, scale: scale) <= maxWidth { return text }
        let step = BitmapFont.advance * scale
        let maxChars = max(0, (maxWidth + (BitmapFont.advance - BitmapFont.glyphWidth) * scale) / step)
        if maxChars <= 3 { return String(repeating: ".", count: maxChars) }
        return String(text.prefix(maxChars - 3)) + "..."
    }

    /// A grid of `columns` cells per row on a light background, one per entry, in order. Each
    /// cell shows the thumbnail and (when any entry has one) the stylized image side by side,
    /// each fitted into `cellSize` × `cellSize` (aspect kept) and centred in its box, with the
    /// name centred beneath (shortened with "..." when too long). A missing stylized image
    /// leaves a grey box. `title`, if given, is printed above the grid. Dimensions are those of
    /// `Layout(count:cellSize:columns:hasStylized:hasTitle:)`.
    public static func render(_ entries: [Entry], cellSize: Int = 160, columns: Int = 4,
                              title: String? = nil) -> RGBImage {
        let hasStylized = entries.contains { $0.stylized != nil }
        let layout = Layout(count: entries.count, cellSize: cellSize, columns: columns,
                            hasStylized: hasStylized, hasTitle: title != nil)
        var sheet = RGBImage(width: layout.width, height: layout.height, fill: background)
        if let title {
            let scale = Layout.titleScale
            let text = truncate(title, maxWidth: layout.width - 2 * Layout.margin, scale: scale)
            sheet.drawText(text, x: Layout.margin, y: Layout.margin, scale: scale, color: ink)
        }
        if entries.isEmpty {
            let cell = layout.cellOrigin(0)
            sheet.drawText(truncate("(no styles)", maxWidth: layout.cellWidth), x: cell.x,
                           y: cell.y + Layout.padding, color: ink)
            return sheet
        }
        for (i, entry) in entries.enumerated() {
            let cell = layout.cellOrigin(i)
            sheet.fillRect(x: cell.x, y: cell.y, width: layout.cellWidth, height: layout.cellHeight, color: panel)
            sheet.strokeRect(x: cell.x - 1, y: cell.y - 1, width: layout.cellWidth + 2,
                             height: layout.cellHeight + 2, color: border)
            let images: [RGBImage?] = hasStylized ? [entry.thumbnail, entry.stylized] : [entry.thumbnail]
            for (slot, image) in images.enumerated() {
                if let image {
                    let fitted = fit(image, side: cellSize)
                    let at = layout.imageOrigin(i, slot: slot, width: fitted.width, height: fitted.height)
                    sheet.paste(fitted, x: at.x, y: at.y)
                } else {
                    let box = layout.boxOrigin(i, slot: slot)
                    sheet.fillRect(x: box.x, y: box.y, width: cellSize, height: cellSize, color: placeholder)
                }
            }
            let scale = layout.labelScale
            let room = layout.cellWidth - 2 * Layout.padding
            let name = String(entry.name.map { $0.isNewline ? " " : $0 })
            let label = truncate(name, maxWidth: room, scale: scale)
            let labelX = cell.x + Layout.padding + (room - RGBImage.textWidth(label, scale: scale)) / 2
            sheet.drawText(label, x: labelX, y: layout.labelTop(i), scale: scale, color: ink)
        }
        return sheet
    }

    /// Scale of the labels under strip frames: 2 when every frame is at least 384 px tall, else 1.
    public static func stripLabelScale(_ frames: [RGBImage]) -> Int {
        (frames.map(\.height).min() ?? 0) >= 384 ? 2 : 1
    }

    /// Gap between the frames and their labels in `strip`, at label scale 1.
    public static let stripLabelGap = 4

    /// The frames side by side, `spacing` pixels apart, vertically centred on a light
    /// background: width = Σ frame widths + spacing × (count − 1). With `labels`, each frame's
    /// label (e.g. "0.25") is centred beneath it (shortened to the frame's width), adding
    /// (gap + glyph height + gap) × label scale rows at the bottom; missing labels are blank.
    /// `frames` must not be empty.
    public static func strip(_ frames: [RGBImage], labels: [String]? = nil, spacing: Int = 8) -> RGBImage {
        precondition(!frames.isEmpty, "strip needs at least one frame")
        let row = RGBImage.hstack(frames, spacing: spacing, background: background)
        guard let labels else { return row }
        let scale = stripLabelScale(frames)
        let band = (2 * stripLabelGap + BitmapFont.glyphHeight) * scale
        var out = RGBImage(width: row.width, height: row.height + band, fill: background)
        out.paste(row, x: 0, y: 0)
        var x = 0
        let gap = max(0, spacing)
        for (i, frame) in frames.enumerated() {
            if i < labels.count {
                let text = truncate(labels[i], maxWidth: frame.width, scale: scale)
                let tx = x + (frame.width - RGBImage.textWidth(text, scale: scale)) / 2
                out.drawText(text, x: tx, y: row.height + stripLabelGap * scale, scale: scale, color: ink)
            }
            x += frame.width + gap
        }
        return out
    }
}
