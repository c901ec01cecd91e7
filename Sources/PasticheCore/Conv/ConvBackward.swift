import CBLAS
import CPasticheKernels

// Backward passes follow llm.c conventions: every gradient buffer is ACCUMULATED into (+=),
// so the caller zeroes it once per step and several consumers of one tensor can add their
// contributions; values saved from the forward pass are passed in explicitly.

/// Folds columns back onto the image: the adjoint of `Im2Col.forward` with the same geometry.
public enum Col2Im {
    /// cols: [C·kh·kw, rows·OW] (the unfolding of output rows `rows`, all of them by default)
    /// → x: [C, H, W], x += fold(cols). Entries of `cols` that Im2Col filled with padding zeros
    /// are dropped. Channels are independent, so they run in parallel.
    public static func accumulate(_ cols: UnsafePointer<Float>, channels: Int, h: Int, w: Int,
                                  geometry g: ConvGeometry, rows: Range<Int>? = nil,
                                  into x: UnsafeMutablePointer<Float>) {
        let o = g.outputSize(h: h, w: w)
        let s = g.stride, pt = g.padding.top, pl = g.padding.left
        let kh = g.kernelH, kw = g.kernelW
        let rows = rows ?? 0..<o.h
        let bandCols = rows.count * o.w
        Parallel.forEach(channels, cost: kh * kw * bandCols) { ci in
            let dst = x + ci * h * w
            for ky in 0..<kh {
                for kx in 0..<kw {
                    var src = cols + ((ci * kh + ky) * kw + kx) * bandCols
                    // Output columns whose input x = ox·s − pl + kx falls inside [0, w).
                    let oxLo = min(o.w, max(0, (pl - kx + s - 1) / s))
                    let lastInside = w - 1 + pl - kx
                    let oxHi = lastInside < 0 ? 0 : min(o.w, lastInside / s + 1)
                    for oy in rows {
                        let iy = oy * s - pt + ky
                        if iy >= 0 && iy < h && oxLo < oxHi {
                            let row = dst + iy * w - pl + kx
                            for ox in oxLo..<oxHi { row[ox * s] += src[ox] }
                        }
                        src += o.w
                    }
                }
            }
        }
    }
}

