import CPasticheKernels
import Foundation

/// One inverted-residual block of MobileNetV2 (Sandler et al. 2018, §3.3):
/// x [Cin, H, W] → expand 1×1 + ReLU6 [C6] → 3×3 depthwise (stride s) + ReLU6 → project 1×1
/// [Cout, OH, OW] (+ x when the block keeps its shape).
///
/// On large planes the three layers run together over bands of output rows, each core taking
/// bands from one end of its pair's rows: the band's hidden activation (six times the block's
/// input, 6 MB at 128²) stays in the core's L2 instead of going to memory and back twice, which
/// is what bounded the layer-by-layer predictor on its 128² and 64² blocks. Small planes (16²,
/// 8²), where everything fits in cache anyway and a split by rows would leave each core a few
/// rows plus their halo, split the hidden channels between the cores instead.
public enum InvertedResidual {
    public struct Weights {
        /// nil for blocks with expansion 1 (the first block).
        public let expand: (weight: Tensor, bias: Tensor)?
        public let depthwise: (weight: Tensor, bias: Tensor)
        public let project: (weight: Tensor, bias: Tensor)
        /// The 1×1 weights in the GEMM kernel's order, made on first use (keep one `Weights`
        /// per block: the predictor builds them once).
        let packed = Packed()
        public init(expand: (weight: Tensor, bias: Tensor)?, depthwise: (weight: Tensor, bias: Tensor),
                    project: (weight: Tensor, bias: Tensor)) {
            self.expand = expand; self.depthwise = depthwise; self.project = project
        }
    }

    /// Expand and project weights packed for one core's GEMMs (`PackedMatrix`).
    struct PackedPair {
        let expand: PackedMatrix?, project: PackedMatrix
    }

    /// Packed copies for the two ways a block runs: whole matrices (bands of rows), or each
    /// core's share of the hidden channels: the rows of expand and the columns of project.
    final class Packed: @unchecked Sendable {
        private var whole: PackedPair?
        private var shares: [PackedPair] = []
        private let lock = NSLock()

        func whole(_ w: Weights) -> PackedPair {
            lock.lock()
            defer { lock.unlock() }
            if let p = whole { return p }
            let hidden = w.depthwise.weight.shape[0]
            let p = pair(w, hidden: 0..<hidden)
            whole = p
            return p
        }

        /// One pair per share; `shares` splits 0..<hidden into consecutive ranges.
        func shares(_ w: Weights, _ ranges: [Range<Int>]) -> [PackedPair] {
            lock.lock()
            defer { lock.unlock() }
            if shares.count != ranges.count || zip(shares, ranges).contains(where: { $0.project.k != $1.count }) {
                shares = ranges.map { pair(w, hidden: $0) }
            }
            return shares
        }

        private func pair(_ w: Weights, hidden: Range<Int>) -> PackedPair {
            let total = w.depthwise.weight.shape[0], cout = w.project.weight.shape[0]
            let expand = w.expand.map { e in
                let cin = e.weight.count / total
                return PackedMatrix(e.weight, lda: cin, rows: hidden, columns: 0..<cin)
            }
            return PackedPair(expand: expand,
                              project: PackedMatrix(w.project.weight, lda: total, rows: 0..<cout, columns: hidden))
        }
    }

    /// Floats of hidden activation per band and core (192 KB: room beside it in a 512 KB L2),
    /// unless that leaves fewer than three output rows.
    static let bandFloats = 48 * 1024

    /// A 3×3 stride-2 convolution + ReLU6 whose output is a block's input (the predictor's first
    /// layer before its first block): computed band by band into the block's hidden buffer, so
    /// its 128² × 32 output (2 MB) is never written out and read back.
    public struct Stem {
        public let weight: Tensor, bias: Tensor, geometry: ConvGeometry
        public init(weight: Tensor, bias: Tensor, geometry: ConvGeometry) {
            precondition(geometry.kernelH == 3 && geometry.kernelW == 3 && geometry.stride == 2 && geometry.groups == 1,
                         "stem: a 3×3 stride-2 convolution")
            self.weight = weight; self.bias = bias; self.geometry = geometry
        }
    }

