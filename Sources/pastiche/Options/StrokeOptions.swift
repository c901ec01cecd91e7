import ArgumentParser
import PasticheModels

/// `--stroke-scale`: the same on every painting command (stylize, blend, interpolate, video).
struct StrokeOptions: ParsableArguments {
    @Option(name: .customLong("stroke-scale"),
            help: ArgumentHelp("""
                Stroke size relative to the photo. The network paints a copy whose long side is \
                \(StrokeScale.workingSide)/SCALE px (the studio's preview size at 1), and the full-size \
                result gets the photo's fine detail back, so every output size has the look of the \
                preview. 2: strokes twice as large; 0.5: half as large (\(StrokeScale.range.lowerBound)–\
                \(StrokeScale.range.upperBound)). native: the network at the photo's own resolution, as \
                before 2026-12 (strokes a fixed number of pixels, so they shrink on big photos). Photos \
                up to \(StrokeScale.workingSide) px look the same either way at 1.
                """, valueName: "SCALE|native"))
    var strokeScale: StrokeScale = .standard
}

extension StrokeScale: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { description }
}