extension Conv2D {
    /// Gradients of `Conv2D.forward` (any geometry: stride, asymmetric zero padding, groups;
    /// depthwise goes to `Depthwise.backward`).
    ///
    ///   x:       [N, Cin, H, W]              forward input (saved)
    ///   weight:  [Cout, Cin/groups, kh, kw]
    ///   dy:      [N, Cout, OH, OW]           gradient w.r.t. the conv output
    ///   dx:      [N, Cin, H, W] or nil       += Σ_co W[co]ᵀ ⋆ dy   (col2im(W_gᵀ · dY_g))
    ///   dWeight: [Cout, Cin/groups, kh, kw]  += Σ_n dY_g · cols_gᵀ
    ///   dBias:   [Cout] or nil               += Σ_{n, oy, ox} dy
    ///
    /// The workspace holds one band of columns (Cin/groups · kh · kw · rows · OW floats, rows from
    /// `bandFloats`); dx comes from `inputGradient`.
    public static func backward(_ x: Tensor, weight: Tensor, geometry g: ConvGeometry, dy: Tensor,
                                dx: Tensor?, dWeight: Tensor, dBias: Tensor?,
                                workspace: Workspace = .shared, options: ExecutionOptions = .default) {
        let o = g.outputSize(h: x.h, w: x.w)
        precondition(x.c == g.inChannels, "conv backward: input channels")
        precondition(dy.n == x.n && dy.c == g.outChannels && dy.h == o.h && dy.w == o.w, "conv backward: dy shape")
        let wCount = g.weightShape.reduce(1, *)
        precondition(weight.count == wCount && dWeight.count == wCount, "conv backward: weight shape")
        if let dx { precondition(dx.sameShape(x), "conv backward: dx shape") }
        if let dBias { precondition(dBias.count == g.outChannels, "conv backward: dBias shape") }

        if let dBias {
            let outPlane = o.h * o.w
            for co in 0..<g.outChannels {
                var acc: Double = 0
                for i in 0..<x.n {
                    let p = dy.plane(i, co)
                    for k in 0..<outPlane { acc += Double(p[k]) }
                }
                dBias.data[co] += Float(acc)
            }
        }
        if g.isDepthwise {
            Depthwise.backward(x, weight: weight, geometry: g, dy: dy, dx: dx, dWeight: dWeight, workspace: workspace)
            return
        }

        let outPlane = o.h * o.w
        let cinG = g.inChannels / g.groups, coutG = g.outChannels / g.groups
        let kdim = cinG * g.kernelH * g.kernelW
        if let dx { inputGradient(x, weight: weight, geometry: g, dy: dy, dx: dx, workspace: workspace, options: options) }
        if g.isPointwise {
            for i in 0..<x.n {
                for grp in 0..<g.groups {
                    let xg = UnsafePointer(x.image(i) + grp * cinG * x.plane)
                    let dyg = UnsafePointer(dy.image(i) + grp * coutG * outPlane)
                    // The image is its own column matrix. dW_g [coutG × Cin] += dY_g · X_gᵀ
                    Gemm.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(coutG), Int32(kdim), Int32(outPlane),
                               1, dyg, Int32(outPlane), xg, Int32(outPlane), 1, dWeight.pointer + grp * coutG * kdim, Int32(kdim))
                }
            }
            return
        }
        // Bands of output rows, as the forward pass: a band's columns stay in cache instead of
        // a whole-image buffer of Cin·k² floats per pixel.
        let map = Im2Col.ColumnMap(geometry: g, inputWidth: x.w, input: .plain, outputWidth: o.w)
        let bandRows = max(1, min(o.h, options.convBandFloats / max(1, kdim * o.w)))
        let cols = workspace.floats(kdim * bandRows * o.w)
        for i in 0..<x.n {
            for grp in 0..<g.groups {
                let xg = UnsafePointer(x.image(i) + grp * cinG * x.plane)
                let dyg = UnsafePointer(dy.image(i) + grp * coutG * outPlane)
                for oy0 in stride(from: 0, to: o.h, by: bandRows) {
                    let rows = oy0..<min(o.h, oy0 + bandRows)
                    let n = rows.count * o.w
                    Im2Col.band(xg, channels: cinG, h: x.h, w: x.w, map: map, geometry: g, input: .plain, rows: rows,
                                into: cols, parallel: true)
                    // dW_g [coutG × kdim] += dY_g[:, band] [coutG × n] · cols_bandᵀ [n × kdim]
                    Gemm.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(coutG), Int32(kdim), Int32(n),
                               1, dyg + oy0 * o.w, Int32(outPlane), UnsafePointer(cols), Int32(n),
                               1, dWeight.pointer + grp * coutG * kdim, Int32(kdim))
                }
            }
        }
    }

    /// The forward conv whose output is the input gradient of `g`: stride 1, groups 1, square
    /// kernel, each pad at most k − 1 → Cout→Cin channels, pads k − 1 − p.
    public static func transposedGeometry(_ g: ConvGeometry) -> ConvGeometry? {
        let k = g.kernelH, p = g.padding
        guard g.groups == 1, g.stride == 1, g.kernelW == k,
              [p.top, p.left, p.bottom, p.right].allSatisfy({ $0 <= k - 1 }) else { return nil }
        return ConvGeometry(inChannels: g.outChannels, outChannels: g.inChannels, kernel: k,
                            padding: Padding(top: k - 1 - p.top, left: k - 1 - p.left,
                                             bottom: k - 1 - p.bottom, right: k - 1 - p.right))
    }

    /// The weights of `transposedGeometry(g)`: each kernel turned 180° and Cin/Cout swapped,
    /// [Cout, Cin, k, k] → [Cin, Cout, k, k]. The conv with them, on the output gradient, is the
    /// input gradient of a stride-1 conv.
    public static func turnedWeights(_ weight: Tensor, geometry g: ConvGeometry) -> Tensor {
        let k = g.kernelH, taps = k * k
        precondition(g.groups == 1 && g.kernelW == k && weight.count == g.weightShape.reduce(1, *), "turned weights: shape")
        let turned = Tensor(shape: [g.inChannels, g.outChannels, k, k], zeroed: false)
        for co in 0..<g.outChannels {
            for ci in 0..<g.inChannels {
                let src = weight.pointer + (co * g.inChannels + ci) * taps
                let dst = turned.pointer + (ci * g.outChannels + co) * taps
                for j in 0..<taps { dst[j] = src[taps - 1 - j] }
            }
        }
        return turned
    }

    /// dx += the input gradient only (frozen weights: no weight-gradient GEMM, no im2col),
    /// banded like `backward`. Depthwise geometries go to `Depthwise.backward` with a scratch dW.
    public static func inputGradient(_ x: Tensor, weight: Tensor, geometry g: ConvGeometry, dy: Tensor, dx: Tensor,
                                     workspace: Workspace = .shared, options: ExecutionOptions = .default) {
        if g.isDepthwise {
            let scratch = Tensor(shape: g.weightShape)
            Depthwise.backward(x, weight: weight, geometry: g, dy: dy, dx: dx, dWeight: scratch, workspace: workspace)
            return
        }
        if options.transposedInputGradient, let t = transposedGeometry(g),
           DirectConv.applies(t, options) || Winograd.applies(t, .plain, options) {
            // Stride 1: dx is the full correlation of dy with the weights turned 180° and Cin/Cout
            // swapped, a forward conv that the direct and Winograd kernels run (the frozen
            // transfer network's backward in training: its residual, upsampling and 9×9 convs).
            let turned = turnedWeights(weight, geometry: g)
            Elementwise.addInPlace(dx, Conv2D.forward(dy, weight: turned, bias: nil, geometry: t, workspace: workspace,
                                                      options: options))
            return
        }
        let o = g.outputSize(h: x.h, w: x.w)
        let outPlane = o.h * o.w
        let cinG = g.inChannels / g.groups, coutG = g.outChannels / g.groups
        let kdim = cinG * g.kernelH * g.kernelW
        let bandRows = max(1, min(o.h, options.convBandFloats / max(1, kdim * o.w)))
        let dcols = g.isPointwise ? nil : workspace.floats(kdim * bandRows * o.w)
        for i in 0..<x.n {
            for grp in 0..<g.groups {
                let dyg = UnsafePointer(dy.image(i) + grp * coutG * outPlane)
                let wg = UnsafePointer(weight.pointer + grp * coutG * kdim)
                let dxg = dx.image(i) + grp * cinG * x.plane
                guard let dcols else {
                    // Pointwise: dX_g [cinG × HW] += W_gᵀ · dY_g directly.
                    Gemm.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(kdim), Int32(outPlane), Int32(coutG),
                               1, wg, Int32(kdim), dyg, Int32(outPlane), 1, dxg, Int32(outPlane))
                    continue
                }
                for oy0 in stride(from: 0, to: o.h, by: bandRows) {
                    let rows = oy0..<min(o.h, oy0 + bandRows)
                    let n = rows.count * o.w
                    Gemm.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(kdim), Int32(n), Int32(coutG),
                               1, wg, Int32(kdim), dyg + oy0 * o.w, Int32(outPlane), 0, dcols, Int32(n))
                    Col2Im.accumulate(UnsafePointer(dcols), channels: cinG, h: x.h, w: x.w, geometry: g, rows: rows, into: dxg)
                }
            }
        }
    }
}

