import Foundation

/// Bringing a painting made at a working resolution back to the photo's full size without
/// losing the photo's fine detail (the stroke-scale path: the network paints a smaller copy of
/// the photo, so its strokes keep the size they have in the preview).
///
/// A plain upscale of the painting is blurry: everything finer than the working resolution is
/// gone. The photo still has that band, D = Y − upscale(Y_working) (luminance Y, Rec. 601).
/// It is added back through the local linear model of the guided filter (He, Sun & Tang 2013,
/// and the fast guided filter's low-resolution coefficients, He & Sun 2015): in a window around
/// each working pixel, painting channel c ≈ a_c·Y + b_c, so a_c says how much of the photo's
/// local contrast the painting keeps there, and
///   out_c = upscale(painting_c) + upscale(a_c)·D.
/// Edges the painting follows come back sharp; where the style ignored or flattened the photo
/// (a_c ≈ 0) no photo texture is pasted over the strokes. Unlike the full guided upsampling
/// (out = a·Y + b), the painting's own texture is kept: only the band above the working
/// resolution comes from the photo, so the result shrunk back to the working size is the painting.
public enum DetailTransfer {
    /// Window radius of the local linear model, in working-resolution pixels.
    public static let radius = 4
    /// Regularisation of the slope a (luminance in [0, 1]): flat windows get a ≈ 0.
    public static let epsilon: Float = 1e-4
    /// The slopes are kept in [0, maximumGain]: a negative slope would paste an inverted copy
    /// of the photo's texture, a steep one amplify its noise.
    public static let maximumGain: Float = 2

    /// `painted`: the network's output on `working`; `working`: `photo` resized to the painted
    /// size (the network's input). Returns an image at `photo`'s size.
    public static func upsample(_ painted: RGBImage, working: RGBImage, photo: RGBImage) -> RGBImage {
        precondition(painted.width == working.width && painted.height == working.height,
                     "the painting must be at the working size")
        let (w, h) = (working.width, working.height), (fullW, fullH) = (photo.width, photo.height)
        let gains = slopes(painted, guide: StyleMasks.luminance(working), width: w, height: h)
            .resized(width: fullW, height: fullH, filter: .bilinear)
        var out = painted.resized(width: fullW, height: fullH, filter: .lanczos3)
        let workingUp = working.resized(width: fullW, height: fullH, filter: .lanczos3)
        let n = fullW * fullH
        let rows = max(1, min(fullH, ProcessInfo.processInfo.activeProcessorCount * 4))
        photo.pixels.withUnsafeBufferPointer { full in
            workingUp.pixels.withUnsafeBufferPointer { low in
                gains.pixels.withUnsafeBufferPointer { gain in
                    out.pixels.withUnsafeMutableBufferPointer { dst in
                        let (full, low, gain) = (full.baseAddress!, low.baseAddress!, gain.baseAddress!)
                        let dst = dst.baseAddress!
                        DispatchQueue.concurrentPerform(iterations: rows) { band in
                            let lo = band * fullH / rows * fullW, hi = (band + 1) * fullH / rows * fullW
                            for p in lo..<hi {
                                let detail = 0.299 * (full[p] - low[p]) + 0.587 * (full[n + p] - low[n + p])
                                    + 0.114 * (full[2 * n + p] - low[2 * n + p])
                                for c in 0..<3 {
                                    let i = c * n + p
                                    dst[i] = min(max(dst[i] + gain[i] * detail, 0), 1)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The guided filter's slope per channel at the working size (`radius`, `epsilon`), averaged
    /// over the windows that cover each pixel as the guided filter averages it, clamped to
    /// [0, maximumGain]; as an RGB image of slopes.
    static func slopes(_ painted: RGBImage, guide y: [Float], width w: Int, height h: Int) -> RGBImage {
        let n = w * h
        let meanY = boxMean(y, w, h), meanYY = boxMean(y.map { $0 * $0 }, w, h)
        var result = [Float](repeating: 0, count: 3 * n)
        for c in 0..<3 {
            let channel = Array(painted.pixels[(c * n)..<((c + 1) * n)])
            let meanS = boxMean(channel, w, h)
            let meanSY = boxMean((0..<n).map { channel[$0] * y[$0] }, w, h)
            let slope = (0..<n).map { p in
                (meanSY[p] - meanS[p] * meanY[p]) / (max(0, meanYY[p] - meanY[p] * meanY[p]) + epsilon)
            }
            let smoothed = boxMean(slope, w, h)
            for p in 0..<n { result[c * n + p] = min(max(smoothed[p], 0), maximumGain) }
        }
        return RGBImage(width: w, height: h, pixels: result)
    }

    /// Mean over the (2·radius + 1)² window, clipped at the borders (the mean of the pixels
    /// inside): running sums along rows, then along columns, in Double.
    static func boxMean(_ plane: [Float], _ w: Int, _ h: Int, radius r: Int = radius) -> [Float] {
        var rowsSum = [Double](repeating: 0, count: w * h)
        for y in 0..<h {
            var prefix = [Double](repeating: 0, count: w + 1)
            for x in 0..<w { prefix[x + 1] = prefix[x] + Double(plane[y * w + x]) }
            for x in 0..<w { rowsSum[y * w + x] = prefix[min(w, x + r + 1)] - prefix[max(0, x - r)] }
        }
        var out = [Float](repeating: 0, count: w * h)
        for x in 0..<w {
            var prefix = [Double](repeating: 0, count: h + 1)
            for y in 0..<h { prefix[y + 1] = prefix[y] + rowsSum[y * w + x] }
            let width = Double(min(w, x + r + 1) - max(0, x - r))
            for y in 0..<h {
                let height = Double(min(h, y + r + 1) - max(0, y - r))
                out[y * w + x] = Float((prefix[min(h, y + r + 1)] - prefix[max(0, y - r)]) / (width * height))
            }
        }
        return out
    }
}

extension StyleMasks {
    init(width: Int, height: Int, weights: [Float]) {
        self.width = width
        self.height = height
        self.weights = weights
    }

    /// The weight planes at another size (the stroke-scale path's working size): each plane
    /// resampled with the triangle filter (anti-aliased when shrinking), which never overshoots,
    /// so the weights stay in [0, 1] and sum to 1 at every pixel up to rounding; the sums are
    /// then renormalised so they do exactly as the network expects.
    public func resized(width newWidth: Int, height newHeight: Int) -> StyleMasks {
        if newWidth == width && newHeight == height { return self }
        let n = width * height, m = newWidth * newHeight, count = planeCount
        var planes = [Float](repeating: 0, count: count * m)
        for first in stride(from: 0, to: count, by: 3) {
            var pixels = [Float](repeating: 0, count: 3 * n)
            for k in first..<min(count, first + 3) {
                pixels.replaceSubrange(((k - first) * n)..<((k - first + 1) * n), with: plane(k))
            }
            let small = RGBImage(width: width, height: height, pixels: pixels)
                .resized(width: newWidth, height: newHeight, filter: .bilinear)
            for k in first..<min(count, first + 3) {
                planes.replaceSubrange((k * m)..<((k + 1) * m), with: small.pixels[((k - first) * m)..<((k - first + 1) * m)])
            }
        }
        for p in 0..<m {
            var sum: Float = 0
            for k in 0..<count { sum += planes[k * m + p] }
            if sum > 0 { for k in 0..<count { planes[k * m + p] /= sum } }
        }
        return StyleMasks(width: newWidth, height: newHeight, weights: planes)
    }
}
