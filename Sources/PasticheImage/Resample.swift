import Foundation

/// Resampling filter for `RGBImage.resized(width:height:filter:)`.
public enum ResampleFilter: Sendable {
    /// Default: anti-aliased Lanczos-3 (support scaled by the factor, like PIL's LANCZOS)
    /// when downscaling an axis, bilinear (half-pixel centres, edge clamp) when upscaling.
    case automatic
    /// Area averaging (PIL's BOX) when downscaling, nearest-ish box when upscaling.
    case box
    /// Triangle filter (PIL's BILINEAR; anti-aliased when downscaling).
    case bilinear
    /// Lanczos-3 both ways (PIL's LANCZOS).
    case lanczos3
}

extension RGBImage {
    /// Resized to exactly `width` × `height`. Separable (horizontal pass, then vertical), the
    /// same kernel arithmetic as PIL's `Image.resize`: pixel centres at (i + 0.5) * scale, the
    /// filter support scaled by the factor when downscaling (anti-aliasing), kernel weights
    /// renormalised at the borders. With `.automatic`: Lanczos-3 for a shrinking axis, bilinear
    /// for a growing axis. Results are clamped to [0, 1].
    public func resized(width newWidth: Int, height newHeight: Int, filter: ResampleFilter = .automatic) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resize target must be positive, got \(newWidth)x\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        var current = self
        if newWidth != width {
            let kernel = Resampler.kernel(filter, downscale: newWidth < width)
            let coeffs = Resampler.coefficients(inSize: width, outSize: newWidth, kernel: kernel)
            current = Resampler.horizontal(current, newWidth: newWidth, coeffs: coeffs, clamp: kernel.overshoots)
        }
        if newHeight != height {
            let kernel = Resampler.kernel(filter, downscale: newHeight < height)
            let coeffs = Resampler.coefficients(inSize: height, outSize: newHeight, kernel: kernel)
            current = Resampler.vertical(current, newHeight: newHeight, coeffs: coeffs, clamp: kernel.overshoots)
        }
        return current
    }

    /// Scaled (aspect kept) so that the shorter side is `side`; the longer side is rounded.
    public func resizedShortestSide(to side: Int, filter: ResampleFilter = .automatic) -> RGBImage {
        precondition(side > 0, "side must be positive")
        let (w, h) = width <= height
            ? (side, max(1, Int((Double(height) * Double(side) / Double(width)).rounded())))
            : (max(1, Int((Double(width) * Double(side) / Double(height)).rounded())), side)
        return resized(width: w, height: h, filter: filter)
    }

    /// Scaled down (aspect kept) so that the longer side is at most `maxSide`; unchanged if it
    /// already fits (never upscales).
    public func resizedToFit(maxSide: Int, filter: ResampleFilter = .automatic) -> RGBImage {
        precondition(maxSide > 0, "maxSide must be positive")
        guard max(width, height) > maxSide else { return self }
        let (w, h) = Self.fittedSize(width: width, height: height, maxSide: maxSide)
        return resized(width: w, height: h, filter: filter)
    }

    /// `RGBImage(width:height:interleavedRGB8:).resizedToFit(maxSide:)`, the same bits, without
    /// the full-size float image: the horizontal pass reads the bytes (video frames arrive so,
    /// and at 720p → 360p the float copy and its traffic cost as much as the filter).
    public static func fitted(interleavedRGB8 bytes: [UInt8], width: Int, height: Int, maxSide: Int,
                              filter: ResampleFilter = .automatic) -> RGBImage {
        precondition(bytes.count == 3 * width * height, "expected \(3 * width * height) bytes, got \(bytes.count)")
        let (w, h) = fittedSize(width: width, height: height, maxSide: maxSide)
        guard w != width else {
            return RGBImage(width: width, height: height, interleavedRGB8: bytes).resized(width: w, height: h, filter: filter)
        }
        // Float(v) / 255 for every byte, as the initialiser divides.
        let levels = (0..<256).map { Float($0) / 255 }
        let kernel = Resampler.kernel(filter, downscale: w < width)
        let coeffs = Resampler.coefficients(inSize: width, outSize: w, kernel: kernel)
        let across = bytes.withUnsafeBufferPointer { src in
            levels.withUnsafeBufferPointer { levels in
                Resampler.horizontal(width: width, height: height, newWidth: w, coeffs: coeffs, clamp: kernel.overshoots) { row, lane, block in
                    let c = row / height, s = (row % height) * width * 3 + c
                    for x in 0..<width { block[x][lane] = levels[Int(src[s + 3 * x])] }
                }
            }
        }
        return across.resized(width: w, height: h, filter: filter)
    }

    /// The size `resizedToFit(maxSide:)` gives a width×height image: the long side at most
    /// `maxSide`, the aspect ratio kept (rounded), never below 1 pixel.
    public static func fittedSize(width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
        guard max(width, height) > maxSide else { return (width, height) }
        return width >= height
            ? (maxSide, max(1, Int((Double(height) * Double(maxSide) / Double(width)).rounded())))
            : (max(1, Int((Double(width) * Double(maxSide) / Double(height)).rounded())), maxSide)
    }

    /// The centred `width` × `height` region (offsets rounded down). Sizes larger than the
    /// image are clamped to the image size.
    public func centerCropped(width cw: Int, height ch: Int) -> RGBImage {
        let w = min(cw, width), h = min(ch, height)
        return cropped(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
    }

    /// The region at (x, y) of size `width` × `height`; it must lie inside the image.
    public func cropped(x: Int, y: Int, width cw: Int, height ch: Int) -> RGBImage {
        precondition(cw > 0 && ch > 0 && x >= 0 && y >= 0 && x + cw <= width && y + ch <= height,
                     "crop \(cw)x\(ch)+\(x)+\(y) is outside the \(width)x\(height) image")
        if x == 0 && y == 0 && cw == width && ch == height { return self }
        let n = width * height, m = cw * ch
        var out = [Float](repeating: 0, count: 3 * m)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for row in 0..<ch {
                        let s = c * n + (y + row) * width + x
                        let d = c * m + row * cw
                        for i in 0..<cw { dst[d + i] = src[s + i] }
                    }
                }
            }
        }
        return RGBImage(width: cw, height: ch, pixels: out)
    }
}