    /// `padding`: the depthwise conv's zero padding (TF "SAME": `Padding.tfSame`); `shortcut`
    /// adds x to the output (stride 1 and Cin == Cout). With `stem`, the block's input is
    /// relu6(stem(x)) (a block without expand layer, no shortcut). `options`: planes below
    /// `minimumBandedPlane` split channels, not rows; `bandRows` fixes the band height.
    public static func forward(_ x: Tensor, weights w: Weights, stride: Int, padding: Padding, shortcut: Bool,
                               stem: Stem? = nil, workspace: Workspace = .shared,
                               options: ExecutionOptions = .default) -> Tensor {
        let hidden = w.depthwise.weight.shape[0], cout = w.project.weight.shape[0]
        let inSize = stem.map { $0.geometry.outputSize(h: x.h, w: x.w) } ?? (h: x.h, w: x.w)
        let cin = stem?.geometry.outChannels ?? x.c
        let g = ConvGeometry(inChannels: hidden, outChannels: hidden, kernel: 3, stride: stride, padding: padding,
                             groups: hidden)
        let o = g.outputSize(h: inSize.h, w: inSize.w)
        precondition(w.expand == nil ? hidden == cin : w.expand!.weight.count == hidden * cin, "expand shape")
        precondition(w.project.weight.count == cout * hidden, "project shape")
        precondition(!shortcut || (o.h == inSize.h && o.w == inSize.w && cout == cin), "shortcut needs equal shapes")
        precondition(stem.map { $0.geometry.inChannels == x.c && w.expand == nil && !shortcut } ?? true,
                     "stem: x's channels, a block without expand and shortcut")
        if let stem, inSize.h * inSize.w < options.minimumBandedPlane {
            let input = Conv2D.forward(x, weight: stem.weight, bias: stem.bias, geometry: stem.geometry,
                                       activation: .relu6, workspace: workspace, options: options)
            return forward(input, weights: w, stride: stride, padding: padding, shortcut: false, workspace: workspace,
                           options: options)
        }
        let y = Tensor(x.n, cout, o.h, o.w, zeroed: false)
        guard inSize.h * inSize.w >= options.minimumBandedPlane else {
            channelSplit(x, weights: w, geometry: g, shortcut: shortcut, into: y, workspace: workspace,
                         channelsKernel: options.depthwiseChannelsKernel)
            return y
        }
        let workers = min(Parallel.cores, o.h)
        let stemRows = stem.map { $0.geometry.inChannels * 9 } ?? 0
        // At least three output rows: one-row bands (block 1 at 128² → 64², 96 hidden channels)
        // made the projection a 64-column product per band, far below the kernel's peak, and
        // seven expanded rows of that block still fit a 512 KB L2.
        let rowFloats = max(1, (hidden + stemRows) * inSize.w)
        let bandRows = max(1, options.bandRows.map { min($0, o.h) } ?? max(3, (bandFloats / rowFloats - 3) / stride + 1))
        let hiddenRows = (bandRows - 1) * stride + 3
        let hiddenCount = w.expand == nil && stem == nil ? 0 : hidden * hiddenRows * inSize.w
        let columnsCount = stemRows * hiddenRows * inSize.w
        let depthwiseCount = hidden * bandRows * o.w
        let packCount = pk_gemm_scratch(Int32(max(cin, hidden, stemRows)))
        let padCount = depthwiseScratch(outRows: bandRows, outWidth: o.w, stride: stride)
        let perWorker = hiddenCount + columnsCount + depthwiseCount + packCount + padCount
        let scratch = (0..<workers).map { workspace.floats(perWorker, slot: $0) }
        let packed = w.packed.whole(w)
        let stemBands = stem.map { ($0, Im2Col.ColumnMap(geometry: $0.geometry, inputWidth: x.w, input: .plain,
                                                         outputWidth: inSize.w)) }
        // Cores in pairs walk a segment of bands from its two ends, each taking the next band
        // from its own end until they meet: the two cores of this machine often run at
        // different speeds for seconds at a time (the host's other load), and a fixed half each
        // left the faster one waiting up to a tenth of the block. Each core still reuses the
        // rows its previous band expanded, and a band's values do not depend on which core or
        // which neighbour came before it (every output is one sum in a fixed order).
        let bands = (o.h + bandRows - 1) / bandRows
        let segments = (workers + 1) / 2
        let perSegment = (bands + segments - 1) / segments
        for i in 0..<x.n {
            var taken = [Int](repeating: 0, count: segments)
            taken.withUnsafeMutableBufferPointer { taken in
                Parallel.forEach(workers, cost: Int.max / 4) { t in
                    let segment = t / 2, fromEnd = t % 2 == 1
                    let first = segment * perSegment, count = min(bands, first + perSegment) - first
                    guard count > 0 else { return }
                    var band = Band(x: x, image: i, inSize: inSize, weights: w, packed: packed,
                                    stem: stemBands, geometry: g, y: y, bandRows: bandRows,
                                    hiddenRows: hiddenRows, scratch: scratch[t], hiddenCount: hiddenCount,
                                    columnsCount: columnsCount, depthwiseCount: depthwiseCount, packCount: packCount,
                                    shortcut: shortcut, channelsKernel: options.depthwiseChannelsKernel)
                    var mine = 0
                    while pk_next_item(taken.baseAddress! + segment) < count {
                        let k = first + (fromEnd ? count - 1 - mine : mine)
                        mine += 1
                        band.run(k * bandRows..<min(o.h, (k + 1) * bandRows))
                    }
                }
            }
        }
        return y
    }