extension Depthwise {
    /// Gradients of `Depthwise.forward` (groups == Cin == Cout), as direct loops, one channel
    /// per task (each task owns its channel's slice of dx and dWeight, so no races).
    ///
    ///   x:       [N, C, H, W]         forward input (saved)
    ///   weight:  [C, 1, kh, kw]
    ///   dy:      [N, C, OH, OW]
    ///   dx:      [N, C, H, W] or nil  dx[n,c,iy,ix] += Σ w[c,ky,kx] · dy[n,c,oy,ox]
    ///   dWeight: [C, 1, kh, kw]       dW[c,ky,kx]   += Σ_{n,oy,ox} dy[n,c,oy,ox] · x[n,c,iy,ix]
    /// with iy = oy·s − pt + ky, ix = ox·s − pl + kx inside the image. The bias gradient is
    /// taken by `Conv2D.backward`.
    public static func backward(_ x: Tensor, weight: Tensor, geometry g: ConvGeometry, dy: Tensor,
                                dx: Tensor?, dWeight: Tensor, workspace: Workspace = .shared) {
        if hasKernel(g) {
            // 3×3, stride 1 or 2: the vectorised kernel, channels split across cores (each
            // worker owns its channels' dWeight and dx planes).
            let workers = min(Parallel.cores, x.c)
            let count = pk_depthwise3x3_backward_scratch(Int32(dy.h), Int32(dy.w), Int32(g.stride))
            let buffers = (0..<workers).map { workspace.floats(count, slot: $0) }
            Parallel.forEachInterleaved(x.c, workers: workers, cost: x.n * dy.plane * 18 * x.c / max(1, workers)) { t, ch in
                for i in 0..<x.n {
                    pk_depthwise3x3_backward(x.plane(i, ch), Int32(x.h), Int32(x.w), weight.pointer + ch * 9,
                                             Int32(g.stride), Int32(g.padding.top), Int32(g.padding.left),
                                             dy.plane(i, ch), Int32(dy.h), Int32(dy.w), dx?.plane(i, ch),
                                             dWeight.pointer + ch * 9, buffers[t])
                }
            }
            return
        }
        loopBackward(x, weight: weight, geometry: g, dy: dy, dx: dx, dWeight: dWeight)
    }

