import Foundation

/// How big the transfer network's strokes are relative to the photo.
///
/// The network is fully convolutional with a receptive field fixed in pixels, so painted at
/// the photo's own resolution its strokes shrink as the photo grows: a 4000-px render is a fine
/// texture over a near-photo where the 512-px preview is a painting. With a stroke scale the
/// network paints a copy of the photo whose long side is the working side (512, the studio's
/// preview size) divided by the scale, and `DetailTransfer` brings the painting back to full
/// size with the photo's fine detail. The look then no longer depends on the output size.
/// Photos at or below the working side are painted as they are (scale 1): the same bits as
/// `.native`.
public enum StrokeScale: Sendable, Equatable, CustomStringConvertible {
    /// The network at the photo's own resolution (strokes a fixed number of pixels).
    case native
    /// Strokes `factor` times the size they have in a `workingSide` render: 2 is twice as
    /// large (the network paints at 256 px), 0.5 half (at 1024 px).
    case relative(Double)

    public static let standard = StrokeScale.relative(1)
    /// The long side the network paints at, at scale 1.
    public static let workingSide = 512
    public static let range: ClosedRange<Double> = 0.25...4
    /// The network needs a few pixels under its padding; no working copy is made smaller.
    public static let minimumSide = 32

    /// "native", or a number in `range`.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "native" { self = .native; return }
        guard let v = Double(t), v.isFinite, Self.range.contains(v) else { return nil }
        self = .relative(v)
    }

    public var description: String {
        switch self {
        case .native: return "native"
        case .relative(let v): return v == v.rounded() ? String(Int(v)) : String(v)
        }
    }

    /// The size the network paints a `width`×`height` photo at, or nil when it paints the photo
    /// itself. The long side is min(photo's long side, `workingSide`) / factor, so small photos
    /// keep their resolution at scale 1, and a factor below 1 paints a larger copy.
    public func workingSize(width: Int, height: Int) -> (width: Int, height: Int)? {
        guard case .relative(let factor) = self, width > 0, height > 0 else { return nil }
        let long = max(width, height), short = min(width, height)
        var k = Double(min(long, Self.workingSide)) / factor / Double(long)
        k = max(k, Double(Self.minimumSide) / Double(short))
        let size = (width: max(1, Int((Double(width) * k).rounded())), height: max(1, Int((Double(height) * k).rounded())))
        if size.width == width && size.height == height { return nil }
        if k > 1 && short < Self.minimumSide { return nil }  // a tiny photo: paint it as it is
        return size
    }
}