    /// One core's walk over its bands. The input rows a band shares with the one before it (two
    /// at stride 1, one at stride 2), expanded or convolved by the stem, are moved into place in
    /// the buffer, not computed again.
    struct Band {
        let x: Tensor, image: Int, inSize: (h: Int, w: Int)
        let weights: Weights, packed: PackedPair, stem: (Stem, Im2Col.ColumnMap)?
        let geometry: ConvGeometry, y: Tensor
        let bandRows: Int, hiddenRows: Int
        let hiddenBuffer: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>
        let depthwiseBuffer: UnsafeMutablePointer<Float>
        let pack: UnsafeMutablePointer<Float>, pad: UnsafeMutablePointer<Float>
        let shortcut: Bool, channelsKernel: Bool
        /// Input rows [held.lowerBound, held.upperBound) are in the hidden buffer.
        var held = 0..<0

        init(x: Tensor, image: Int, inSize: (h: Int, w: Int), weights: Weights, packed: PackedPair,
             stem: (Stem, Im2Col.ColumnMap)?, geometry: ConvGeometry, y: Tensor, bandRows: Int, hiddenRows: Int,
             scratch: UnsafeMutablePointer<Float>, hiddenCount: Int, columnsCount: Int, depthwiseCount: Int,
             packCount: Int, shortcut: Bool, channelsKernel: Bool) {
            self.x = x; self.image = image; self.inSize = inSize
            self.weights = weights; self.packed = packed; self.stem = stem; self.geometry = geometry; self.y = y
            self.bandRows = bandRows; self.hiddenRows = hiddenRows; self.shortcut = shortcut
            self.channelsKernel = channelsKernel
            hiddenBuffer = scratch
            columns = scratch + hiddenCount
            depthwiseBuffer = columns + columnsCount
            pack = depthwiseBuffer + depthwiseCount
            pad = pack + packCount
        }

        mutating func run(_ out: Range<Int>) {
            let s = geometry.stride, pt = geometry.padding.top
            let w = inSize.w, plane = inSize.h * inSize.w, hidden = geometry.inChannels
            let ow = y.w, oplane = y.plane
            let xi = UnsafePointer(x.image(image))
            // Input rows the band's depthwise outputs read, clipped to the image.
            let first = out.lowerBound * s - pt
            let need = max(0, first)..<min(inSize.h, (out.upperBound - 1) * s - pt + 3)
            let input: UnsafePointer<Float>, channelStride: Int
            if weights.expand != nil || stem != nil {
                // Rows the previous band computed move to their place in this band's buffer
                // (up on the walk down, down on the walk up: `update(from:)` is a memmove).
                let kept = need.clamped(to: held)
                if !kept.isEmpty && kept.lowerBound - held.lowerBound != kept.lowerBound - need.lowerBound {
                    let from = (kept.lowerBound - held.lowerBound) * w, to = (kept.lowerBound - need.lowerBound) * w
                    for c in 0..<hidden {
                        let row0 = hiddenBuffer + c * hiddenRows * w
                        (row0 + to).update(from: row0 + from, count: kept.count * w)
                    }
                }
                // The rows not kept: before them on the walk up, after them on the walk down.
                let (before, after) = kept.isEmpty ? (need, need.upperBound..<need.upperBound)
                    : (need.lowerBound..<kept.lowerBound, kept.upperBound..<need.upperBound)
                compute(before, need: need, xi)
                compute(after, need: need, xi)
                held = need
                input = UnsafePointer(hiddenBuffer)
                channelStride = hiddenRows * w
            } else {
                input = xi + need.lowerBound * w
                channelStride = plane
            }
            let ldb = InvertedResidual.depthwise(input, channelStride: channelStride, rows: need.count,
                                                 padTop: need.lowerBound - first, channels: 0..<hidden,
                                                 weights: weights.depthwise, geometry: geometry, width: w,
                                                 outRows: out.count, outWidth: ow, into: depthwiseBuffer, pad: pad,
                                                 channelsKernel: channelsKernel)
            // y[:, out] = W_p [Cout × C6] · depthwise [C6 × band] + b_p (+ x[:, out])
            pk_gemm(packed.project.pointer, 0, Int32(y.c), Int32(hidden), depthwiseBuffer, ldb,
                    y.image(image) + out.lowerBound * ow, oplane, Int32(out.count * ow),
                    weights.project.bias.pointer, -.infinity, .infinity, shortcut ? xi + out.lowerBound * ow : nil,
                    oplane, pack)
        }

