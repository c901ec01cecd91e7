import Foundation
import CBLAS
import CPasticheKernels

/// Zero padding of a convolution, in pixels: TF "SAME" on stride-2 layers pads only the
/// bottom/right edge (ONNX pads [0, 0, 1, 1]), so the four sides are independent.
public struct Padding: Equatable, Sendable, CustomStringConvertible {
    public var top: Int, left: Int, bottom: Int, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }
    public static func same(_ p: Int) -> Padding { Padding(top: p, left: p, bottom: p, right: p) }
    public static let zero = Padding.same(0)
    /// TF "SAME" (the predictor's convs, as exported to ONNX): out = ceil(in / stride), and an
    /// odd total pad puts the extra pixel at the bottom/right (ONNX pads [0, 0, 1, 1] on the
    /// stride-2 layers at 256²).
    public static func tfSame(h: Int, w: Int, kernel: Int, stride: Int) -> Padding {
        func axis(_ size: Int) -> (Int, Int) {
            let out = (size + stride - 1) / stride
            let total = max(0, (out - 1) * stride + kernel - size)
            return (total / 2, total - total / 2)
        }
        let (t, b) = axis(h), (l, r) = axis(w)
        return Padding(top: t, left: l, bottom: b, right: r)
    }
    public var description: String { "[\(top), \(left), \(bottom), \(right)]" }
}

/// Geometry of one 2-D convolution (cross-correlation, as ONNX Conv and TF conv2d).
public struct ConvGeometry: Equatable, Sendable {
    public var inChannels: Int, outChannels: Int
    public var kernelH: Int, kernelW: Int
    public var stride: Int
    public var padding: Padding
    public var groups: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
                padding: Padding = .zero, groups: Int = 1) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0, "channels not divisible by groups")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelH = kernel; self.kernelW = kernel
        self.stride = stride; self.padding = padding; self.groups = groups
    }

    public func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
        ((h + padding.top + padding.bottom - kernelH) / stride + 1,
         (w + padding.left + padding.right - kernelW) / stride + 1)
    }
    /// Weight shape [Cout, Cin/groups, kh, kw] (ONNX/PyTorch order).
    public var weightShape: [Int] { [outChannels, inChannels / groups, kernelH, kernelW] }
    public var isDepthwise: Bool { groups == inChannels && groups == outChannels && groups > 1 }
    public var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == .zero && groups == 1 }
    /// Multiply-adds ×2 for one image of the given input size.
    public func flops(h: Int, w: Int) -> Double {
        let o = outputSize(h: h, w: w)
        return 2 * Double(outChannels * o.h * o.w) * Double(inChannels / groups * kernelH * kernelW)
    }
}

/// Scratch memory reused across calls, one buffer per worker slot, so steady-state inference
/// allocates nothing large.
public final class Workspace: @unchecked Sendable {
    private var buffers: [UnsafeMutablePointer<Float>?] = Array(repeating: nil, count: 64)
    private var capacities = [Int](repeating: 0, count: 64)
    public init() {}
    deinit { for b in buffers { b?.deallocate() } }
    /// A buffer of at least `count` floats for worker `slot` (each slot is used by one thread at a time).
    public func floats(_ count: Int, slot: Int = 0) -> UnsafeMutablePointer<Float> {
        if count > capacities[slot] {
            buffers[slot]?.deallocate()
            buffers[slot] = UnsafeMutablePointer<Float>.allocate(capacity: count)
            capacities[slot] = count
        }
        return buffers[slot]!
    }
    public static let shared = Workspace()
}

/// How a convolution reads its input: optionally nearest-upsampled ×`upsample`, then padded by
/// the geometry's `padding` with zeros or by reflection. Folding both into the column unfolding
/// saves a full-size copy of the activation per layer (the transfer network's MirrorPad and
/// Resize), which is what keeps big images within bounded memory.
public struct ConvInput: Equatable, Sendable {
    public var upsample: Int
    public var reflect: Bool
    public init(upsample: Int = 1, reflect: Bool = false) {
        self.upsample = upsample; self.reflect = reflect
    }
    public static let plain = ConvInput()
}