    /// Any kernel size and stride: per-tap loops over the rows, bounds computed per tap.
    static func loopBackward(_ x: Tensor, weight: Tensor, geometry g: ConvGeometry, dy: Tensor,
                             dx: Tensor?, dWeight: Tensor) {
        let s = g.stride, pt = g.padding.top, pl = g.padding.left
        let kh = g.kernelH, kw = g.kernelW
        let oh = dy.h, ow = dy.w, h = x.h, w = x.w
        Parallel.forEach(x.c, cost: x.n * oh * ow * kh * kw) { ch in
            let k = UnsafePointer(weight.pointer + ch * kh * kw)
            let dk = dWeight.pointer + ch * kh * kw
            for i in 0..<x.n {
                let src = UnsafePointer(x.plane(i, ch))
                let gy = UnsafePointer(dy.plane(i, ch))
                let dsrc = dx?.plane(i, ch)
                for ky in 0..<kh {
                    for kx in 0..<kw {
                        let oxLo = min(ow, max(0, (pl - kx + s - 1) / s))
                        let lastInside = w - 1 + pl - kx
                        let oxHi = lastInside < 0 ? 0 : min(ow, lastInside / s + 1)
                        if oxLo >= oxHi { continue }
                        let kv = k[ky * kw + kx]
                        var acc: Float = 0
                        for oy in 0..<oh {
                            let iy = oy * s - pt + ky
                            if iy < 0 || iy >= h { continue }
                            let xr = src + iy * w - pl + kx
                            let gr = gy + oy * ow
                            for ox in oxLo..<oxHi { acc += gr[ox] * xr[ox * s] }
                            if let dsrc {
                                let dr = dsrc + iy * w - pl + kx
                                for ox in oxLo..<oxHi { dr[ox * s] += kv * gr[ox] }
                            }
                        }
                        dk[ky * kw + kx] += acc
                    }
                }
            }
        }
    }
}
