import XCTest
import PasticheCore

/// Conv2D.forward (GEMM path, pointwise fast path, Depthwise direct loop) and Im2Col against
/// the nested-loop reference. Tolerance: max abs error ≤ 1e-4 · max(1, max |reference|).
final class ConvForwardTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var n: Int = 2
        var cin: Int
        var cout: Int
        var h: Int
        var w: Int
        var k: Int
        var s: Int = 1
        var pad: Padding = .zero
        var groups: Int = 1
        var bias: Bool = true
        var description: String {
            "N\(n) Cin\(cin) Cout\(cout) \(h)×\(w) k\(k) s\(s) pad\(pad) g\(groups) bias=\(bias)"
        }
    }

    func check(_ c: Case, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SplitMix64(seed: seed)
        let g = ConvGeometry(inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s,
                             padding: c.pad, groups: c.groups)
        let x = randomTensor(c.n, c.cin, c.h, c.w, &rng)
        let w = randomTensor(shape: g.weightShape, &rng)
        let b = c.bias ? randomTensor(shape: [c.cout], &rng) : nil
        let y = Conv2D.forward(x, weight: w, bias: b, geometry: g)
        let ref = Naive.conv(x, w, b, g)
        XCTAssertEqual([y.n, y.c, y.h, y.w], ref.shape, "\(c): output shape", file: file, line: line)
        assertClose(y, ref.values, "\(c)", file: file, line: line)

        // The `into:` overload must overwrite whatever the output held.
        let y2 = Tensor(y.n, y.c, y.h, y.w, zeroed: false)
        y2.fill(.nan)
        Conv2D.forward(x, weight: w, bias: b, geometry: g, into: y2, workspace: Workspace())
        assertClose(y2, ref.values, "\(c) into:", file: file, line: line)
    }

    func testPointwiseFastPath() {
        let c = Case(cin: 5, cout: 7, h: 6, w: 7, k: 1)
        XCTAssertTrue(ConvGeometry(inChannels: 5, outChannels: 7, kernel: 1).isPointwise)
        check(c, seed: 1)
        check(Case(n: 1, cin: 3, cout: 2, h: 1, w: 1, k: 1, bias: false), seed: 2)
    }

    func testOneByOneNotPointwise() {
        // 1×1 with stride 2 or padding leaves the fast path and goes through Im2Col.
        check(Case(cin: 4, cout: 3, h: 7, w: 6, k: 1, s: 2), seed: 3)
        check(Case(cin: 4, cout: 3, h: 5, w: 5, k: 1, pad: Padding(top: 1, left: 0, bottom: 0, right: 2)), seed: 4)
    }

    func testKernel3() {
        check(Case(cin: 3, cout: 4, h: 8, w: 8, k: 3, pad: .same(1)), seed: 10)
        check(Case(cin: 3, cout: 4, h: 7, w: 9, k: 3, pad: .same(1), bias: false), seed: 11)
        check(Case(cin: 4, cout: 5, h: 8, w: 8, k: 3, s: 2, pad: Padding(top: 0, left: 0, bottom: 1, right: 1)), seed: 12)
        check(Case(cin: 4, cout: 5, h: 9, w: 7, k: 3, s: 2, pad: Padding(top: 0, left: 0, bottom: 1, right: 1)), seed: 13)
        check(Case(cin: 2, cout: 3, h: 6, w: 5, k: 3, s: 2, pad: Padding(top: 2, left: 0, bottom: 1, right: 3)), seed: 14)
        check(Case(cin: 2, cout: 2, h: 5, w: 6, k: 3, s: 1), seed: 15)   // valid, no padding
    }

    func testKernel5And9() {
        check(Case(cin: 3, cout: 4, h: 9, w: 8, k: 5, pad: .same(2)), seed: 20)
        check(Case(cin: 3, cout: 4, h: 9, w: 10, k: 5, s: 2, pad: Padding(top: 1, left: 2, bottom: 2, right: 1)), seed: 21)
        check(Case(cin: 3, cout: 4, h: 11, w: 10, k: 9, pad: .same(4)), seed: 22)   // transfer net conv1
        check(Case(cin: 2, cout: 3, h: 12, w: 9, k: 9, s: 2), seed: 23)
    }

    func testPaddingLargerThanKernel() {
        // Whole output rows/columns fall in the zero border.
        check(Case(cin: 2, cout: 3, h: 4, w: 5, k: 3, s: 2, pad: .same(3)), seed: 24)
        check(Case(cin: 2, cout: 3, h: 3, w: 3, k: 1, s: 1, pad: .same(2)), seed: 25)
    }

    func testGroups() {
        check(Case(cin: 4, cout: 6, h: 7, w: 8, k: 3, pad: .same(1), groups: 2), seed: 30)
        check(Case(cin: 6, cout: 6, h: 8, w: 7, k: 3, s: 2, pad: Padding(top: 0, left: 0, bottom: 1, right: 1), groups: 3), seed: 31)
        check(Case(cin: 4, cout: 4, h: 5, w: 5, k: 1, groups: 2, bias: false), seed: 32)  // grouped 1×1: not the fast path
        // groups == Cin but Cout = 2·Cin (depth multiplier 2): GEMM path, not Depthwise.
        XCTAssertFalse(ConvGeometry(inChannels: 3, outChannels: 6, kernel: 3, groups: 3).isDepthwise)
        check(Case(cin: 3, cout: 6, h: 6, w: 6, k: 3, pad: .same(1), groups: 3), seed: 33)
    }

    func testDepthwise() {
        func dw(_ ch: Int, _ h: Int, _ w: Int, _ k: Int, _ s: Int, _ p: Padding, bias: Bool = true) -> Case {
            Case(cin: ch, cout: ch, h: h, w: w, k: k, s: s, pad: p, groups: ch, bias: bias)
        }
        XCTAssertTrue(ConvGeometry(inChannels: 4, outChannels: 4, kernel: 3, groups: 4).isDepthwise)
        check(dw(4, 8, 8, 3, 1, .same(1)), seed: 40)                                   // 3×3 fast interior
        check(dw(4, 7, 9, 3, 1, .same(1), bias: false), seed: 41)
        check(dw(3, 8, 8, 3, 2, Padding(top: 0, left: 0, bottom: 1, right: 1)), seed: 42)  // TF SAME stride 2
        check(dw(3, 9, 7, 3, 2, Padding(top: 0, left: 0, bottom: 1, right: 1)), seed: 43)
        check(dw(3, 9, 7, 3, 2, .same(1)), seed: 44)
        check(dw(2, 9, 8, 5, 2, Padding(top: 1, left: 2, bottom: 2, right: 1)), seed: 45) // generic k
        check(dw(2, 6, 6, 1, 1, .zero), seed: 46)
        check(dw(2, 2, 3, 3, 1, .same(1)), seed: 47)                                   // image < kernel: no interior
        check(dw(2, 3, 4, 3, 1, .zero), seed: 48)                                      // valid
        check(dw(2, 4, 4, 3, 2, .same(3)), seed: 49)                                   // pad > kernel
        check(dw(5, 11, 10, 9, 1, .same(4)), seed: 50)
    }

    func testLargeEnoughToRunInParallel() {
        // Parallel.forEach only fans out when count · cost ≥ 2^15; these shapes cross that.
        check(Case(cin: 16, cout: 8, h: 24, w: 24, k: 3, pad: .same(1)), seed: 60)
        check(Case(cin: 8, cout: 8, h: 16, w: 16, k: 3, s: 2, pad: .same(1), groups: 8), seed: 61)
    }

    /// Random geometries, including odd sizes and every padding side independently.
    func testRandomGeometries() {
        var rng = SplitMix64(seed: 99)
        let kernels = [1, 3, 5, 9]
        for t in 0..<40 {
            let k = kernels[rng.int(0...3)]
            let s = rng.int(1...2)
            let pad = Padding(top: rng.int(0...k - 1), left: rng.int(0...k - 1),
                              bottom: rng.int(0...k - 1), right: rng.int(0...k - 1))
            let groups = [1, 1, 2, 3][rng.int(0...3)]
            let depthwise = rng.int(0...4) == 0
            let cin = depthwise ? rng.int(2...5) : groups * rng.int(1...3)
            let cout = depthwise ? cin : groups * rng.int(1...3)
            let h = max(k - pad.top - pad.bottom, 1) + rng.int(0...6)
            let w = max(k - pad.left - pad.right, 1) + rng.int(0...6)
            let c = Case(n: rng.int(1...2), cin: cin, cout: cout, h: h, w: w, k: k, s: s, pad: pad,
                         groups: depthwise ? cin : groups, bias: rng.int(0...1) == 1)
            check(c, seed: 1000 + UInt64(t))
        }
    }

    func testIm2ColStride2Padded() {
        var rng = SplitMix64(seed: 7)
        for (h, w, k, pad) in [(7, 8, 3, Padding(top: 0, left: 0, bottom: 1, right: 1)),
                               (6, 5, 3, Padding(top: 1, left: 2, bottom: 0, right: 1)),
                               (9, 9, 5, Padding.same(2)),
                               (4, 4, 3, Padding.same(3))] {
            let C = 3
            let g = ConvGeometry(inChannels: C, outChannels: 1, kernel: k, stride: 2, padding: pad)
            let o = g.outputSize(h: h, w: w)
            let x = (0..<(C * h * w)).map { _ in rng.uniform(-1, 1) }
            let rows = C * k * k
            var cols = [Float](repeating: .nan, count: rows * o.h * o.w)
            x.withUnsafeBufferPointer { xp in
                cols.withUnsafeMutableBufferPointer { cp in
                    Im2Col.forward(xp.baseAddress!, channels: C, h: h, w: w, geometry: g, into: cp.baseAddress!)
                }
            }
            let ref = Naive.im2col(x, channels: C, h: h, w: w, g)
            // A copy, so exact equality.
            assertClose(cols, ref, tol: 0, "im2col \(h)×\(w) k\(k) pad\(pad)")
        }
    }
}