public enum Conv2D {
    /// y[n, co, oy, ox] = bias[co] + Σ w[co, ci, ky, kx] · x̃[n, g·cin/g + ci, oy·s − pt + ky, ox·s − pl + kx]
    /// where x̃ is x upsampled and padded as `input` says.
    /// x: [N, Cin, H, W], weight: [Cout, Cin/groups, kh, kw], bias: [Cout] or nil → y: [N, Cout, OH, OW].
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry,
                               input: ConvInput = .plain, activation: Activation = .none,
                               workspace: Workspace = .shared, options: ExecutionOptions = .default,
                               winogradWeights: Tensor? = nil) -> Tensor {
        precondition(x.c == g.inChannels, "conv input has \(x.c) channels, expected \(g.inChannels)")
        let o = g.outputSize(h: x.h * input.upsample, w: x.w * input.upsample)
        let y = Tensor(x.n, g.outChannels, o.h, o.w, zeroed: false)
        forward(x, weight: weight, bias: bias, geometry: g, input: input, activation: activation, into: y,
                workspace: workspace, options: options, winogradWeights: winogradWeights)
        return y
    }

    /// y = activation(conv(x) + bias); the depthwise kernel applies the activation as it writes.
    /// `winogradWeights`: the weights as `Winograd.transformedWeights` gives them, for a caller
    /// that runs the same frozen weights many times (the transform is then not redone per call).
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry,
                               input: ConvInput = .plain, activation: Activation = .none, into y: Tensor,
                               workspace: Workspace = .shared, options: ExecutionOptions = .default,
                               winogradWeights: Tensor? = nil) {
        let vh = x.h * input.upsample, vw = x.w * input.upsample
        let o = g.outputSize(h: vh, w: vw)
        precondition(y.c == g.outChannels && y.h == o.h && y.w == o.w && y.n == x.n, "conv output shape")
        precondition(weight.count == g.weightShape.reduce(1, *), "conv weight shape")
        if g.isDepthwise && input == .plain {
            Depthwise.forward(x, weight: weight, bias: bias, geometry: g, into: y, activation: activation,
                              workspace: workspace, options: options)
            return
        }
        if g.isPointwise && g.groups == 1 && input.upsample == 1 {
            Pointwise.forward(x, weight: weight, bias: bias, into: y, activation: activation)
            return
        }
        let fused = compute(x, weight: weight, bias: bias, geometry: g, input: input, activation: activation, into: y,
                            workspace: workspace, options: options, winogradWeights: winogradWeights)
        if !fused { activation.forward(y) }
    }

    /// Returns whether the activation was applied as the output was written.
    private static func compute(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry,
                                input: ConvInput, activation: Activation, into y: Tensor, workspace: Workspace,
                                options: ExecutionOptions, winogradWeights: Tensor?) -> Bool {
        let o = (h: y.h, w: y.w)
        let outPlane = o.h * o.w
        let cinG = g.inChannels / g.groups, coutG = g.outChannels / g.groups
        let kdim = cinG * g.kernelH * g.kernelW
        if DirectConv.applies(g, options) {
            DirectConv.forward(x, weight: weight, bias: bias, geometry: g, input: input, into: y, workspace: workspace,
                               bandRows: options.bandRows)
            return false
        }
        if Winograd4x4.applies(g, input, options) {
            Winograd4x4.forward(x, weight: weight, bias: bias, geometry: g, input: input, into: y, workspace: workspace,
                                bandRows: options.bandRows, transformed: winogradWeights)
            return false
        }
        if Winograd.applies(g, input, options) {
            Winograd.forward(x, weight: weight, bias: bias, geometry: g, input: input, into: y, workspace: workspace,
                             bandRows: options.bandRows, transformed: winogradWeights)
            return false
        }
        let pointwise = g.isPointwise && input.upsample == 1
        // At least one band per core (the predictor's first layer is one 128-row band otherwise).
        // Few input channels (kdim 27 for an RGB 3×3) make a wide, cheap-to-unfold band: an eighth
        // of the budget keeps it in L2 for the GEMM that packs it (the predictor's conv0).
        let budget = kdim < 32 ? options.convBandFloats / 8 : options.convBandFloats
        let bandBudget = max(1, min(budget / max(1, kdim * o.w), (o.h + Parallel.cores - 1) / Parallel.cores))
        // Bands of equal height, their count a multiple of the cores (8 bands of 18 rows and one
        // of 2 left conv0's first core 72 rows of 128, the other waiting).
        let evenBands = ((o.h + bandBudget - 1) / bandBudget + Parallel.cores - 1) / Parallel.cores * Parallel.cores
        let bandRows = max(1, min(o.h, options.bandRows ?? (o.h + evenBands - 1) / evenBands))
        let bands = (o.h + bandRows - 1) / bandRows
        let workers = min(Parallel.cores, bands)
        let map = pointwise ? nil : Im2Col.ColumnMap(geometry: g, inputWidth: x.w, input: input, outputWidth: o.w)
        let fused = activation.clampRange
        let (lo, hi) = fused ?? (-.infinity, .infinity)
        // Grouped 1×1 GEMMs start from the bias and accumulate onto it (beta = 1).
        func fillBias(_ yi: UnsafeMutablePointer<Float>, channels: Range<Int>, from p0: Int, count: Int) {
            for co in channels {
                (yi + co * outPlane + p0).initialize(repeating: bias?.data[co] ?? 0, count: count)
            }
        }
        for i in 0..<x.n {
            let yi = y.image(i)
            if pointwise { fillBias(yi, channels: 0..<g.outChannels, from: 0, count: outPlane) }
            for grp in 0..<g.groups {
                let xg = UnsafePointer(x.image(i) + grp * cinG * x.plane)
                let wg = UnsafePointer(weight.pointer + grp * coutG * kdim)
                let yg = yi + grp * coutG * outPlane
                if pointwise {
                    // y_g [coutG × P] += W_g [coutG × Cin] · x_g [Cin × P]
                    Gemm.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(coutG), Int32(outPlane), Int32(kdim),
                               1, wg, Int32(kdim), xg, Int32(outPlane), 1, yg, Int32(outPlane))
                    continue
                }
                // Each worker unfolds and multiplies its own bands with a single-threaded GEMM:
                // no thread hand-offs inside a band, and the band's columns stay in its cache.
                let packCount = pk_gemm_scratch(Int32(kdim))
                let buffers = (0..<workers).map { workspace.floats(kdim * bandRows * o.w + packCount, slot: $0) }
                let bg = bias.map { UnsafePointer($0.pointer + grp * coutG) }
                Parallel.forEachDynamic(bands, workers: workers) { t, band in
                    let buf = buffers[t]
                    let oy0 = band * bandRows
                    let rows = oy0..<min(o.h, oy0 + bandRows)
                    let cols = rows.count * o.w
                    Im2Col.band(xg, channels: cinG, h: x.h, w: x.w, map: map!, geometry: g, input: input,
                                rows: rows, into: buf)
                    // y_g[:, band] [coutG × cols] = act(W_g [coutG × kdim] · cols [kdim × cols] + bias)
                    pk_gemm(wg, kdim, Int32(coutG), Int32(kdim), buf, cols, yg + oy0 * o.w, outPlane, Int32(cols), bg,
                            lo, hi, nil, 0, buf + kdim * bandRows * o.w)
                }
            }
        }
        return pointwise ? false : fused != nil
    }
}

