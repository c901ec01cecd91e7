import Foundation
import PasticheCore
import PasticheImage

/// `--stability`'s third part: the previous output, moved by the frame's whole-frame shift
/// (`GlobalMotion`), carried into the new output where the photo did not change there. Inside a
/// region the scene keeps, the brush texture then stays on the scene instead of being repainted
/// every frame; where the photo changed (something moved, a cut, a zoom) the new output is kept.
///
///   carried(x) = previous output at x + d, where the previous frame at x + d is this frame at x
///   out(x) = new(x) + w·g(x)·(carried(x) − new(x)),  g(x) = max(0, 1 − |Δinput(x)| / tolerance)
///
/// with |Δinput| the largest channel difference between this frame at x and the previous one at
/// x + d. The carried output is itself a blend, so a still point of the scene is an exponential
/// average of its renders, K = w, as the statistics are.
final class TemporalBlend {
    /// The carried share where the photo is unchanged.
    let weight: Float
    /// The input change (in [0, 1]) at which nothing is carried.
    let tolerance: Float
    private var previous: (input: RGBImage, output: RGBImage)?

    init(weight: Float, tolerance: Float = 12 / 255) {
        self.weight = weight; self.tolerance = tolerance
    }

    /// `output` with the previous frame's carried in; `motion` is this frame's shift from the
    /// previous one (this(x) ≈ previous(x + d)), nil when it was not found.
    func apply(_ output: RGBImage, input: RGBImage, motion: (dx: Int, dy: Int)?) -> RGBImage {
        guard let motion, let prev = previous, prev.input.width == input.width, prev.input.height == input.height,
              output.width == input.width, output.height == input.height else {
            previous = (input, output)
            return output
        }
        let w = input.width, h = input.height, plane = w * h
        var blended = output
        let (dx, dy) = motion
        let weight = self.weight, inverseTolerance = 1 / tolerance
        prev.input.pixels.withUnsafeBufferPointer { pin in
            prev.output.pixels.withUnsafeBufferPointer { pout in
                input.pixels.withUnsafeBufferPointer { cin in
                    blended.pixels.withUnsafeMutableBufferPointer { out in
                        let pin = pin.baseAddress!, pout = pout.baseAddress!, cin = cin.baseAddress!, out = out.baseAddress!
                        Parallel.forEachChunk(h) { rows in
                            for y in rows {
                                let sy = y + dy
                                guard sy >= 0 && sy < h else { continue }
                                for x in max(0, -dx)..<min(w, w - dx) {
                                    let i = y * w + x, j = sy * w + x + dx
                                    var change: Float = 0
                                    for c in 0..<3 { change = max(change, abs(cin[c * plane + i] - pin[c * plane + j])) }
                                    let a = weight * max(0, 1 - change * inverseTolerance)
                                    guard a > 0 else { continue }
                                    for c in 0..<3 { out[c * plane + i] += a * (pout[c * plane + j] - out[c * plane + i]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        previous = (input, blended)
        return blended
    }
}
