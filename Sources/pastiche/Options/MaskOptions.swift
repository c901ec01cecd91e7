import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary

/// Spatial control, the same on `stylize`, `blend` and `video`: `--masks` gives one mask per
/// style (normalised per pixel; where all are black the photo keeps its own embedding),
/// `--mask` one mask for one style (its value is the per-pixel strength). `--invert-mask`
/// and `--feather` shape them (`StyleMasks`).
struct MaskOptions: ParsableArguments {
    @Option(help: "Comma-separated mask images, one per style: each pixel takes the styles in proportion to the masks' values.")
    var masks: String?
    @Option(help: "One mask image for one style: white is the full style, black the photo's own look.")
    var mask: String?
    @Flag(name: .customLong("invert-mask"), help: "Use the inverse of the one mask (style the background instead).")
    var invertMask = false
    @Option(help: "Blur mask edges over about PX pixels (Gaussian, sigma PX/2) so regions blend instead of cutting.")
    var feather: Double = 0

    /// The mask files, in style order; empty without masks.
    var files: [String] {
        if let mask { return [mask] }
        return masks.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
    }

    var isEnabled: Bool { mask != nil || masks != nil }

    /// Rejects bad combinations before any work: `styleCount` is how many styles the command was given.
    func validate(styleCount: Int) throws {
        if mask != nil && masks != nil { throw ValidationError("give --mask (one style) or --masks (one per style), not both") }
        if !feather.isFinite || feather < 0 || feather > 1000 { throw ValidationError("--feather must be from 0 to 1000 pixels, got \(feather)") }
        guard isEnabled else {
            if invertMask { throw ValidationError("--invert-mask needs --mask FILE") }
            if feather > 0 { throw ValidationError("--feather needs --mask or --masks") }
            return
        }
        if let masks {
            do { _ = try StyleArguments.list(masks, flag: "--masks", items: "image files") } catch { throw ValidationError("\(error)") }
        }
        if mask != nil && styleCount != 1 {
            throw ValidationError("--mask takes one style, got \(styleCount); give --masks with one mask per style")
        }
        if files.count != styleCount {
            throw ValidationError("--masks: \(files.count) mask\(files.count == 1 ? "" : "s") for \(styleCount) style\(styleCount == 1 ? "" : "s"); give one per style")
        }
        if invertMask && files.count != 1 { throw ValidationError("--invert-mask takes one mask; with several, paint the inverse") }
    }

    /// The decoded mask images (read once, resized per photo by `weights`), checked at the first
    /// one's size so that masks no photo could use fail before any style is embedded or cached.
    func load() throws -> [RGBImage] {
        let images = try files.map { try ImageIO.read(path: $0) }
        if let first = images.first {
            var quick = options()
            quick.feather = 0
            _ = try StyleMasks(masks: images, width: first.width, height: first.height, options: quick)
        }
        return images
    }

    /// How the masks become weights; `strength` scales the styles' share as --strength does.
    func options(strength: Float = 1) -> StyleMasks.Options {
        var options = StyleMasks.Options()
        options.feather = feather
        options.invert = invertMask
        options.strength = strength
        return options
    }

    /// Per-pixel weights at a photo's size.
    func weights(_ images: [RGBImage], width: Int, height: Int, strength: Float) throws -> StyleMasks {
        try StyleMasks(masks: images, width: width, height: height, options: options(strength: strength))
    }
}