extension Im2Col {
    /// For each kernel column kx and output column ox, the input column to read (−1: zero
    /// padding), with upsampling and reflection already applied.
    public struct ColumnMap {
        let table: [Int32]
        let outputWidth: Int
        /// Output columns [lo, hi) read input columns ox·s − pl + kx directly (no upsampling,
        /// inside the image) for every kx: copies (stride 1) or strided loads, no table.
        let contiguous: [Range<Int>]

        init(geometry g: ConvGeometry, inputWidth w: Int, input: ConvInput, outputWidth ow: Int) {
            let up = input.upsample, vw = w * up
            var t = [Int32](repeating: -1, count: g.kernelW * ow)
            var runs: [Range<Int>] = []
            for kx in 0..<g.kernelW {
                var lo = ow, hi = 0
                for ox in 0..<ow {
                    var vx = ox * g.stride - g.padding.left + kx
                    if vx < 0 || vx >= vw {
                        guard input.reflect else { continue }
                        vx = ReflectPad.reflect(vx, vw)
                    } else if up == 1 {
                        lo = min(lo, ox); hi = max(hi, ox + 1)
                    }
                    t[kx * ow + ox] = Int32(vx / up)
                }
                runs.append(lo < hi ? lo..<hi : 0..<0)
            }
            table = t
            outputWidth = ow
            contiguous = runs
        }
    }

