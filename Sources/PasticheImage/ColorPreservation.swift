extension RGBImage {
    /// Keeps this image's colour and takes the luminance of `stylized` (Gatys et al. 2016,
    /// "Preserving color in neural artistic style transfer": luminance-only transfer), in
    /// full-range BT.601 YCbCr as JPEG uses it.
    public func withLuminance(of stylized: RGBImage) -> RGBImage {
        precondition(width == stylized.width && height == stylized.height, "sizes differ")
        let n = planeSize
        var out = [Float](repeating: 0, count: 3 * n)
        pixels.withUnsafeBufferPointer { p in
            stylized.pixels.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<n {
                        let y = 0.299 * s[i] + 0.587 * s[n + i] + 0.114 * s[2 * n + i]
                        let r = p[i], g = p[n + i], b = p[2 * n + i]
                        let cb = -0.168736 * r - 0.331264 * g + 0.5 * b
                        let cr = 0.5 * r - 0.418688 * g - 0.081312 * b
                        o[i] = min(max(y + 1.402 * cr, 0), 1)
                        o[n + i] = min(max(y - 0.344136 * cb - 0.714136 * cr, 0), 1)
                        o[2 * n + i] = min(max(y + 1.772 * cb, 0), 1)
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
