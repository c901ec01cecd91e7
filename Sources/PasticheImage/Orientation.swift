extension RGBImage {
    /// Applies an EXIF orientation value the way PIL's `ImageOps.exif_transpose` does:
    /// 1 identity, 2 mirror horizontally, 3 rotate 180°, 4 mirror vertically, 5 transpose,
    /// 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise (270° clockwise).
    /// Values outside 1...8 are treated as 1.
    public func applyingOrientation(_ orientation: Int) -> RGBImage {
        guard (2...8).contains(orientation) else { return self }
        let w = width, h = height
        let swaps = orientation >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        // Source index (within a plane) for output (ox, oy).
        let map: (Int, Int) -> Int
        switch orientation {
        case 2: map = { ox, oy in oy * w + (w - 1 - ox) }
        case 3: map = { ox, oy in (h - 1 - oy) * w + (w - 1 - ox) }
        case 4: map = { ox, oy in (h - 1 - oy) * w + ox }
        case 5: map = { ox, oy in ox * w + oy }                       // transpose
        case 6: map = { ox, oy in (h - 1 - ox) * w + oy }             // 90° CW
        case 7: map = { ox, oy in (h - 1 - ox) * w + (w - 1 - oy) }   // transverse
        default: map = { ox, oy in ox * w + (w - 1 - oy) }            // 8: 90° CCW
        }
        let n = w * h
        var out = [Float](repeating: 0, count: 3 * n)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let s = map(ox, oy), d = oy * ow + ox
                        dst[d] = src[s]
                        dst[n + d] = src[n + s]
                        dst[2 * n + d] = src[2 * n + s]
                    }
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