    /// Unfolds output rows `rows` of x (upsampled/padded per `input`) into
    /// cols [C·kh·kw × rows.count·OW].
    public static func band(_ x: UnsafePointer<Float>, channels: Int, h: Int, w: Int, map: ColumnMap,
                            geometry g: ConvGeometry, input: ConvInput, rows: Range<Int>,
                            into cols: UnsafeMutablePointer<Float>, parallel: Bool = false) {
        let kh = g.kernelH, kw = g.kernelW, s = g.stride, pt = g.padding.top
        let up = input.upsample, vh = h * up, ow = map.outputWidth
        let bandCols = rows.count * ow
        map.table.withUnsafeBufferPointer { tableBuffer in
            let table = tableBuffer.baseAddress!
            // Row r of cols is input channel ci at kernel offset (ky, kx).
            func unfold(_ r: Int) {
                let ci = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw
                let src = x + ci * h * w
                let idx = table + kx * ow
                let run = map.contiguous[kx]
                var dst = cols + r * bandCols
                for oy in rows {
                    var vy = oy * s - pt + ky
                    if vy < 0 || vy >= vh {
                        if !input.reflect {
                            dst.initialize(repeating: 0, count: ow)
                            dst += ow
                            continue
                        }
                        vy = ReflectPad.reflect(vy, vh)
                    }
                    let row = src + (vy / up) * w
                    var ox = 0
                    while ox < run.lowerBound {
                        let j = Int(idx[ox]); dst[ox] = j >= 0 ? row[j] : 0; ox += 1
                    }
                    if !run.isEmpty {
                        let first = row + Int(idx[run.lowerBound])
                        if s == 1 {
                            (dst + run.lowerBound).update(from: first, count: run.count)
                        } else if s == 2 {
                            pk_gather_even(dst + run.lowerBound, first, run.count)
                        } else {
                            for j in 0..<run.count { dst[run.lowerBound + j] = first[j * s] }
                        }
                        ox = run.upperBound
                    }
                    while ox < ow {
                        let j = Int(idx[ox]); dst[ox] = j >= 0 ? row[j] : 0; ox += 1
                    }
                    dst += ow
                }
            }
            if parallel {
                Parallel.forEach(channels * kh * kw, cost: bandCols) { unfold($0) }
            } else {
                for r in 0..<(channels * kh * kw) { unfold(r) }
            }
        }
    }
}

/// Unfolds input patches into columns so a convolution becomes one GEMM.
public enum Im2Col {
    /// x: [C, H, W] → cols: [C·kh·kw, OH·OW], zero outside the image: the whole image as one
    /// band, rows unfolded in parallel (the training backward pass uses it).
    public static func forward(_ x: UnsafePointer<Float>, channels: Int, h: Int, w: Int,
                               geometry g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        let o = g.outputSize(h: h, w: w)
        let map = ColumnMap(geometry: g, inputWidth: w, input: .plain, outputWidth: o.w)
        band(x, channels: channels, h: h, w: w, map: map, geometry: g, input: .plain, rows: 0..<o.h,
             into: cols, parallel: true)
    }
}

/// Depthwise convolution (groups == Cin == Cout): one small filter per channel. As a GEMM it
/// would be Cin tiny products, so it runs as a direct loop, one channel per task.
public enum Depthwise {
    /// Whether the vectorised 3×3 kernel (`pk_depthwise3x3`) runs this geometry.
    static func hasKernel(_ g: ConvGeometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && (g.stride == 1 || g.stride == 2)
    }

