import Foundation

/// Spatial control (one style per region): mask images turned into per-pixel weights of the
/// styles and of the photo's own embedding, at the photo's size. The style parameters of
/// every conditional instance norm are affine in the embedding, so mixing embeddings per pixel
/// is mixing gamma and beta per pixel; the network takes these planes (area-averaged to each
/// layer's size), each region normalised with its own weighted statistics.
public struct StyleMasks: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// One plane per style, then the photo's own plane, width×height each and one after another;
    /// at every pixel the planes sum to 1.
    public let weights: [Float]

    public var planeCount: Int { weights.count / (width * height) }
    public var styleCount: Int { planeCount - 1 }
    /// Plane k (style k; the last is the photo's own).
    public func plane(_ k: Int) -> ArraySlice<Float> { weights[(k * width * height)..<((k + 1) * width * height)] }
    public var planes: [[Float]] { (0..<planeCount).map { Array(plane($0)) } }
    /// Whether any pixel takes some of the photo's own embedding (so it must be computed).
    public var usesOwnEmbedding: Bool { plane(styleCount).contains { $0 != 0 } }

    public struct Options: Sendable {
        /// Gaussian blur of each mask, in pixels of the photo: sigma = feather / 2, so an edge
        /// becomes a ramp about `feather` pixels wide. 0: hard edges.
        public var feather: Double = 0
        /// One mask only: use 1 − mask (style the background instead of the subject).
        public var invert = false
        /// Multiplies the style weights (as --strength does); the rest goes to the photo's own plane.
        public var strength: Float = 1
        public init() {}
    }

    /// Rec. 601 luma of each pixel, clamped to [0, 1]; a grey pixel gives its value exactly (the
    /// weighted sum would round it), so a grey mask of v is the weight v.
    public static func luminance(_ image: RGBImage) -> [Float] {
        var out = [Float](repeating: 0, count: image.width * image.height)
        out.withUnsafeMutableBufferPointer { luminance(image, into: $0.baseAddress!) }
        return out
    }

    static func luminance(_ image: RGBImage, into out: UnsafeMutablePointer<Float>) {
        let n = image.width * image.height
        image.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let r = p[i], g = p[n + i], b = p[2 * n + i]
                out[i] = min(1, max(0, r == g && g == b ? r : 0.299 * r + 0.587 * g + 0.114 * b))
            }
        }
    }

    /// `masks[i]` weights style i. One mask: its value is the style's strength at each pixel
    /// (the rest is the photo's own embedding). Several: they are normalised per pixel to sum
    /// to 1; where all are 0 the photo keeps its own embedding. Masks of any size are resized
    /// to width×height by area averaging (upsampled where smaller).
    public init(masks: [RGBImage], width: Int, height: Int, options: Options = Options()) throws {
        guard !masks.isEmpty else { throw ImageError(file: "mask", kind: .invalidArgument, reason: "no masks given") }
        guard width > 0, height > 0 else { throw ImageError(file: "mask", kind: .invalidArgument, reason: "empty photo") }
        if options.invert && masks.count > 1 {
            throw ImageError(file: "mask", kind: .invalidArgument, reason: "--invert-mask takes one mask; with several, paint the inverse")
        }
        let s = min(1, max(0, options.strength))
        let n = width * height, k = masks.count
        // The style planes, then the own plane (1 until a style takes a share), in one buffer;
        // each mask is written and feathered in place.
        var flat = [Float](repeating: 1, count: (k + 1) * n)
        var scratch = options.feather > 0 ? [Float](repeating: 0, count: n) : []
        flat.withUnsafeMutableBufferPointer { buffer in
            for (j, mask) in masks.enumerated() {
                let fitted = mask.width == width && mask.height == height ? mask : mask.resized(width: width, height: height, filter: .box)
                let plane = buffer.baseAddress! + j * n
                Self.luminance(fitted, into: plane)
                if options.invert { for i in 0..<n { plane[i] = 1 - plane[i] } }
                if options.feather > 0 {
                    scratch.withUnsafeMutableBufferPointer {
                        Self.gaussianBlur(plane, scratch: $0.baseAddress!, width: width, height: height, sigma: options.feather / 2)
                    }
                }
            }
        }
        let anywhere = flat.withUnsafeMutableBufferPointer { buffer -> Bool in
            let w = buffer.baseAddress!, own = w + k * n
            if k == 1 {
                for i in 0..<n {
                    w[i] *= s
                    own[i] = 1 - w[i]
                }
                return true
            }
            var anywhere = false
            for i in 0..<n {
                var sum: Float = 0
                for j in 0..<k { sum += w[j * n + i] }
                if sum > 0 {
                    anywhere = true
                    // v / sum as BlendWeights normalises, so constant masks are the same weights.
                    for j in 0..<k { w[j * n + i] = w[j * n + i] / sum * s }
                    own[i] = 1 - s
                } else {
                    for j in 0..<k { w[j * n + i] = 0 }
                }
            }
            return anywhere
        }
        guard anywhere else {
            throw ImageError(file: "mask", kind: .invalidArgument, reason: "every mask is black: no pixel would get a style")
        }
        self.width = width
        self.height = height
        weights = flat
    }

    /// Separable Gaussian (radius 3σ), edges clamped. Each output sums its taps in order in an
    /// 8-lane register (eight neighbouring pixels at once), horizontally over a row padded by r
    /// clamped values, vertically over the rows r above and below, clamped at the borders.
    /// A pixel whose window (in that pass) holds one value keeps that value: the sum would only
    /// round it (the taps sum to 1 within an ulp), and masks are mostly flat, so most of the work
    /// is skipped. In place: `plane` → `scratch` across the rows, then back down the columns.
    static func gaussianBlur(_ plane: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                             width: Int, height: Int, sigma: Double) {
        let r = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        let taps = kernel.count
        // Rows are independent in each pass: bands of rows on every core.
        let bands = min(height, 4 * ProcessInfo.processInfo.activeProcessorCount)
        func rows(_ band: Int) -> Range<Int> { (band * height / bands)..<((band + 1) * height / bands) }
        /// d[x] = Σ_k kernel[k] · lines[k][x] for x < width, taps in order, or centre[x] where
        /// `flat(x, n)` says the windows of pixels x..<x+n hold one value.
        func filterRow(_ d: UnsafeMutablePointer<Float>, _ lines: UnsafeMutablePointer<UnsafePointer<Float>>,
                       _ weights: UnsafePointer<Float>, centre: UnsafePointer<Float>, flat: (Int, Int) -> Bool) {
            var x = 0
            while x + 8 <= width {
                if flat(x, 8) {
                    (d + x).update(from: centre + x, count: 8)
                } else {
                    var acc = SIMD8<Float>()
                    for k in 0..<taps {
                        acc += weights[k] * UnsafeRawPointer(lines[k] + x).loadUnaligned(as: SIMD8<Float>.self)
                    }
                    for lane in 0..<8 where flat(x + lane, 1) { acc[lane] = centre[x + lane] }
                    UnsafeMutableRawPointer(d + x).storeBytes(of: acc, as: SIMD8<Float>.self)
                }
                x += 8
            }
            for x in x..<width {
                if flat(x, 1) { d[x] = centre[x]; continue }
                var acc: Float = 0
                for k in 0..<taps { acc += weights[k] * lines[k][x] }
                d[x] = acc
            }
        }
        kernel.withUnsafeBufferPointer { kernelBuffer in
            let weights = kernelBuffer.baseAddress!
            DispatchQueue.concurrentPerform(iterations: bands) { band in
                let padded = width + 2 * r
                let row = UnsafeMutablePointer<Float>.allocate(capacity: padded)
                // changesBefore[j]: how many neighbours i, i+1 with i < j differ in the padded row.
                let changesBefore = UnsafeMutablePointer<Int32>.allocate(capacity: padded)
                let lines = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: taps)
                defer { row.deallocate(); changesBefore.deallocate(); lines.deallocate() }
                for k in 0..<taps { lines[k] = UnsafePointer(row + k) }
                for y in rows(band) {
                    let line = plane + y * width
                    for i in 0..<padded { row[i] = line[min(width - 1, max(0, i - r))] }
                    changesBefore[0] = 0
                    for j in 1..<padded { changesBefore[j] = changesBefore[j - 1] + (row[j - 1] != row[j] ? 1 : 0) }
                    // Pixel x's window is padded[x ... x + 2r].
                    filterRow(scratch + y * width, lines, weights, centre: UnsafePointer(row + r)) { x, n in
                        changesBefore[x + n - 1 + 2 * r] == changesBefore[x]
                    }
                }
            }
            // Down the columns a row at a time, tap after tap (two streams for the prefetcher
            // instead of one per tap); the same sums in the same order as filterRow. changes[x]
            // counts the neighbouring rows that differ at column x within row y's window.
            DispatchQueue.concurrentPerform(iterations: bands) { band in
                let changes = UnsafeMutablePointer<Int32>.allocate(capacity: width)
                defer { changes.deallocate() }
                var changed = 0
                func line(_ i: Int) -> UnsafePointer<Float> { UnsafePointer(scratch + min(height - 1, max(0, i)) * width) }
                /// Adds `sign` where rows i and i + 1 (clamped) differ.
                func count(_ i: Int, _ sign: Int32) {
                    guard i >= 0 && i + 1 < height else { return }
                    let a = line(i), b = line(i + 1)
                    for x in 0..<width where a[x] != b[x] { changes[x] += sign; changed += Int(sign) }
                }
                let band = rows(band)
                guard let first = band.first else { return }
                changes.update(repeating: 0, count: width)
                for i in (first - r)..<(first + r) { count(i, 1) }
                for y in band {
                    if y > first { count(y + r - 1, 1); count(y - r - 1, -1) }
                    let d = plane + y * width, centre = line(y)
                    if changed == 0 { d.update(from: centre, count: width); continue }
                    d.update(repeating: 0, count: width)
                    for k in 0..<taps {
                        let source = line(y + k - r), w = weights[k]
                        var x = 0
                        while x + 8 <= width {
                            let sum = UnsafeRawPointer(d + x).loadUnaligned(as: SIMD8<Float>.self)
                                + w * UnsafeRawPointer(source + x).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(d + x).storeBytes(of: sum, as: SIMD8<Float>.self)
                            x += 8
                        }
                        for x in x..<width { d[x] += w * source[x] }
                    }
                    for x in 0..<width where changes[x] == 0 { d[x] = centre[x] }
                }
            }
        }
    }
}