        /// Input rows `rows` of the depthwise into the hidden buffer (whose first row is
        /// `need.lowerBound`): hidden = relu6(W_e [C6 × Cin] · x[:, rows] + b_e), or with a stem
        /// relu6(W_s [C × 9·Cx] · unfolded image [9·Cx × rows] + b_s), the sums of Conv2D's
        /// im2col path in the same order.
        private func compute(_ rows: Range<Int>, need: Range<Int>, _ xi: UnsafePointer<Float>) {
            guard !rows.isEmpty else { return }
            let w = inSize.w, hidden = geometry.inChannels
            let into = hiddenBuffer + (rows.lowerBound - need.lowerBound) * w, n = Int32(rows.count * w)
            if let (stem, map) = stem {
                let k = stem.geometry.inChannels * 9
                Im2Col.band(xi, channels: x.c, h: x.h, w: x.w, map: map, geometry: stem.geometry, input: .plain,
                            rows: rows, into: columns)
                pk_gemm(stem.weight.pointer, k, Int32(hidden), Int32(k), columns, rows.count * w, into,
                        hiddenRows * w, n, stem.bias.pointer, 0, 6, nil, 0, pack)
            } else if let expand = weights.expand, let packedExpand = packed.expand {
                pk_gemm(packedExpand.pointer, 0, Int32(hidden), Int32(x.c), xi + rows.lowerBound * w,
                        inSize.h * w, into, hiddenRows * w, n, expand.bias.pointer, 0, 6, nil, 0, pack)
            }
        }
    }

    /// 3×3 depthwise + ReLU6 of `channels` (their input planes `channelStride` apart from
    /// `input`, `rows` rows of them, the first `padTop` rows below the conv's first input row)
    /// into `out`: straight into the projection's B panels where the kernel can (no packing
    /// pass before the product), as `outRows` × `outWidth` planes otherwise. Returns the
    /// projection's `ldb`: 0 for panels, the plane size for rows.
    static func depthwise(_ input: UnsafePointer<Float>, channelStride: Int, rows: Int, padTop: Int,
                          channels: Range<Int>, weights dw: (weight: Tensor, bias: Tensor), geometry g: ConvGeometry,
                          width: Int, outRows: Int, outWidth: Int, into out: UnsafeMutablePointer<Float>,
                          pad: UnsafeMutablePointer<Float>, channelsKernel: Bool) -> Int {
        let s = Int32(g.stride), pt = Int32(padTop), pl = Int32(g.padding.left)
        let panels = pk_depthwise3x3_writes_panels(Int32(width), s, pl, Int32(outRows), Int32(outWidth)) != 0
        let outPlane = outRows * outWidth, c0 = channels.lowerBound
        if channelsKernel,
           pk_depthwise3x3_channels_supported(Int32(width), s, pl, Int32(outRows), Int32(outWidth), panels ? 1 : 0) != 0 {
            pk_depthwise3x3_channels(input, channelStride, Int32(channels.count), Int32(rows), Int32(width),
                                     dw.weight.pointer + 9 * c0, dw.bias.pointer + c0, s, pt, pl, out, outPlane,
                                     panels ? 16 * channels.count : 0, Int32(outRows), Int32(outWidth), 0, 6, pad)
            return panels ? 0 : outPlane
        }
        for c in channels {
            let channel = input + (c - c0) * channelStride, k = dw.weight.pointer + 9 * c, bias = dw.bias.data[c]
            if panels {
                pk_depthwise3x3_to_panels(channel, Int32(rows), Int32(width), k, bias, s, pt, pl, out + 16 * (c - c0),
                                          16 * channels.count, Int32(outRows), Int32(outWidth), 0, 6)
            } else {
                pk_depthwise3x3(channel, Int32(rows), Int32(width), k, bias, s, pt, pl, out + (c - c0) * outPlane,
                                Int32(outRows), Int32(outWidth), 0, 6, pad)
            }
        }
        return panels ? 0 : outPlane
    }