    /// y = activation(depthwise(x) + bias). MobileNetV2's 3×3 layers (stride 1 and 2) run the
    /// AVX2 kernel with the bias and a ReLU/ReLU6 clamp fused; other shapes the loop below.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, into y: Tensor,
                               activation: Activation = .none, workspace: Workspace = .shared,
                               options: ExecutionOptions = .default) {
        guard hasKernel(g), activation != .sigmoid else {
            loopForward(x, weight: weight, bias: bias, geometry: g, into: y)
            activation.forward(y)
            return
        }
        let (lo, hi) = activation.clampRange!
        let stride = g.stride, top = g.padding.top, left = g.padding.left
        if options.depthwiseChannelsKernel, pk_depthwise3x3_channels_supported(Int32(x.w), Int32(stride), Int32(left), Int32(y.h),
                                                                  Int32(y.w), 0) != 0 {
            channelsForward(x, weight: weight, bias: bias, geometry: g, into: y, lo: lo, hi: hi, workspace: workspace)
            return
        }
        let jobs = x.n * x.c
        let workers = min(Parallel.cores, jobs)
        let scratchCount = pk_depthwise3x3_scratch(Int32(y.h), Int32(y.w), Int32(g.stride))
        let buffers = (0..<workers).map { workspace.floats(scratchCount, slot: $0) }
        Parallel.forEachInterleaved(jobs, workers: workers, cost: y.plane * 9 * jobs / max(1, workers)) { t, job in
            let i = job / x.c, ch = job % x.c
            pk_depthwise3x3(x.plane(i, ch), Int32(x.h), Int32(x.w), weight.pointer + ch * 9, bias?.data[ch] ?? 0,
                            Int32(stride), Int32(top), Int32(left), y.plane(i, ch), Int32(y.h), Int32(y.w),
                            lo, hi, buffers[t])
        }
    }

    /// Runs of channels taken in turn by the cores: every channel is computed on its own, so
    /// which core takes which run changes no bit.
    static func channelsForward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, into y: Tensor,
                                lo: Float, hi: Float, workspace: Workspace) {
        let runLength = max(1, min(64, x.c / (4 * Parallel.cores))), runs = (x.c + runLength - 1) / runLength
        let workers = min(Parallel.cores, x.n * runs)
        let scratchCount = pk_depthwise3x3_channels_scratch(Int32(y.h), Int32(y.w), Int32(g.stride))
        let buffers = (0..<workers).map { workspace.floats(scratchCount, slot: $0) }
        let zeros = bias == nil ? [Float](repeating: 0, count: x.c) : []
        zeros.withUnsafeBufferPointer { zeros in
            let biases = bias.map { UnsafePointer($0.pointer) } ?? zeros.baseAddress!
            Parallel.forEachDynamic(x.n * runs, workers: workers, cost: y.plane * 9 * x.c * x.n / max(1, workers)) {
                t, item in
                let i = item / runs, c0 = (item % runs) * runLength, count = min(runLength, x.c - c0)
                pk_depthwise3x3_channels(x.plane(i, c0), x.plane, Int32(count), Int32(x.h), Int32(x.w),
                                         weight.pointer + 9 * c0, biases + c0, Int32(g.stride), Int32(g.padding.top),
                                         Int32(g.padding.left), y.plane(i, c0), y.plane, 0, Int32(y.h), Int32(y.w),
                                         lo, hi, buffers[t])
            }
        }
    }

    /// Any kernel size and stride, bounds-checked at the borders only.
    static func loopForward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, into y: Tensor) {
        let s = g.stride, pt = g.padding.top, pl = g.padding.left
        let kh = g.kernelH, kw = g.kernelW
        let oh = y.h, ow = y.w, h = x.h, w = x.w
        Parallel.forEach(x.n * x.c, cost: oh * ow * kh * kw) { job in
            let i = job / x.c, ch = job % x.c
            let src = UnsafePointer(x.plane(i, ch))
            let dst = y.plane(i, ch)
            let k = UnsafePointer(weight.pointer + ch * kh * kw)
            let b = bias?.data[ch] ?? 0
            // Interior columns need no bounds checks; compute their range once.
            let oxLo = min(ow, max(0, (pl + s - 1) / s))
            let lastFull = w - kw + pl
            let oxHi = lastFull < 0 ? oxLo : max(oxLo, min(ow, lastFull / s + 1))
            for oy in 0..<oh {
                let iy0 = oy * s - pt
                let out = dst + oy * ow
                let rowInside = iy0 >= 0 && iy0 + kh <= h
                @inline(__always) func checked(_ ox: Int) -> Float {
                    var acc = b
                    let ix0 = ox * s - pl
                    for ky in 0..<kh {
                        let iy = iy0 + ky
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kw {
                            let ix = ix0 + kx
                            if ix < 0 || ix >= w { continue }
                            acc += src[iy * w + ix] * k[ky * kw + kx]
                        }
                    }
                    return acc
                }
                if !rowInside {
                    for ox in 0..<ow { out[ox] = checked(ox) }
                    continue
                }
                for ox in 0..<oxLo { out[ox] = checked(ox) }
                if kh == 3 && kw == 3 {
                    let r0 = src + iy0 * w - pl, r1 = r0 + w, r2 = r1 + w
                    let k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8]
                    for ox in oxLo..<oxHi {
                        let j = ox * s
                        var acc = b + r0[j] * k0 + r0[j + 1] * k1 + r0[j + 2] * k2
                        acc += r1[j] * k3 + r1[j + 1] * k4 + r1[j + 2] * k5
                        acc += r2[j] * k6 + r2[j + 1] * k7 + r2[j + 2] * k8
                        out[ox] = acc
                    }
                } else {
                    for ox in oxLo..<oxHi { out[ox] = checked(ox) }
                }
                for ox in oxHi..<ow { out[ox] = checked(ox) }
            }
        }
    }
}

