import PasticheCore

/// Content image [N, 3, H, W] in [0, 1] and embedding [N, 100, 1, 1] → stylized image
/// [N, 3, H, W] in [0, 1]. Fully convolutional: any H, W (reflect-padded to a multiple of 4
/// and cropped back, since two stride-2 convs and two ×2 upsamplings must line up).
///
/// This is the fused inference forward: each conv reads its input reflect-padded and upsampled
/// through its column unfolding, and each norm applies its activation and shortcut in one pass.
/// `TransferNetwork.Training` (TransferNetwork+Training.swift) is the same network with explicit
/// ops and a tape; AgreementTests pins the two together.
public struct TransferNetwork {
    public let weights: ModelWeights
    public let options: ExecutionOptions
    public let architecture: TransferArchitecture

    public init(weights: ModelWeights, options: ExecutionOptions = .default) {
        self.weights = weights
        self.options = options
        architecture = weights.transferArchitecture
    }

    /// gamma and beta of every normalised layer for one embedding batch.
    public func styleParameters(_ embedding: Tensor) -> TransferArchitecture.StyleParameters {
        architecture.styleParameters(embedding) { weights[$0] }
    }

    /// `progress`, when given, is called after each layer with the fraction of the network's
    /// multiply-adds done so far (0 < f ≤ 1), on the calling thread.
    public func callAsFunction(_ content: Tensor, embedding: Tensor, progress: ((Double) -> Void)? = nil) -> Tensor {
        precondition(embedding.n == content.n, "one embedding per content image")
        return run(content, style: styleParameters(embedding), progress: progress)
    }

    /// The moments each normalised layer uses, by layer name (`InstanceNorm.MomentsOverride`):
    /// video smooths them across frames. nil: each image's own, as everywhere else.
    public typealias LayerMoments = (_ layer: String, _ mean: [Float], _ variance: [Float]) -> (mean: [Float], variance: [Float])

    /// `phase` (each 0..<sizeMultiple) reflect-pads the top and left by that much, so that the
    /// image sits at that offset on the stride-4 sampling grid: video keeps a moving scene on
    /// the same grid. With a phase the padded size is the same for every phase (one more
    /// multiple), so a clip's frames reuse the same buffers. nil: the network as everywhere else.
    public func run(_ content: Tensor, style: TransferArchitecture.StyleParameters,
                    progress: ((Double) -> Void)? = nil, moments: LayerMoments? = nil,
                    phase: (x: Int, y: Int)? = nil) -> Tensor {
        forward(content, style: style, regionWeights: nil, progress: progress, moments: moments, phase: phase)
    }

    /// A style per region: `style` holds K rows of gamma and beta (`styleParameters` of K
    /// embeddings) and `weights` [K, 1, H, W] at the content's size says how much of each
    /// region's style every pixel takes (summing to 1 per pixel).
    public struct RegionStyles {
        public let style: TransferArchitecture.StyleParameters
        public let weights: Tensor

        public init(style: TransferArchitecture.StyleParameters, weights: Tensor) {
            self.style = style
            self.weights = weights
        }
    }

    /// The network with a style per region (`InstanceNorm.forward(_:gamma:beta:regionWeights:…)`
    /// at every normalised layer). The weight planes are padded as the content is, then
    /// area-averaged to each layer's size; each region is normalised with its own weighted
    /// statistics. `moments` sees region r of layer L as the layer named "L#r".
    public func run(_ content: Tensor, regions: RegionStyles, progress: ((Double) -> Void)? = nil,
                    moments: LayerMoments? = nil, phase: (x: Int, y: Int)? = nil) -> Tensor {
        precondition(content.n == 1 && regions.weights.c == 1 && regions.weights.h == content.h
                     && regions.weights.w == content.w, "region weights must be [K, 1, H, W] at the content's size")
        return forward(content, style: regions.style, regionWeights: regions.weights, progress: progress,
                       moments: moments, phase: phase)
    }

