/// An RGB image with float samples in [0, 1], stored PLANAR (channel-major): all R values,
/// then all G, then all B; row-major within each plane. `pixels.count == 3 * width * height`.
/// The layout matches an NCHW tensor with N = 1, C = 3, so the engine can copy `pixels` directly.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    /// Number of pixels in one plane (`width * height`).
    @inlinable public var planeSize: Int { width * height }

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size, got \(width)x\(height)")
        precondition(pixels.count == 3 * width * height,
                     "RGBImage \(width)x\(height) needs \(3 * width * height) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour (`fill` = (r, g, b)).
    public init(width: Int, height: Int, fill: (Float, Float, Float) = (0, 0, 0)) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size, got \(width)x\(height)")
        let n = width * height
        var pixels = [Float](repeating: fill.0, count: 3 * n)
        for i in n..<(2 * n) { pixels[i] = fill.1 }
        for i in (2 * n)..<(3 * n) { pixels[i] = fill.2 }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one grey level.
    public init(width: Int, height: Int, fill value: Float) {
        self.init(width: width, height: height, fill: (value, value, value))
    }

    /// Index into `pixels` of channel `c` (0 = R, 1 = G, 2 = B) at (x, y).
    @inlinable public func index(x: Int, y: Int, channel c: Int) -> Int {
        c * width * height + y * width + x
    }

    /// Sample of channel `c` at (x, y).
    @inlinable public subscript(x: Int, y: Int, channel: Int) -> Float {
        get { pixels[index(x: x, y: y, channel: channel)] }
        set { pixels[index(x: x, y: y, channel: channel)] = newValue }
    }

    /// The (r, g, b) triple at (x, y).
    public func pixel(x: Int, y: Int) -> (r: Float, g: Float, b: Float) {
        let i = y * width + x, n = planeSize
        return (pixels[i], pixels[n + i], pixels[2 * n + i])
    }

    public mutating func setPixel(x: Int, y: Int, _ rgb: (Float, Float, Float)) {
        let i = y * width + x, n = planeSize
        pixels[i] = rgb.0
        pixels[n + i] = rgb.1
        pixels[2 * n + i] = rgb.2
    }

    /// Interleaved 8-bit RGB (r, g, b, r, g, b, ...): each sample clamped to [0, 1], then
    /// round(x * 255). NaN becomes 0.
    public func interleavedRGB8() -> [UInt8] {
        let n = planeSize
        var out = [UInt8](repeating: 0, count: 3 * n)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                // One pass over the output, pixel by pixel (three strided passes before).
                for i in 0..<n {
                    dst[3 * i] = RGBImage.toByte(src[i])
                    dst[3 * i + 1] = RGBImage.toByte(src[n + i])
                    dst[3 * i + 2] = RGBImage.toByte(src[2 * n + i])
                }
            }
        }
        return out
    }

    /// Builds an image from interleaved 8-bit RGB.
    public init(width: Int, height: Int, interleavedRGB8 bytes: [UInt8]) {
        precondition(bytes.count == 3 * width * height, "expected \(3 * width * height) bytes, got \(bytes.count)")
        let n = width * height
        var pixels = [Float](repeating: 0, count: 3 * n)
        bytes.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    dst[i] = Float(src[3 * i]) / 255
                    dst[n + i] = Float(src[3 * i + 1]) / 255
                    dst[2 * n + i] = Float(src[3 * i + 2]) / 255
                }
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Float → 8 bit: clamp to [0, 1], round(x * 255); NaN → 0.
    @inlinable public static func toByte(_ value: Float) -> UInt8 {
        guard value > 0 else { return 0 }  // also catches NaN
        guard value < 1 else { return 255 }
        // (value · 255).rounded() without its libm call: the Float product plus 0.5 is exact
        // in Double, so truncating rounds half away from zero, the same byte for every value.
        return UInt8(Double(value * 255) + 0.5)
    }
}