/// Stride-1 convolutions with at most 16 output channels (the transfer network's 9×9 3→8 and
/// 8→3 and its upsampling 3×3 32→16 and 16→8): a GEMM with so few rows runs far below peak and its unfolded columns
/// are Cin·k² times the image, so these run as a direct convolution instead
/// (`pk_conv_direct`, register-blocked over output channels and pixels).
public enum DirectConv {
    public static let maxOutChannels = 16

    public static func applies(_ g: ConvGeometry, _ options: ExecutionOptions) -> Bool {
        options.directConv && g.groups == 1 && g.stride == 1 && g.outChannels <= maxOutChannels && g.kernelH == g.kernelW && g.kernelH >= 3
    }

    /// `bandRows`: output rows per band (nil: about 1 MB of padded input per band).
    static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, input: ConvInput,
                        into y: Tensor, workspace: Workspace, bandRows fixedRows: Int?) {
        let k = g.kernelH, cin = g.inChannels
        let ow = y.w, oh = y.h, win = ow + k - 1
        // Padded input band: Cin × (rows + k − 1) × win floats, about 1 MB.
        let rowsTarget = (1 << 18) / max(1, cin * win) - (k - 1)
        let bandRows = max(1, min(oh, fixedRows ?? max(4, rowsTarget)))
        let bands = (oh + bandRows - 1) / bandRows
        let workers = min(Parallel.cores, bands)
        let band = PaddedBand(x, geometry: g, input: input, width: win)
        for i in 0..<x.n {
            let yi = y.image(i)
            let xi = UnsafePointer(x.image(i))
            let buffers = (0..<workers).map { workspace.floats(cin * (bandRows + k - 1) * win, slot: $0) }
            // Bands go to whichever worker is free (a band's output is the same whoever runs
            // it): a core that the host, or ffmpeg beside a video, takes for a while then
            // holds up no more than the band it is on.
            Parallel.forEachDynamic(bands, workers: workers) { t, b in
                let buf = buffers[t]
                let oy0 = b * bandRows, rows = min(bandRows, oh - oy0)
                band.fill(xi, firstRow: oy0 - g.padding.top, rows: rows + k - 1, stride: win, into: buf)
                // Writes bias + conv: no separate bias fill of the output.
                pk_conv_direct(buf, Int32(cin), win, weight.pointer, Int32(g.outChannels), Int32(k),
                               bias.map { UnsafePointer($0.pointer) }, yi + oy0 * ow, y.plane, ow,
                               Int32(rows), Int32(ow))
            }
        }
    }
}

/// 3×3 stride-1 convolutions with more output channels than the direct kernel takes (the
/// transfer network's ten residual 32→32 convs, 46 % of its multiply-adds) by Winograd
/// F(2×2, 3×3) (`pk_winograd3x3`): 16 products per 2×2 output tile and channel pair instead of
/// 36, no im2col. Bands of tile rows, one per core at a time; scratch stays near the L2 size.
public enum Winograd {
    /// Tiles per band: the transformed input and products (16·(Cin + Cout)·tiles floats, 512 KB
    /// for 32→32) stay in a core's L2.
    static let bandTiles = 128

    public static func applies(_ g: ConvGeometry, _ input: ConvInput, _ options: ExecutionOptions) -> Bool {
        options.winograd && g.groups == 1 && g.stride == 1 && g.kernelH == 3 && g.kernelW == 3 && input.upsample == 1
            && g.inChannels >= 8 && g.outChannels >= 8
    }

    /// U = G g Gᵀ of every (Cout, Cin) pair: [16, Cout, Cin], what `forward` multiplies by.
    public static func transformedWeights(_ weight: Tensor, geometry g: ConvGeometry) -> Tensor {
        precondition(g.kernelH == 3 && g.kernelW == 3 && g.groups == 1 && weight.count == g.weightShape.reduce(1, *),
                     "Winograd weights: a 3×3 ungrouped conv")
        let u = Tensor(shape: [16, g.outChannels, g.inChannels], zeroed: false)
        pk_winograd3x3_weights(weight.pointer, Int32(g.outChannels), Int32(g.inChannels), u.pointer)
        return u
    }