enum Resampler {
    struct Kernel {
        let support: Double
        let overshoots: Bool
        let f: (Double) -> Double
    }

    struct Coefficients {
        var start: [Int]     // first input index per output index
        var count: [Int]     // number of taps per output index
        var weights: [Float] // stride `taps` per output index
        var taps: Int
    }

    static let boxKernel = Kernel(support: 0.5, overshoots: false) { x in
        (x > -0.5 && x <= 0.5) ? 1 : 0
    }
    static let triangleKernel = Kernel(support: 1, overshoots: false) { x in
        let a = abs(x)
        return a < 1 ? 1 - a : 0
    }
    static let lanczosKernel = Kernel(support: 3, overshoots: true) { x in
        if x == 0 { return 1 }
        if x <= -3 || x >= 3 { return 0 }
        let px = Double.pi * x
        return 3 * sin(px) * sin(px / 3) / (px * px)
    }

    static func kernel(_ filter: ResampleFilter, downscale: Bool) -> Kernel {
        switch filter {
        case .automatic: return downscale ? lanczosKernel : triangleKernel
        case .box: return boxKernel
        case .bilinear: return triangleKernel
        case .lanczos3: return lanczosKernel
        }
    }

    /// PIL's precompute_coeffs.
    static func coefficients(inSize: Int, outSize: Int, kernel: Kernel) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = kernel.support * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        var start = [Int](repeating: 0, count: outSize)
        var count = [Int](repeating: 0, count: outSize)
        var weights = [Float](repeating: 0, count: outSize * taps)
        var w = [Double](repeating: 0, count: taps)
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            let ss = 1 / filterScale
            var lo = Int((center - support + 0.5).rounded(.down))
            if lo < 0 { lo = 0 }
            var hi = Int((center + support + 0.5).rounded(.down))
            if hi > inSize { hi = inSize }
            hi -= lo
            if hi > taps { hi = taps }
            var total = 0.0
            for j in 0..<hi {
                let v = kernel.f((Double(j + lo) - center + 0.5) * ss)
                w[j] = v
                total += v
            }
            if total == 0 {
                // Degenerate (can only happen with the box kernel on exact boundaries): nearest.
                let nearest = min(inSize - 1, max(0, Int(center)))
                lo = nearest
                hi = 1
                w[0] = 1
                total = 1
            }
            for j in 0..<hi { weights[i * taps + j] = Float(w[j] / total) }
            start[i] = lo
            count[i] = hi
        }
        return Coefficients(start: start, count: count, weights: weights, taps: taps)
    }

    /// Rows go through in blocks of 8, transposed so that the 8 rows' samples at one x sit side
    /// by side: every tap is then one 8-wide multiply and add, in the same order as the scalar
    /// sum (the results are the same bits), instead of 8 separate gathers.
    static func horizontal(_ image: RGBImage, newWidth: Int, coeffs: Coefficients, clamp: Bool) -> RGBImage {
        image.pixels.withUnsafeBufferPointer { src in
            let w = image.width
            return horizontal(width: w, height: image.height, newWidth: newWidth, coeffs: coeffs, clamp: clamp) { row, lane, block in
                let s = row * w
                for x in 0..<w { block[x][lane] = src[s + x] }
            }
        }
    }

    /// The horizontal pass over planar rows (channel-major: row r is channel r / height, line
    /// r % height) that `load(r, lane, block)` writes into `block[x][lane]` for every x.
    static func horizontal(width w: Int, height h: Int, newWidth: Int, coeffs: Coefficients, clamp: Bool,
                           load: (_ row: Int, _ lane: Int, _ block: UnsafeMutablePointer<SIMD8<Float>>) -> Void) -> RGBImage {
        let rows = 3 * h
        var out = [Float](repeating: 0, count: 3 * newWidth * h)
        var block = [SIMD8<Float>](repeating: .zero, count: w)
        out.withUnsafeMutableBufferPointer { dst in
            coeffs.start.withUnsafeBufferPointer { start in
                coeffs.count.withUnsafeBufferPointer { count in
                    coeffs.weights.withUnsafeBufferPointer { weights in
                        block.withUnsafeMutableBufferPointer { block in
                            let block = block.baseAddress!
                            let taps = coeffs.taps
                            let zero = SIMD8<Float>(repeating: 0), one = SIMD8<Float>(repeating: 1)
                            var first = 0
                            while first < rows {
                                let n = min(8, rows - first)
                                for i in 0..<n { load(first + i, i, block) }
                                for x in 0..<newWidth {
                                    let lo = start[x], k = count[x], wb = x * taps
                                    var acc = SIMD8<Float>.zero
                                    for j in 0..<k { acc = acc + block[lo + j] * SIMD8(repeating: weights[wb + j]) }
                                    if clamp {  // min(max(acc, 0), 1), lane by lane, inlined
                                        acc.replace(with: zero, where: acc .< zero)
                                        acc.replace(with: one, where: acc .> one)
                                    }
                                    for i in 0..<n { dst[(first + i) * newWidth + x] = acc[i] }
                                }
                                first += n
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: newWidth, height: h, pixels: out)
    }

    /// Output rows are independent, so bands of them run on all cores (the same arithmetic per
    /// row, so the same bits as one thread).
    static func vertical(_ image: RGBImage, newHeight: Int, coeffs: Coefficients, clamp: Bool) -> RGBImage {
        let w = image.width, h = image.height
        var out = [Float](repeating: 0, count: 3 * w * newHeight)
        let rows = 3 * newHeight
        let bands = w * rows < 1 << 16 ? 1 : min(rows, 4 * ProcessInfo.processInfo.activeProcessorCount)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                coeffs.start.withUnsafeBufferPointer { start in
                    coeffs.count.withUnsafeBufferPointer { count in
                        coeffs.weights.withUnsafeBufferPointer { weights in
                            let (src, dst) = (src.baseAddress!, dst.baseAddress!)
                            let taps = coeffs.taps
                            DispatchQueue.concurrentPerform(iterations: bands) { band in
                                for row in (band * rows / bands)..<((band + 1) * rows / bands) {
                                    let c = row / newHeight, y = row % newHeight
                                    let sp = c * w * h
                                    let lo = start[y], k = count[y], wb = y * taps
                                    let drow = dst + c * w * newHeight + y * w
                                    for x in 0..<w { drow[x] = 0 }
                                    // Row-wise accumulation: contiguous inner loop over x.
                                    for j in 0..<k {
                                        let wt = weights[wb + j]
                                        let srow = src + sp + (lo + j) * w
                                        for x in 0..<w { drow[x] += srow[x] * wt }
                                    }
                                    if clamp {
                                        for x in 0..<w { drow[x] = min(max(drow[x], 0), 1) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: w, height: newHeight, pixels: out)
    }
}
