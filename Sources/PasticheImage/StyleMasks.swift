import Foundation

/// Spatial control (one style per region): mask images turned into per-pixel weights of the
/// styles and of the photo's own embedding, at the photo's size. The style parameters of
/// every conditional instance norm are affine in the embedding, so mixing embeddings per pixel
/// is mixing gamma and beta per pixel; the network takes these planes (area-averaged to each
/// layer's size) while its statistics stay image-wide.
public struct StyleMasks: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// One plane per style, then the photo's own plane; width×height each, summing to 1 at every pixel.
    public let planes: [[Float]]

    public var styleCount: Int { planes.count - 1 }

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
        let n = image.width * image.height
        return image.pixels.withUnsafeBufferPointer { p in
            (0..<n).map { i in
                let r = p[i], g = p[n + i], b = p[2 * n + i]
                return min(1, max(0, r == g && g == b ? r : 0.299 * r + 0.587 * g + 0.114 * b))
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
        var values = masks.map { mask -> [Float] in
            let fitted = mask.width == width && mask.height == height ? mask : mask.resized(width: width, height: height, filter: .box)
            var v = Self.luminance(fitted)
            if options.invert { v = v.map { 1 - $0 } }
            if options.feather > 0 { v = Self.gaussianBlur(v, width: width, height: height, sigma: options.feather / 2) }
            return v
        }
        let n = width * height
        var own = [Float](repeating: 1, count: n)
        if values.count == 1 {
            for i in 0..<n {
                values[0][i] *= s
                own[i] = 1 - values[0][i]
            }
        } else {
            var anywhere = false
            for i in 0..<n {
                var sum: Float = 0
                for k in values.indices { sum += values[k][i] }
                if sum > 0 {
                    anywhere = true
                    // v / sum as BlendWeights normalises, so constant masks are the same weights.
                    for k in values.indices { values[k][i] = values[k][i] / sum * s }
                    own[i] = 1 - s
                } else {
                    for k in values.indices { values[k][i] = 0 }
                }
            }
            guard anywhere else {
                throw ImageError(file: "mask", kind: .invalidArgument, reason: "every mask is black: no pixel would get a style")
            }
        }
        self.width = width
        self.height = height
        planes = values + [own]
    }

    /// Each plane area-averaged to w×h (a layer's size): the weights still sum to 1.
    public func averaged(width w: Int, height h: Int) -> [[Float]] {
        if w == width && h == height { return planes }
        return planes.map { plane in
            RGBImage(width: width, height: height, pixels: plane + plane + plane).resized(width: w, height: h, filter: .box)
                .pixels.prefix(w * h).map { $0 }
        }
    }

    /// Separable Gaussian (radius 3σ), edges clamped.
    static func gaussianBlur(_ v: [Float], width: Int, height: Int, sigma: Double) -> [Float] {
        let r = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        var tmp = [Float](repeating: 0, count: v.count), out = tmp
        for y in 0..<height {
            for x in 0..<width {
                var acc: Float = 0
                for k in -r...r { acc += kernel[k + r] * v[y * width + min(width - 1, max(0, x + k))] }
                tmp[y * width + x] = acc
            }
        }
        for y in 0..<height {
            for x in 0..<width {
                var acc: Float = 0
                for k in -r...r { acc += kernel[k + r] * tmp[min(height - 1, max(0, y + k)) * width + x] }
                out[y * width + x] = acc
            }
        }
        return out
    }
}