    /// Floats of `pad` for `depthwise`: the padded plane of either path.
    static func depthwiseScratch(outRows: Int, outWidth: Int, stride: Int) -> Int {
        max(pk_depthwise3x3_scratch(Int32(outRows), Int32(outWidth), Int32(stride)),
            pk_depthwise3x3_channels_scratch(Int32(outRows), Int32(outWidth), Int32(stride)))
    }

    /// Small planes: each core expands, convolves and projects its own share of the hidden
    /// channels (they never leave its cache): core t computes W_p[:, share_t] · hidden[share_t],
    /// core 0 straight into y with the bias and shortcut, the others into scratch that is added
    /// to y after the join. One fork-join per block instead of three, and no core reads another's
    /// hidden activations.
    static func channelSplit(_ x: Tensor, weights w: Weights, geometry g: ConvGeometry, shortcut: Bool, into y: Tensor,
                             workspace: Workspace, channelsKernel: Bool) {
        let cin = x.c, hidden = g.inChannels, cout = y.c, plane = x.plane, oplane = y.plane
        let workers = max(1, min(Parallel.cores, hidden / 8))
        let share = (hidden + workers - 1) / workers
        let hiddenCount = w.expand == nil ? 0 : share * plane
        let depthwiseCount = share * oplane, partialCount = cout * oplane
        let packCount = pk_gemm_scratch(Int32(max(cin, share)))
        let padCount = depthwiseScratch(outRows: y.h, outWidth: y.w, stride: g.stride)
        let perWorker = hiddenCount + depthwiseCount + partialCount + packCount + padCount
        let scratch = (0..<workers).map { workspace.floats(perWorker, slot: $0) }
        let packed = w.packed.shares(w, (0..<workers).map { min(hidden, $0 * share)..<min(hidden, ($0 + 1) * share) })
        let project = w.project
        for i in 0..<x.n {
            let xi = UnsafePointer(x.image(i)), yi = y.image(i)
            Parallel.forEach(workers, cost: Int.max / 4) { t in
                let channels = min(hidden, t * share)..<min(hidden, (t + 1) * share)
                let buffer = scratch[t], depthwiseOut = buffer + hiddenCount, partial = depthwiseOut + depthwiseCount
                let pack = partial + partialCount, pad = pack + packCount
                guard !channels.isEmpty else {
                    if t > 0 { partial.update(repeating: 0, count: partialCount) }
                    return
                }
                let c0 = channels.lowerBound
                var input = xi + c0 * plane
                if let expand = w.expand, let packedExpand = packed[t].expand {
                    // hidden[share] = relu6(W_e[share] · x + b_e[share])
                    pk_gemm(packedExpand.pointer, 0, Int32(channels.count), Int32(cin), xi, plane, buffer, plane,
                            Int32(plane), expand.bias.pointer + c0, 0, 6, nil, 0, pack)
                    input = UnsafePointer(buffer)
                }
                let ldb = depthwise(input, channelStride: plane, rows: x.h, padTop: g.padding.top, channels: channels,
                                    weights: w.depthwise, geometry: g, width: x.w, outRows: y.h, outWidth: y.w,
                                    into: depthwiseOut, pad: pad, channelsKernel: channelsKernel)
                // W_p[:, share] [Cout × share] · depthwise[share] [share × OP] (+ b_p, + x on core 0)
                let first = t == 0
                pk_gemm(packed[t].project.pointer, 0, Int32(cout), Int32(channels.count), depthwiseOut,
                        ldb, first ? yi : partial, oplane, Int32(oplane),
                        first ? project.bias.pointer : nil, -.infinity, .infinity, first && shortcut ? xi : nil,
                        oplane, pack)
            }
            for t in 1..<workers {
                let partial = UnsafePointer(scratch[t] + hiddenCount + depthwiseCount)
                for j in 0..<cout * oplane { yi[j] += partial[j] }
            }
        }
    }
}
