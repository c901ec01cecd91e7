import CBLAS
import CPasticheKernels

// Backward passes follow llm.c conventions: every gradient buffer is ACCUMULATED into (+=),
// so the caller zeroes it once per step and several consumers of one tensor can add their
// contributions; values saved from the forward pass are passed in explicitly.

/// Folds columns back onto the image: the adjoint of `Im2Col.forward` with the same geometry.
public enum Col2Im {
    /// cols: [C·kh·kw, OH·OW] → x: [C, H, W], x += fold(cols). Entries of `cols` that Im2Col
    /// filled with padding zeros are dropped. Channels are independent, so they run in parallel.
    public static func accumulate(_ cols: UnsafePointer<Float>, channels: Int, h: Int, w: Int,
                                  geometry g: ConvGeometry, into x: UnsafeMutablePointer<Float>) {
        let o = g.outputSize(h: h, w: w)
        let s = g.stride, pt = g.padding.top, pl = g.padding.left
        let kh = g.kernelH, kw = g.kernelW
        let outPlane = o.h * o.w
        Parallel.forEach(channels, cost: kh * kw * outPlane) { ci in
            let dst = x + ci * h * w
            for ky in 0..<kh {
                for kx in 0..<kw {
                    var src = cols + ((ci * kh + ky) * kw + kx) * outPlane
                    // Output columns whose input x = ox·s − pl + kx falls inside [0, w).
                    let oxLo = min(o.w, max(0, (pl - kx + s - 1) / s))
                    let lastInside = w - 1 + pl - kx
                    let oxHi = lastInside < 0 ? 0 : min(o.w, lastInside / s + 1)
                    for oy in 0..<o.h {
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
    /// The workspace holds cols and dcols (2 · Cin/groups · kh · kw · OH · OW floats).
    public static func backward(_ x: Tensor, weight: Tensor, geometry g: ConvGeometry, dy: Tensor,
                                dx: Tensor?, dWeight: Tensor, dBias: Tensor?,
                                workspace: Workspace = .shared) {
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
            Depthwise.backward(x, weight: weight, geometry: g, dy: dy, dx: dx, dWeight: dWeight)
            return
        }

        let outPlane = o.h * o.w
        let cinG = g.inChannels / g.groups, coutG = g.outChannels / g.groups
        let kdim = cinG * g.kernelH * g.kernelW
        let buf = g.isPointwise ? nil : workspace.floats(2 * kdim * outPlane)
        for i in 0..<x.n {
            for grp in 0..<g.groups {
                let xg = x.image(i) + grp * cinG * x.plane
                let dyg = UnsafePointer(dy.image(i) + grp * coutG * outPlane)
                let wg = UnsafePointer(weight.pointer + grp * coutG * kdim)
                let cols: UnsafePointer<Float>
                if let buf {
                    Im2Col.forward(xg, channels: cinG, h: x.h, w: x.w, geometry: g, into: buf)
                    cols = UnsafePointer(buf)
                } else {
                    cols = UnsafePointer(xg)   // pointwise: the image is its own column matrix
                }
                // dW_g [coutG × kdim] += dY_g [coutG × P] · cols_gᵀ [P × kdim]
                Gemm.sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                            Int32(coutG), Int32(kdim), Int32(outPlane),
                            1, dyg, Int32(outPlane), cols, Int32(outPlane),
                            1, dWeight.pointer + grp * coutG * kdim, Int32(kdim))
                guard let dx else { continue }
                let dxg = dx.image(i) + grp * cinG * x.plane
                if let buf {
                    // dcols [kdim × P] = W_gᵀ [kdim × coutG] · dY_g [coutG × P], then fold.
                    let dcols = buf + kdim * outPlane
                    Gemm.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                                Int32(kdim), Int32(outPlane), Int32(coutG),
                                1, wg, Int32(kdim), dyg, Int32(outPlane),
                                0, dcols, Int32(outPlane))
                    Col2Im.accumulate(UnsafePointer(dcols), channels: cinG, h: x.h, w: x.w, geometry: g, into: dxg)
                } else {
                    // dX_g [cinG × HW] += W_gᵀ · dY_g directly.
                    Gemm.sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                                Int32(kdim), Int32(outPlane), Int32(coutG),
                                1, wg, Int32(kdim), dyg, Int32(outPlane),
                                1, dxg, Int32(outPlane))
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
            Parallel.forEach(workers, cost: x.n * dy.plane * 18 * x.c / max(1, workers)) { t in
                var ch = t
                while ch < x.c {
                    for i in 0..<x.n {
                        pk_depthwise3x3_backward(x.plane(i, ch), Int32(x.h), Int32(x.w), weight.pointer + ch * 9,
                                                 Int32(g.stride), Int32(g.padding.top), Int32(g.padding.left),
                                                 dy.plane(i, ch), Int32(dy.h), Int32(dy.w), dx?.plane(i, ch),
                                                 dWeight.pointer + ch * 9, buffers[t])
                    }
                    ch += workers
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