    static let tiles = WinogradTiles(side: 2, bandTiles: bandTiles, weights: pk_winograd3x3_weights,
                                     scratch: pk_winograd3x3_scratch, kernel: pk_winograd3x3)

    /// `bandRows`: output rows per band, rounded up to whole tiles (nil: `bandTiles` per band).
    static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, input: ConvInput,
                        into y: Tensor, workspace: Workspace, bandRows fixedRows: Int?, transformed: Tensor? = nil) {
        tiles.forward(x, weight: weight, bias: bias, geometry: g, input: input, into: y, workspace: workspace,
                      bandRows: fixedRows, transformed: transformed)
    }
}

/// 3×3 stride-1 convolutions with many channels by Winograd F(4×4, 3×3) (`pk_winograd4x4`),
/// when `ExecutionOptions.winograd4x4` asks for it: 36 products per 4×4 output tile and channel
/// pair, against F(2×2, 3×3)'s 64 for the same 16 outputs. Banded as `Winograd`.
public enum Winograd4x4 {
    /// Tiles per band: the transformed input and products (36·(Cin + Cout)·tiles floats).
    static let bandTiles = 64
    public static let minimumChannels = 32

    public static func applies(_ g: ConvGeometry, _ input: ConvInput, _ options: ExecutionOptions) -> Bool {
        options.winograd4x4 && options.winograd && g.groups == 1 && g.stride == 1 && g.kernelH == 3 && g.kernelW == 3
            && input.upsample == 1 && g.inChannels >= minimumChannels && g.outChannels >= minimumChannels
    }

    /// U = G g Gᵀ of every (Cout, Cin) pair: [36, Cout, Cin].
    public static func transformedWeights(_ weight: Tensor, geometry g: ConvGeometry) -> Tensor {
        precondition(g.kernelH == 3 && g.kernelW == 3 && g.groups == 1 && weight.count == g.weightShape.reduce(1, *),
                     "Winograd weights: a 3×3 ungrouped conv")
        let u = Tensor(shape: [36, g.outChannels, g.inChannels], zeroed: false)
        pk_winograd4x4_weights(weight.pointer, Int32(g.outChannels), Int32(g.inChannels), u.pointer)
        return u
    }

    static let tiles = WinogradTiles(side: 4, bandTiles: bandTiles, weights: pk_winograd4x4_weights,
                                     scratch: pk_winograd4x4_scratch, kernel: pk_winograd4x4)

    static func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, input: ConvInput,
                        into y: Tensor, workspace: Workspace, bandRows fixedRows: Int?, transformed: Tensor?) {
        tiles.forward(x, weight: weight, bias: bias, geometry: g, input: input, into: y, workspace: workspace,
                      bandRows: fixedRows, transformed: transformed)
    }
}

/// What the two Winograd kernels share: bands of whole tile rows, one per core at a time, each
/// read into a padded band buffer and handed to the C kernel of F(m×m, 3×3) (m = `side`), whose
/// transformed weights are made here unless the caller made them once (`transformed`).
struct WinogradTiles: Sendable {
    typealias Weights = @convention(c) (UnsafePointer<Float>?, Int32, Int32, UnsafeMutablePointer<Float>?) -> Void
    typealias Scratch = @convention(c) (Int32, Int32, Int32, Int32) -> Int
    typealias Kernel = @convention(c) (UnsafePointer<Float>?, Int32, Int, Int32, Int32, UnsafePointer<Float>?, Int32,
                                       UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int, Int32, Int32,
                                       UnsafeMutablePointer<Float>?) -> Void
    let side: Int
    let bandTiles: Int
    let weights: Weights
    let scratch: Scratch
    let kernel: Kernel
    /// Transformed values per weight: (side + 2)².
    var positions: Int { (side + 2) * (side + 2) }

