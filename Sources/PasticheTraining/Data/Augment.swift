import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

/// Crops and Magenta-style augmentation.
public enum Augment {
    /// Shortest side → `size`, centre crop (evaluation, both content and style).
    public static func centre(_ img: RGBImage, size: Int) -> RGBImage {
        img.resizedShortestSide(to: size).centerCropped(width: size, height: size)
    }

    static func randomCrop(_ img: RGBImage, size: Int, rng: inout SplitMix64) -> RGBImage {
        let x = img.width > size ? Int(rng.next() % UInt64(img.width - size + 1)) : 0
        let y = img.height > size ? Int(rng.next() % UInt64(img.height - size + 1)) : 0
        return img.cropped(x: x, y: y, width: size, height: size)
    }

    /// AdaIN's training crop (naoto0804/pytorch-AdaIN: `Resize((512, 512))`, `RandomCrop(256)`):
    /// the whole image squeezed or stretched to (2·size)², then a random size² crop.
    public static func adainCrop(_ img: RGBImage, size: Int, rng: inout SplitMix64) -> RGBImage {
        randomCrop(img.resized(width: 2 * size, height: 2 * size, filter: .bilinear), size: size, rng: &rng)
    }

    /// Content: shortest side to a random length in [size, 1.25·size], random size² crop,
    /// random left-right flip.
    public static func contentCrop(_ img: RGBImage, size: Int, rng: inout SplitMix64) -> RGBImage {
        let side = size + Int(rng.next() % UInt64(size / 4 + 1))
        var out = randomCrop(img.resizedShortestSide(to: side, filter: .bilinear), size: size, rng: &rng)
        if rng.next() & 1 == 1 { out = flipped(out, horizontal: true) }
        return out
    }

    /// Magenta's style augmentation (image_utils.arbitrary_style_image_inputs with
    /// augment_style_images): random left-right and up-down flips, brightness, saturation and
    /// hue jitter, then aspect-preserving resize of the shortest side to a random length in
    /// [size + 2, 1.78·size] (Magenta: [258, 456] at 256) and a random size² crop.
    public static func style(_ img: RGBImage, size: Int, rng: inout SplitMix64) -> RGBImage {
        var out = img
        if rng.next() & 1 == 1 { out = flipped(out, horizontal: true) }
        if rng.next() & 1 == 1 { out = flipped(out, horizontal: false) }
        let brightness = rng.uniform(-0.2, 0.2)
        let saturation = rng.uniform(0.5, 1.5)
        let hue = rng.uniform(-0.1, 0.1)   // turns
        let lo = size + 2, hi = max(lo, size * 57 / 32)
        let side = lo + Int(rng.next() % UInt64(hi - lo + 1))
        // Bilinear, as Magenta's tf.image.resize_images (and a third of Lanczos-3's taps: the
        // prefetch thread shares the cores with the training step).
        out = randomCrop(out.resizedShortestSide(to: side, filter: .bilinear), size: size, rng: &rng)
        return jitter(out, brightness: brightness, saturation: saturation, hue: hue)
    }

    static func flipped(_ img: RGBImage, horizontal: Bool) -> RGBImage {
        var p = img.pixels
        let w = img.width, h = img.height
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    let (sx, sy) = horizontal ? (w - 1 - x, y) : (x, h - 1 - y)
                    p[c * w * h + y * w + x] = img.pixels[c * w * h + sy * w + sx]
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: p)
    }

    /// Brightness shift, saturation scale and hue rotation in YIQ (TF's adjust_hue rotates the
    /// hue angle; YIQ rotation is the same idea without an HSV round trip), clamped to [0, 1].
    static func jitter(_ img: RGBImage, brightness: Float, saturation: Float, hue: Float) -> RGBImage {
        let n = img.planeSize
        var p = img.pixels
        let a = 2 * Float.pi * hue
        let ca = cos(a), sa = sin(a)
        for i in 0..<n {
            let r = p[i], g = p[n + i], b = p[2 * n + i]
            let y = 0.299 * r + 0.587 * g + 0.114 * b
            var iq = 0.596 * r - 0.274 * g - 0.322 * b
            var q = 0.211 * r - 0.523 * g + 0.312 * b
            (iq, q) = ((iq * ca - q * sa) * saturation, (iq * sa + q * ca) * saturation)
            let yb = y + brightness
            p[i] = min(max(yb + 0.956 * iq + 0.621 * q, 0), 1)
            p[n + i] = min(max(yb - 0.272 * iq - 0.647 * q, 0), 1)
            p[2 * n + i] = min(max(yb - 1.106 * iq + 1.703 * q, 0), 1)
        }
        return RGBImage(width: img.width, height: img.height, pixels: p)
    }
}