/// Winograd F(4×4, 3×3) (`ExecutionOptions.winograd4x4`) against the nested loops: partial tiles
/// on the right and bottom, rows of more and fewer than eight tiles (the vector and scalar
/// transforms), bands of fixed rows and of the default size, transformed weights given or not,
/// and the reflect-padded input. Tolerance: max abs error ≤ 1e-4 · max(1, max |reference|).
final class Winograd4x4Tests: XCTestCase {
    func testMatchesNaiveConvolution() {
        var rng = SplitMix64(seed: 41)
        var options = ExecutionOptions()
        options.winograd4x4 = true
        for (cin, cout, h, w, bandRows) in [(32, 32, 9, 11, nil), (40, 33, 37, 67, nil), (32, 48, 21, 35, 8), (64, 32, 6, 70, 4)] as [(Int, Int, Int, Int, Int?)] {
            let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: 3, padding: .same(1))
            XCTAssertTrue(Winograd4x4.applies(g, .plain, options))
            let x = randomTensor(2, cin, h, w, &rng)
            let weight = randomTensor(shape: g.weightShape, &rng)
            let bias = randomTensor(shape: [cout], &rng)
            var o = options
            o.bandRows = bandRows
            let ref = Naive.conv(x, weight, bias, g)
            let what = "\(cin)→\(cout) \(h)×\(w) bands \(bandRows.map(String.init) ?? "default")"
            assertClose(Conv2D.forward(x, weight: weight, bias: bias, geometry: g, options: o), ref.values, what)
            let u = Winograd4x4.transformedWeights(weight, geometry: g)
            assertClose(Conv2D.forward(x, weight: weight, bias: bias, geometry: g, options: o, winogradWeights: u), ref.values,
                        what + ", transformed weights given")
        }
        // Reflect padding goes through the same padded band.
        let g = ConvGeometry(inChannels: 32, outChannels: 32, kernel: 3, padding: .same(1))
        let x = randomTensor(1, 32, 19, 41, &rng), weight = randomTensor(shape: g.weightShape, &rng)
        let plain = Conv2D.forward(x, weight: weight, bias: nil, geometry: g, input: ConvInput(reflect: true))
        let fast = Conv2D.forward(x, weight: weight, bias: nil, geometry: g, input: ConvInput(reflect: true), options: options)
        assertClose(fast, plain.array.map(Double.init), "reflect-padded input")
        // Off by default: the engine's other convs keep their kernels.
        XCTAssertFalse(Winograd4x4.applies(g, .plain, .default))
    }
}