    func forward(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, input: ConvInput,
                 into y: Tensor, workspace: Workspace, bandRows fixedRows: Int?, transformed: Tensor?) {
        let side = self.side, kernel = self.kernel
        let cin = g.inChannels, cout = g.outChannels
        let ow = y.w, oh = y.h
        let tilesX = (ow + side - 1) / side
        let stride = side * tilesX + 2
        let tileRows = fixedRows.map { ($0 + side - 1) / side } ?? bandTiles / tilesX
        let tileRowsPerBand = max(1, min((oh + side - 1) / side, tileRows))
        let bandRows = side * tileRowsPerBand
        let bands = (oh + bandRows - 1) / bandRows
        let workers = min(Parallel.cores, bands)
        let band = PaddedBand(x, geometry: g, input: input, width: ow + 2)
        let u: UnsafeMutablePointer<Float>
        if let transformed, transformed.count == positions * cout * cin {
            u = transformed.pointer
        } else {
            u = workspace.floats(positions * cout * cin, slot: 2 * Parallel.cores)
            weights(weight.pointer, Int32(cout), Int32(cin), u)
        }
        let inputFloats = cin * (bandRows + 2) * stride
        let scratchFloats = scratch(Int32(cin), Int32(cout), Int32(tileRowsPerBand), Int32(tilesX))
        let buffers = (0..<workers).map { workspace.floats(inputFloats + scratchFloats, slot: $0) }
        for i in 0..<x.n {
            let yi = y.image(i)
            let xi = UnsafePointer(x.image(i))
            Parallel.forEachDynamic(bands, workers: workers) { t, b in  // as in DirectConv
                let buf = buffers[t]
                let oy0 = b * bandRows, rows = min(bandRows, oh - oy0)
                let tilesY = (rows + side - 1) / side
                band.fill(xi, firstRow: oy0 - g.padding.top, rows: side * tilesY + 2, stride: stride, into: buf)
                kernel(buf, Int32(cin), stride, Int32(tilesY), Int32(tilesX), u, Int32(cout),
                       bias.map { UnsafePointer($0.pointer) }, yi + oy0 * ow, y.plane, ow, Int32(rows), Int32(ow),
                       buf + inputFloats)
            }
        }
    }
}

/// Copies rows of an image into a zero- or reflect-padded, optionally upsampled band buffer:
/// the input of the direct and Winograd kernels, which read every tap from it.
struct PaddedBand {
    let x: Tensor
    let input: ConvInput
    let width: Int
    /// Input column for each padded column (−1: zero), upsampling and reflection applied.
    let columns: [Int32]
    /// Padded columns that read the image itself, in order: pl ..< pl + upsampled width.
    let interior: Range<Int>

    init(_ x: Tensor, geometry g: ConvGeometry, input: ConvInput, width: Int) {
        self.x = x; self.input = input; self.width = width
        let vw = x.w * input.upsample
        columns = (0..<width).map { px in
            var vx = px - g.padding.left
            if vx < 0 || vx >= vw {
                guard input.reflect else { return -1 }
                vx = ReflectPad.reflect(vx, vw)
            }
            return Int32(vx / input.upsample)
        }
        interior = min(width, g.padding.left)..<min(width, g.padding.left + vw)
    }

    /// Rows firstRow ..< firstRow + rows of the padded, upsampled image (first padded row:
    /// −padding.top) for every channel of image `xi`, each `stride` floats apart; columns past
    /// `width` are zero.
    func fill(_ xi: UnsafePointer<Float>, firstRow: Int, rows: Int, stride: Int, into buf: UnsafeMutablePointer<Float>) {
        let vh = x.h * input.upsample
        columns.withUnsafeBufferPointer { colTable in
            for ci in 0..<x.c {
                let src = xi + ci * x.plane
                for pr in 0..<rows {
                    let dst = buf + (ci * rows + pr) * stride
                    if stride > width { (dst + width).initialize(repeating: 0, count: stride - width) }
                    var vy = firstRow + pr
                    if vy < 0 || vy >= vh {
                        if !input.reflect { dst.initialize(repeating: 0, count: width); continue }
                        vy = ReflectPad.reflect(vy, vh)
                    }
                    let row = src + (vy / input.upsample) * x.w
                    // Edges through the column table; the interior is a copy (or each input
                    // column twice when upsampling).
                    for px in 0..<interior.lowerBound { dst[px] = colTable[px] >= 0 ? row[Int(colTable[px])] : 0 }
                    if input.upsample == 1 {
                        (dst + interior.lowerBound).update(from: row, count: interior.count)
                    } else {
                        for px in interior { dst[px] = row[Int(colTable[px])] }
                    }
                    for px in interior.upperBound..<width { dst[px] = colTable[px] >= 0 ? row[Int(colTable[px])] : 0 }
                }
            }
        }
    }
}
