import PasticheImage
import PasticheModels

/// The whole-frame integer translation between consecutive frames, for keeping a moving scene
/// on the transfer network's stride-4 sampling grid (`SamplingGrid`). Block matching of luma
/// by the sum of absolute differences, coarse to fine: ±`coarseRange` at a quarter of the
/// resolution, then ±2 px around it at full resolution, over the frame's centre (the edges are
/// where content enters and leaves).
struct GlobalMotion {
    static let coarseFactor = 4
    static let coarseRange = 8
    /// The coarse search samples every 2nd pixel of every 2nd row (every 8th at full size): its
    /// 17² shifts were most of the estimate's work, and a box-averaged image needs no more.
    static let coarseStep = 2
    /// Full-resolution matching samples every 3rd pixel of every 3rd row: plenty for a
    /// whole-frame shift, and a ninth of the work.
    static let fineStep = 3

    struct Luma {
        let width: Int, height: Int
        let values: [Float]

        init(_ image: RGBImage) {
            width = image.width
            height = image.height
            let n = width * height
            values = [Float](unsafeUninitializedCapacity: n) { out, count in
                image.pixels.withUnsafeBufferPointer { p in
                    for i in 0..<n { out[i] = 0.299 * p[i] + 0.587 * p[n + i] + 0.114 * p[2 * n + i] }
                }
                count = n
            }
        }

        init(width: Int, height: Int, values: [Float]) {
            self.width = width
            self.height = height
            self.values = values
        }

        /// Box average over f×f blocks.
        func reduced(by f: Int) -> Luma {
            let w = width / f, h = height / f
            var out = [Float](repeating: 0, count: w * h)
            let scale = 1 / Float(f * f)
            values.withUnsafeBufferPointer { v in
                for y in 0..<h {
                    for x in 0..<w {
                        var s: Float = 0
                        for dy in 0..<f { for dx in 0..<f { s += v[(y * f + dy) * width + x * f + dx] } }
                        out[y * w + x] = s * scale
                    }
                }
            }
            return Luma(width: w, height: h, values: out)
        }
    }

    /// A shift must match this much better than no shift to count: local motion (a character
    /// walking across a still shot) must not move the whole frame's grid.
    static let confidence: Float = 0.8

    /// (dx, dy) with next(x, y) ≈ previous(x + dx, y + dy); (0, 0) when no shift explains the
    /// change clearly better than none; nil when the frames are too small to tell.
    static func estimate(previous: Luma, next: Luma) -> (dx: Int, dy: Int)? {
        guard previous.width == next.width, previous.height == next.height else { return nil }
        let a = previous.reduced(by: coarseFactor), b = next.reduced(by: coarseFactor)
        guard let coarse = bestShift(a, b, around: (0, 0), range: coarseRange, step: coarseStep),
              // A coarse step is 4 px, so the true shift is within ±2 of 4× the coarse one.
              let fine = bestShift(previous, next, around: (coarse.dx * coarseFactor, coarse.dy * coarseFactor),
                                   range: coarseFactor / 2, step: fineStep) else { return nil }
        if fine.dx == 0 && fine.dy == 0 { return (0, 0) }
        // The still cost over the same region and sampling as the winner's.
        let still = cost(previous, next, dx: 0, dy: 0, margin: fine.margin, step: fineStep)
        return fine.cost < confidence * still ? (fine.dx, fine.dy) : (0, 0)
    }

    /// The shift within `around` ± `range` with the least mean |next(x) − previous(x + d)| over
    /// the centre, sampling every `step`-th pixel. Ties go to the smaller shift.
    private static func bestShift(_ prev: Luma, _ next: Luma, around c: (Int, Int), range: Int,
                                  step: Int) -> (dx: Int, dy: Int, cost: Float, margin: Int)? {
        let margin = max(abs(c.0), abs(c.1)) + range + 1
        guard prev.width > 2 * margin + 8, prev.height > 2 * margin + 8 else { return nil }
        var best: (cost: Float, dx: Int, dy: Int)?
        for dy in (c.1 - range)...(c.1 + range) {
            for dx in (c.0 - range)...(c.0 + range) {
                let cost = cost(prev, next, dx: dx, dy: dy, margin: margin, step: step)
                let size = abs(dx) + abs(dy)
                if best == nil || cost < best!.cost || (cost == best!.cost && size < abs(best!.dx) + abs(best!.dy)) {
                    best = (cost, dx, dy)
                }
            }
        }
        return best.map { ($0.dx, $0.dy, $0.cost, margin) }
    }

    /// Σ |next(x) − previous(x + d)| over the frame less `margin`, every `step`-th pixel.
    private static func cost(_ prev: Luma, _ next: Luma, dx: Int, dy: Int, margin: Int, step: Int) -> Float {
        prev.values.withUnsafeBufferPointer { p in
            next.values.withUnsafeBufferPointer { q in
                var total: Float = 0
                var y = margin
                while y < prev.height - margin {
                    let rowQ = y * next.width, rowP = (y + dy) * prev.width + dx
                    var x = margin
                    while x < prev.width - margin {
                        total += abs(q[rowQ + x] - p[rowP + x])
                        x += step
                    }
                    y += step
                }
                return total
            }
        }
    }
}

/// Where each frame sits on the network's sampling grid: the running sum of the estimated
/// translations, modulo the size multiple, so a point of the scene keeps its grid phase while
/// the camera pans (TransferNetwork.run's `phase`). With a stroke scale the network samples a
/// smaller copy of the frame, so the phase is that of the offset in the copy's pixels (rounded);
/// the motion stays in the frame's pixels, where the painted frames are blended.
final class SamplingGrid {
    private var previous: GlobalMotion.Luma?
    private var offset = (x: 0, y: 0)
    let multiple: Int
    let strokeScale: StrokeScale

    init(multiple: Int, strokeScale: StrokeScale = .native) {
        self.multiple = multiple
        self.strokeScale = strokeScale
    }

    /// The frame's grid phase, and its shift from the previous frame: (0, 0) when no shift
    /// explains the change clearly better than none, nil for the first frame or frames too small
    /// to match.
    func place(_ frame: RGBImage) -> (phase: (x: Int, y: Int), motion: (dx: Int, dy: Int)?) {
        let luma = GlobalMotion.Luma(frame)
        var motion: (dx: Int, dy: Int)?
        if let previous, let d = GlobalMotion.estimate(previous: previous, next: luma) {
            offset = (offset.x + d.dx, offset.y + d.dy)
            motion = d
        }
        previous = luma
        var (x, y) = offset
        if let size = strokeScale.workingSize(width: frame.width, height: frame.height) {
            x = Int((Double(x) * Double(size.width) / Double(frame.width)).rounded())
            y = Int((Double(y) * Double(size.height) / Double(frame.height)).rounded())
        }
        return ((((x % multiple) + multiple) % multiple, ((y % multiple) + multiple) % multiple), motion)
    }
}