    private func forward(_ content: Tensor, style: TransferArchitecture.StyleParameters, regionWeights: Tensor?,
                         progress: ((Double) -> Void)?, moments: LayerMoments?, phase: (x: Int, y: Int)?) -> Tensor {
        func override(_ name: String) -> InstanceNorm.MomentsOverride? {
            moments.map { hook in { hook(name, $0, $1) } }
        }
        precondition(content.c == 3, "content image must have 3 channels")
        let m = TransferArchitecture.sizeMultiple
        var top = 0, left = 0, padH = (m - content.h % m) % m, padW = (m - content.w % m) % m
        if let phase {
            precondition((0..<m).contains(phase.x) && (0..<m).contains(phase.y), "phase must be in 0..<\(m)")
            let roundUp = { (n: Int) in (n + m - 1) / m * m }
            // Reflection needs fewer pad rows than the image has.
            top = min(phase.y, content.h - 1)
            left = min(phase.x, content.w - 1)
            padH = roundUp(content.h + m - 1) - content.h - top
            padW = roundUp(content.w + m - 1) - content.w - left
        }
        let padding = Padding(top: top, left: left, bottom: padH, right: padW)
        let padded = top + left + padH + padW > 0
        let input = padded ? ReflectPad.forward(content, padding) : content
        // Region weights at each layer's size, by height: full (the expanding convs 2 and 3),
        // half (expanding conv 1) and quarter (the residual blocks).
        var weightsAtHeight: [Int: Tensor] = [:]
        if let regionWeights {
            let full = padded ? ReflectPad.forward(regionWeights, padding) : regionWeights
            let half = AveragePool2x2.forward(full)
            weightsAtHeight = [full.h: full, half.h: half, half.h / 2: AveragePool2x2.forward(half)]
        }
        func normalize(_ x: Tensor, _ l: TransferArchitecture.Layer, residual: Tensor? = nil) {
            if regionWeights != nil {
                let perRegion: InstanceNorm.RegionMomentsOverride? = moments.map { hook in { hook("\(l.name)#\($0)", $1, $2) } }
                InstanceNorm.forward(x, gamma: style.gamma[l.name]!, beta: style.beta[l.name]!,
                                     regionWeights: weightsAtHeight[x.h]!, activation: l.activation, residual: residual,
                                     moments: perRegion)
            } else {
                InstanceNorm.forward(x, gamma: style.gamma[l.name]!, beta: style.beta[l.name]!, activation: l.activation,
                                     residual: residual, moments: override(l.name))
            }
        }
        let report = progress.map { LayerProgress(flops: architecture.layerFlops(h: input.h, w: input.w), report: $0) }

        var x = input
        for l in architecture.contract {
            x = conv(x, l)
            l.activation.forward(x)
            report?.layerDone()
        }
        let residual = architecture.residual
        for r in 0..<TransferArchitecture.residualBlocks {
            let c1 = residual[2 * r], c2 = residual[2 * r + 1]
            let h = conv(x, c1)
            normalize(h, c1)
            report?.layerDone()
            let y = conv(h, c2)
            normalize(y, c2, residual: x)
            report?.layerDone()
            x = y
        }
        for l in architecture.expand {
            x = conv(x, l)
            normalize(x, l)
            report?.layerDone()
        }
        if !padded { return x }
        return crop(x, top: top, left: left, h: content.h, w: content.w)
    }

    /// Reflect pad by k/2 then a valid convolution (Magenta's `conv2d` with MirrorPad), reading
    /// a nearest ×`upsample` of the input where the layer says; the padding and the upsampling
    /// are folded into the conv's column unfolding, not copied.
    private func conv(_ x: Tensor, _ l: TransferArchitecture.Layer) -> Tensor {
        Conv2D.forward(x, weight: weights["\(l.name).weight"], bias: weights["\(l.name).bias"],
                       geometry: l.geometry(padded: true), input: ConvInput(upsample: l.upsample, reflect: true),
                       options: options)
    }

    /// Turns "layer i is done" into the fraction of the work done, weighted by each layer's cost.
    private final class LayerProgress {
        let cumulative: [Double]
        let report: (Double) -> Void
        var done = 0

        init(flops: [Double], report: @escaping (Double) -> Void) {
            let total = flops.reduce(0, +)
            var sum = 0.0
            cumulative = flops.map { sum += $0; return sum / total }
            self.report = report
        }

        func layerDone() {
            report(cumulative[min(done, cumulative.count - 1)])
            done += 1
        }
    }

    private func crop(_ x: Tensor, top: Int, left: Int, h: Int, w: Int) -> Tensor {
        let y = Tensor(x.n, x.c, h, w, zeroed: false)
        for j in 0..<(x.n * x.c) {
            for r in 0..<h {
                (y.pointer + j * h * w + r * w).update(from: x.pointer + j * x.plane + (r + top) * x.w + left, count: w)
            }
        }
        return y
    }

    /// Multiply-adds ×2 for one image of size h×w.
    public func flops(h: Int, w: Int) -> Double { architecture.flops(h: h, w: w) }
}
