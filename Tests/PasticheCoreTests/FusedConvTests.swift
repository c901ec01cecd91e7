import XCTest
@testable import PasticheCore
import CPasticheKernels

/// The fused fast paths of Conv2D.forward: the AVX2 3×3 depthwise kernel (rows wider than one
/// 8-float vector, vector tails, stride 2 de-interleaving, asymmetric padding) and the chunked
/// pointwise GEMM (split by pixels and by channels), each with the activation applied as the
/// output is written. Reference: the nested-loop convolution, then the activation, in Double.
/// Tolerance: max abs error ≤ 1e-4 · max(1, max |reference|).
final class FusedConvTests: XCTestCase {
    func check(n: Int = 1, cin: Int, cout: Int, h: Int, w: Int, k: Int, s: Int = 1, pad: Padding = .zero,
               depthwise: Bool, activation: Activation, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SplitMix64(seed: seed)
        let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: pad,
                             groups: depthwise ? cin : 1)
        // Inputs in [-3, 3] so ReLU6's upper clamp is reached too.
        let x = randomTensor(n, cin, h, w, &rng)
        for i in 0..<x.count { x.data[i] *= 3 }
        let weight = randomTensor(shape: g.weightShape, &rng)
        let bias = randomTensor(shape: [cout], &rng)
        let y = Conv2D.forward(x, weight: weight, bias: bias, geometry: g, activation: activation)
        let ref = Naive.conv(x, weight, bias, g)
        let expected = ref.values.map { v -> Double in
            switch activation {
            case .none: return v
            case .relu: return max(v, 0)
            case .relu6: return min(max(v, 0), 6)
            case .sigmoid: return 1 / (1 + exp(-v))
            }
        }
        let what = "\(depthwise ? "depthwise" : "conv") N\(n) \(cin)→\(cout) \(h)×\(w) k\(k) s\(s) \(pad) \(activation)"
        XCTAssertEqual([y.n, y.c, y.h, y.w], ref.shape, what, file: file, line: line)
        assertClose(y, expected, what, file: file, line: line)
    }

    func testDepthwise3x3KernelWideRows() {
        var seed: UInt64 = 1
        for w in [8, 9, 16, 17, 31, 64] {
            for s in [1, 2] {
                for pad in [Padding.same(1), Padding(top: 0, left: 0, bottom: 1, right: 1), Padding(top: 2, left: 1, bottom: 0, right: 2)] {
                    for act in [Activation.none, .relu6] {
                        check(n: 2, cin: 3, cout: 3, h: 7 + Int(seed % 5), w: w, k: 3, s: s, pad: pad,
                              depthwise: true, activation: act, seed: seed)
                        seed += 1
                    }
                }
            }
        }
        // Enough channels to run on every core, as in MobileNetV2's first blocks.
        check(cin: 96, cout: 96, h: 64, w: 64, k: 3, s: 2, pad: Padding(top: 0, left: 0, bottom: 1, right: 1),
              depthwise: true, activation: .relu6, seed: 100)
        check(cin: 32, cout: 32, h: 40, w: 40, k: 3, pad: .same(1), depthwise: true, activation: .relu, seed: 101)
        // Sigmoid is not fused: the kernel's output is activated afterwards.
        check(cin: 4, cout: 4, h: 12, w: 20, k: 3, pad: .same(1), depthwise: true, activation: .sigmoid, seed: 102)
    }

    /// The unpadded depthwise paths: stride 1 with one zero row/column on every side and stride 2
    /// with TF "SAME" padding on even planes, width a multiple of 8 (edge vectors built by lane
    /// shifts, missing rows skipped), down to one-row planes; beside them shapes that must take
    /// the padded path (odd sizes, other paddings).
    func testDepthwiseUnpaddedPaths() {
        var seed: UInt64 = 400
        for w in [8, 16, 24, 64] {
            for h in [1, 2, 3, 8, 13] {
                check(cin: 5, cout: 5, h: h, w: w, k: 3, pad: .same(1), depthwise: true, activation: .relu6, seed: seed)
                seed += 1
            }
            for h in [2, 4, 10, 16] {
                check(cin: 3, cout: 3, h: h, w: 2 * w, k: 3, s: 2, pad: Padding(top: 0, left: 0, bottom: 1, right: 1),
                      depthwise: true, activation: .none, seed: seed)
                seed += 1
            }
        }
        // Padded path: odd height at stride 2, width not a multiple of 8, zero padding at stride 1.
        check(cin: 3, cout: 3, h: 9, w: 32, k: 3, s: 2, pad: Padding(top: 0, left: 0, bottom: 1, right: 1),
              depthwise: true, activation: .relu6, seed: 450)
        check(cin: 3, cout: 3, h: 6, w: 12, k: 3, pad: .same(1), depthwise: true, activation: .relu6, seed: 451)
        check(cin: 3, cout: 3, h: 6, w: 16, k: 3, pad: .zero, depthwise: true, activation: .none, seed: 452)
    }

    /// Conv2D's depthwise through runs of channels (`pk_depthwise3x3_channels`) gives the bits
    /// of one unpadded kernel call per channel: both strides, one-row to 13-row planes, with and
    /// without bias, three activations, two images, runs that split the channels unevenly.
    func testDepthwiseChannelRunsGiveTheSameBits() {
        var rng = SplitMix64(seed: 460)
        let stride2 = Padding(top: 0, left: 0, bottom: 1, right: 1)
        for (c, h, w, s, pad) in [(5, 1, 8, 1, Padding.same(1)), (37, 13, 24, 1, .same(1)), (70, 8, 8, 1, .same(1)),
                                  (9, 9, 32, 2, stride2), (40, 16, 16, 2, stride2), (3, 2, 64, 2, stride2)] {
            let g = ConvGeometry(inChannels: c, outChannels: c, kernel: 3, stride: s, padding: pad, groups: c)
            let x = randomTensor(2, c, h, w, &rng, lo: -3, hi: 3)
            let weight = randomTensor(shape: g.weightShape, &rng), bias = randomTensor(shape: [c], &rng)
            for (b, activation) in [(bias as Tensor?, Activation.relu6), (nil, .none), (bias, .relu)] {
                var outputs: [[UInt32]] = []
                for runs in [true, false] {
                    var options = ExecutionOptions.default
                    options.depthwiseChannelsKernel = runs
                    let y = Conv2D.forward(x, weight: weight, bias: b, geometry: g, activation: activation, options: options)
                    outputs.append(y.array.map(\.bitPattern))
                }
                XCTAssertEqual(outputs[0], outputs[1], "\(c) channels \(h)×\(w) s\(s) \(activation) bias \(b != nil)")
            }
        }
    }

    /// The vectorised 3×3 depthwise backward against the per-tap loops it replaces, on planes
    /// large enough for long reductions (dWeight sums 2 × 48 × 56 products per tap).
    /// Tolerance: 1e-4 · max(1, max |loop value|) (the kernel sums in a different order).
    func testDepthwiseBackwardKernelMatchesLoops() {
        var rng = SplitMix64(seed: 300)
        for (s, pad) in [(1, Padding.same(1)), (2, Padding(top: 0, left: 0, bottom: 1, right: 1)), (2, Padding.same(1)),
                         (1, Padding(top: 2, left: 0, bottom: 0, right: 2))] {
            let c = 5, h = 48, w = 57
            let g = ConvGeometry(inChannels: c, outChannels: c, kernel: 3, stride: s, padding: pad, groups: c)
            let o = g.outputSize(h: h, w: w)
            let x = randomTensor(2, c, h, w, &rng), weight = randomTensor(shape: g.weightShape, &rng)
            let dy = randomTensor(2, c, o.h, o.w, &rng)
            let dxA = randomTensor(2, c, h, w, &rng), dwA = randomTensor(shape: g.weightShape, &rng)
            let dxB = dxA.copy(), dwB = dwA.copy()
            Depthwise.backward(x, weight: weight, geometry: g, dy: dy, dx: dxA, dWeight: dwA, workspace: Workspace())
            Depthwise.loopBackward(x, weight: weight, geometry: g, dy: dy, dx: dxB, dWeight: dwB)
            assertClose(dxA, dxB.array.map(Double.init), "dx s\(s) \(pad)")
            assertClose(dwA, dwB.array.map(Double.init), "dW s\(s) \(pad)")
        }
    }

    /// Conv2D.backward and inputGradient walk bands of output rows: with a tiny band budget
    /// (one or two rows per band) they must give what one whole-image band gives.
    /// Tolerance: 1e-4 · max(1, max |reference|).
    func testBandedBackwardMatchesWholeImage() {
        var rng = SplitMix64(seed: 400)
        for (cin, cout, k, s, pad) in [(3, 8, 9, 1, Padding.same(4)), (8, 16, 3, 2, Padding(top: 0, left: 0, bottom: 1, right: 1)),
                                       (6, 4, 3, 1, Padding(top: 2, left: 1, bottom: 0, right: 2))] {
            let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: k, stride: s, padding: pad)
            let x = randomTensor(2, cin, 23, 31, &rng), weight = randomTensor(shape: g.weightShape, &rng)
            let o = g.outputSize(h: 23, w: 31)
            let dy = randomTensor(2, cout, o.h, o.w, &rng)
            func run(bandFloats: Int) -> (dx: Tensor, dW: Tensor, dxOnly: Tensor) {
                var options = ExecutionOptions.default
                options.convBandFloats = bandFloats
                let dx = Tensor(shape: x.shape), dW = Tensor(shape: g.weightShape), dxOnly = Tensor(shape: x.shape)
                Conv2D.backward(x, weight: weight, geometry: g, dy: dy, dx: dx, dWeight: dW, dBias: nil, workspace: Workspace(),
                                options: options)
                Conv2D.inputGradient(x, weight: weight, geometry: g, dy: dy, dx: dxOnly, workspace: Workspace(),
                                     options: options)
                return (dx, dW, dxOnly)
            }
            let whole = run(bandFloats: 1 << 30), banded = run(bandFloats: 1)
            let what = "\(cin)→\(cout) k\(k) s\(s) \(pad)"
            assertClose(banded.dx, whole.dx.array.map(Double.init), "dx banded " + what)
            assertClose(banded.dW, whole.dW.array.map(Double.init), "dW banded " + what)
            assertClose(banded.dxOnly, whole.dx.array.map(Double.init), "inputGradient banded " + what)
            assertClose(whole.dxOnly, whole.dx.array.map(Double.init), "inputGradient " + what)
        }
    }

    func testPointwiseChunkedAndSplit() {
        // Wide plane: split by pixels across cores, several chunks per core (cout 1280 → 64-column chunks).
        check(cin: 24, cout: 1280, h: 20, w: 30, k: 1, depthwise: false, activation: .relu6, seed: 200)
        check(n: 2, cin: 16, cout: 96, h: 64, w: 64, k: 1, depthwise: false, activation: .relu6, seed: 201)
        // Small plane (8×8): split by output channels.
        check(cin: 160, cout: 960, h: 8, w: 8, k: 1, depthwise: false, activation: .none, seed: 202)
        check(cin: 7, cout: 3, h: 5, w: 3, k: 1, depthwise: false, activation: .relu, seed: 203)
        check(cin: 5, cout: 6, h: 9, w: 9, k: 1, depthwise: false, activation: .sigmoid, seed: 204)
    }

    /// `pk_gemm` through Pointwise.forward with MobileNetV2's shortcut added after the clamp, on
    /// widths that are not multiples of 16 (blocks moved left, a last chunk narrower than a
    /// block borrowing columns), one to six rows (no packing), fewer than 8 columns (scalar).
    /// Reference: the nested-loop conv in Double, clamped, plus the residual.
    /// Tolerance: 1e-4 · max(1, max |reference|).
    func testPointwiseResidualAndOddWidths() {
        var rng = SplitMix64(seed: 500)
        // (cin, cout, h, w): columns split across cores at 9×23; three 64-column chunks at
        // 13×11 with k 600 (the last one 15 wide); rows split at 7×5; 6 columns.
        for (cin, cout, h, w) in [(40, 13, 9, 23), (600, 8, 13, 11), (24, 5, 7, 5), (9, 4, 2, 3), (32, 1, 16, 16)] {
            for activation in [Activation.none, .relu6] {
                let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: 1)
                let x = randomTensor(1, cin, h, w, &rng, lo: -3, hi: 3)
                let weight = randomTensor(shape: g.weightShape, &rng)
                let bias = randomTensor(shape: [cout], &rng)
                let residual = randomTensor(1, cout, h, w, &rng)
                let y = Tensor(1, cout, h, w, zeroed: false)
                Pointwise.forward(x, weight: weight, bias: bias, into: y, activation: activation, residual: residual)
                let ref = Naive.conv(x, weight, bias, g).values
                let expected = ref.indices.map { i -> Double in
                    (activation == .relu6 ? min(max(ref[i], 0), 6) : ref[i]) + Double(residual.data[i])
                }
                assertClose(y, expected, "pointwise+residual \(cin)→\(cout) \(h)×\(w) \(activation)")
            }
        }
    }

    /// pk_gemm with operands in the kernel's order: A packed by pk_gemm_pack_a (every pass
    /// size: m 1…13 and 32, a column slice of a wider matrix), B as 16-column panels written the
    /// way the depthwise kernel writes them, bias, ReLU6 and a residual; against Double sums.
    /// Tolerance: 1e-4 · max(1, max |reference|).
    func testGemmWithPackedOperands() {
        var rng = SplitMix64(seed: 600)
        for (m, k, n) in [(1, 5, 16), (5, 7, 32), (6, 16, 48), (7, 3, 16), (11, 40, 64), (13, 9, 80), (32, 600, 96)] {
            let lda = k + 3, columnOffset = 2  // A is columns 2..<2+k of an m × lda matrix
            let a = randomTensor(shape: [1, 1, m, lda + columnOffset], &rng)
            let b = randomTensor(shape: [1, 1, k, n], &rng, lo: 0, hi: 1)
            let bias = randomTensor(shape: [m], &rng), residual = randomTensor(shape: [1, 1, m, n], &rng)
            let packedA = PackedMatrix(a, lda: lda + columnOffset, rows: 0..<m, columns: columnOffset..<columnOffset + k)
            let panels = Tensor(shape: [1, 1, k, n], zeroed: false)
            for j in 0..<k {
                for x in 0..<n { panels.data[(x / 16 * k + j) * 16 + x % 16] = b.data[j * n + x] }
            }
            for (name, bPointer, ldb) in [("B in place", b.pointer, n), ("B panels", panels.pointer, 0)] {
                for relu6 in [false, true] {
                    let c = Tensor(shape: [1, 1, m, n], zeroed: false)
                    let scratch = Tensor(shape: [1, 1, 1, Int(pk_gemm_scratch(Int32(k)))], zeroed: false)
                    pk_gemm(packedA.pointer, 0, Int32(m), Int32(k), bPointer, ldb, c.pointer, n, Int32(n),
                            bias.pointer, relu6 ? 0 : -.infinity, relu6 ? 6 : .infinity, residual.pointer, n,
                            scratch.pointer)
                    var expected = [Double](repeating: 0, count: m * n)
                    for i in 0..<m {
                        for x in 0..<n {
                            var acc = Double(bias.data[i])
                            for j in 0..<k {
                                acc += Double(a.data[i * (lda + columnOffset) + columnOffset + j]) * Double(b.data[j * n + x])
                            }
                            if relu6 { acc = min(max(acc, 0), 6) }
                            expected[i * n + x] = acc + Double(residual.data[i * n + x])
                        }
                    }
                    assertClose(c, expected, "packed A, \(name), m\(m) k\(k) n\(n) relu6 \(relu6)")
                }
            }
        }
    }

    /// PooledPointwise (Conv_1 and the global average pool in one op) against the mean of the
    /// nested-loop 1×1 conv after ReLU6: one core (13 channels), shares taken in turn with the
    /// input packed once per core (64 channels on 8×8), unpacked input (35 pixels), two images,
    /// and more shares per core than channels allow. Tolerance: 1e-4 · max(1, max |reference|).
    func testPooledPointwise() {
        var rng = SplitMix64(seed: 700)
        for (n, cin, cout, h, w, shares) in [(1, 40, 13, 8, 8, 2), (1, 24, 64, 8, 8, 2), (1, 24, 50, 5, 7, 2),
                                             (2, 320, 96, 8, 8, 2), (1, 16, 20, 4, 4, 9)] {
            var options = ExecutionOptions.default
            options.pooledSharesPerCore = shares
            let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: 1)
            let x = randomTensor(n, cin, h, w, &rng, lo: -3, hi: 3)
            let weight = randomTensor(shape: g.weightShape, &rng), bias = randomTensor(shape: [cout], &rng)
            let y = PooledPointwise.forward(x, weight: PackedRows(weight, columns: cin), bias: bias, activation: .relu6,
                                            options: options)
            XCTAssertEqual(y.shape, [n, cout, 1, 1])
            let ref = Naive.conv(x, weight, bias, g).values
            let plane = h * w
            let expected = (0..<n * cout).map { j in
                (0..<plane).reduce(0.0) { $0 + min(max(ref[j * plane + $1], 0), 6) } / Double(plane)
            }
            assertClose(y, expected, "pooled pointwise N\(n) \(cin)→\(cout) \(h)×\(w) shares \(shares)")
        }
    }

    /// Input gradients of stride-1 convs computed as forward convs of the turned weights (direct
    /// kernel, Winograd) against the GEMM + col2im path, accumulating onto a non-zero dx.
    /// Tolerance: 1e-4 · max(1, max |reference|).
    func testInputGradientAsTransposedForward() {
        var rng = SplitMix64(seed: 400)
        for (cin, cout, k, h, w, pad) in [(32, 32, 3, 14, 21, Padding.zero), (16, 32, 3, 9, 30, .same(1)),
                                          (8, 16, 3, 12, 17, .zero), (8, 3, 9, 20, 23, .zero),
                                          (3, 8, 9, 19, 26, Padding(top: 4, left: 0, bottom: 2, right: 8))] {
            let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: k, padding: pad)
            let x = randomTensor(2, cin, h, w, &rng)
            let o = g.outputSize(h: h, w: w)
            let weight = randomTensor(shape: g.weightShape, &rng), dy = randomTensor(2, cout, o.h, o.w, &rng)
            let start = randomTensor(2, cin, h, w, &rng)
            var gemmCol2im = ExecutionOptions.default
            gemmCol2im.transposedInputGradient = false
            let reference = start.copy()
            Conv2D.inputGradient(x, weight: weight, geometry: g, dy: dy, dx: reference, options: gemmCol2im)
            let fast = start.copy()
            Conv2D.inputGradient(x, weight: weight, geometry: g, dy: dy, dx: fast)
            assertClose(fast, reference.array.map(Double.init), "input gradient \(cin)→\(cout) k\(k) \(h)×\(w) \(pad)")
        }
    }
}
