import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

/// One training batch: content crops and augmented style images, [N, 3, size, size] each
/// (no content when the run has no content set: distillation on embeddings alone).
public struct Batch {
    public let step: Int
    public let content: Tensor?
    public let style: Tensor
    /// Which image of the style set each sample's style is (an N-style run's learned style).
    public let styleIndices: [Int]
}

/// Draws batches deterministically from (seed, step): the sample order is a per-epoch
/// permutation of each image set (seeded by epoch), every augmentation draws from a generator
/// derived from (seed, step, slot). Nothing depends on earlier batches, so the data-order and
/// RNG state of a run is (seed, step) — what a checkpoint stores to resume exactly.
public final class BatchSampler: @unchecked Sendable {
    public let content: ImageSet?
    public let styles: ImageSet
    public let batch: Int
    public let size: Int
    public let seed: UInt64
    public let augmentStyles: Bool
    /// AdaIN's crops (naoto0804/pytorch-AdaIN `train_transform`) for content and style alike:
    /// resize to (2·size)², ignoring the aspect ratio, then a random size² crop.
    public let adainCrops: Bool
    private var perms: [String: [Int]] = [:]

    public init(content: ImageSet?, styles: ImageSet, batch: Int, size: Int, seed: UInt64, augmentStyles: Bool = true,
                adainCrops: Bool = false) {
        self.content = content; self.styles = styles
        self.batch = batch; self.size = size; self.seed = seed; self.augmentStyles = augmentStyles
        self.adainCrops = adainCrops
    }

    /// Shortest side the image sets need to keep (style crops come from up to 1.78 × size,
    /// AdaIN's from 2 × size).
    public static func cacheSide(size: Int, adainCrops: Bool = false) -> Int {
        adainCrops ? 2 * size : size + size * 25 / 32 + 1
    }

    private func index(_ set: ImageSet, stream: UInt64, sample k: Int) -> Int {
        let epoch = k / set.count
        let key = "\(stream)-\(epoch)"
        if perms[key] == nil {
            var g = SplitMix64.derived(seed, stream, UInt64(epoch))
            perms[key] = Array(0..<set.count).shuffled(using: &g)
            if perms.count > 8 { perms = perms.filter { $0.key == key } }
        }
        return perms[key]![k % set.count]
    }

    /// The batch of `step`, or the `slots` of it one rank of a data-parallel run owns: sample k
    /// of the global batch is the same image and the same draws whichever rank makes it.
    public func make(step: Int, slots: Range<Int>? = nil) throws -> Batch {
        let slots = slots ?? 0..<batch
        precondition(slots.lowerBound >= 0 && slots.upperBound <= batch, "slots outside the batch")
        let c = content.map { _ in Tensor(slots.count, 3, size, size, zeroed: false) }
        let s = Tensor(slots.count, 3, size, size, zeroed: false)
        var styleIndices: [Int] = []
        for (b, slot) in slots.enumerated() {
            let k = step * batch + slot
            var g = SplitMix64.derived(seed, 3, UInt64(k))
            if let content, let c {
                let ci = try content.image(index(content, stream: 1, sample: k))
                copy(adainCrops ? Augment.adainCrop(ci, size: size, rng: &g) : Augment.contentCrop(ci, size: size, rng: &g), into: c, index: b)
            }
            styleIndices.append(index(styles, stream: 2, sample: k))
            let si = try styles.image(styleIndices[b])
            let styleCrop = adainCrops ? Augment.adainCrop(si, size: size, rng: &g)
                : augmentStyles ? Augment.style(si, size: size, rng: &g) : Augment.centre(si, size: size)
            copy(styleCrop, into: s, index: b)
        }
        return Batch(step: step, content: c, style: s, styleIndices: styleIndices)
    }

    func copy(_ img: RGBImage, into t: Tensor, index b: Int) {
        precondition(img.width == t.w && img.height == t.h)
        img.pixels.withUnsafeBufferPointer { src in
            t.image(b).update(from: src.baseAddress!, count: 3 * t.plane)
        }
    }
}
