import XCTest
import PasticheCore

/// ReflectPad, UpsampleNearest, GlobalAveragePool, Linear, Activation and Elementwise.addInPlace
/// against nested-loop references. Copies (pad, upsample) must match exactly; reductions
/// within 1e-5 · max(1, max |reference|) (1e-4 for Linear, which accumulates in Float).
final class ElementwiseForwardTests: XCTestCase {
    func testReflectIndexMatchesNumpy() {
        // numpy.pad(np.arange(4), 3, mode="reflect") = [3 2 1 | 0 1 2 3 | 2 1 0]
        XCTAssertEqual((-3..<7).map { ReflectPad.reflect($0, 4) }, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
        // numpy.pad(np.arange(3), 5, mode="reflect") = [1 0 1 2 1 | 0 1 2 | 1 0 1 2 1]
        XCTAssertEqual((-5..<8).map { ReflectPad.reflect($0, 3) }, [1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1])
        XCTAssertEqual((-2..<3).map { ReflectPad.reflect($0, 1) }, [0, 0, 0, 0, 0])
        for size in 1...6 { for i in -15..<20 {
            XCTAssertEqual(ReflectPad.reflect(i, size), Naive.reflectIndex(i, size), "reflect(\(i), \(size))")
        } }
    }

    func testReflectPad() {
        var rng = SplitMix64(seed: 5)
        let cases: [(Int, Int, Padding)] = [
            (5, 4, Padding(top: 3, left: 0, bottom: 1, right: 2)),
            (6, 7, .same(1)),
            (9, 9, .same(4)),                                      // transfer net 9×9 conv
            (5, 6, Padding(top: 0, left: 0, bottom: 3, right: 2)), // pad to a multiple of 4
            (1, 5, Padding(top: 0, left: 2, bottom: 0, right: 1)),
            (3, 2, Padding(top: 4, left: 3, bottom: 5, right: 1)), // pad ≥ size: keeps bouncing
        ]
        for (h, w, p) in cases {
            let x = randomTensor(2, 3, h, w, &rng)
            let y = ReflectPad.forward(x, p)
            XCTAssertEqual([y.n, y.c, y.h, y.w], [2, 3, h + p.top + p.bottom, w + p.left + p.right])
            assertClose(y, Naive.reflectPad(x, p), tol: 0, "reflect pad \(h)×\(w) \(p)")
        }
    }

    func testUpsampleNearest() {
        var rng = SplitMix64(seed: 6)
        for (h, w, s) in [(3, 4, 2), (5, 5, 2), (1, 1, 2), (2, 3, 3), (4, 3, 1)] {
            let x = randomTensor(2, 3, h, w, &rng)
            let y = UpsampleNearest.forward(x, scale: s)
            XCTAssertEqual([y.n, y.c, y.h, y.w], [2, 3, h * s, w * s])
            assertClose(y, Naive.upsample(x, s), tol: 0, "upsample \(h)×\(w) ×\(s)")
        }
        // Parallel path.
        let x = randomTensor(2, 8, 32, 32, &rng)
        assertClose(UpsampleNearest.forward(x, scale: 2), Naive.upsample(x, 2), tol: 0, "upsample large")
    }

    func testGlobalAveragePool() {
        var rng = SplitMix64(seed: 8)
        for (h, w) in [(1, 1), (3, 5), (7, 7), (16, 9)] {
            let x = randomTensor(2, 5, h, w, &rng, lo: -2, hi: 3)
            let y = GlobalAveragePool.forward(x)
            XCTAssertEqual([y.n, y.c, y.h, y.w], [2, 5, 1, 1])
            assertClose(y, Naive.globalAveragePool(x), tol: 1e-6, "GAP \(h)×\(w)")
        }
    }

    func testLinear() {
        var rng = SplitMix64(seed: 9)
        // x as [N, C, 1, 1] (the embedding) and as [N, C, H, W] (flattened per image);
        // weight as the model stores it, [out, in, 1, 1].
        for (c, h, w, outF, bias) in [(100, 1, 1, 32, true), (7, 1, 1, 3, false), (3, 2, 4, 5, true)] {
            let inF = c * h * w
            let x = randomTensor(3, c, h, w, &rng)
            let W = randomTensor(shape: [outF, inF, 1, 1], &rng)
            let b = bias ? randomTensor(shape: [outF], &rng) : nil
            let y = Linear.forward(x, weight: W, bias: b)
            XCTAssertEqual([y.n, y.c, y.h, y.w], [3, outF, 1, 1])
            assertClose(y, Naive.linear(x, W, b, outFeatures: outF), tol: 1e-5, "linear \(c)×\(h)×\(w) → \(outF)")
        }
    }

    func testActivations() {
        var rng = SplitMix64(seed: 11)
        // Small (serial) and large enough for Parallel.forEachChunk to split (> 2 × 16384).
        for shape in [[2, 3, 5, 7], [2, 8, 64, 64]] {
            for act in [Activation.none, .relu, .relu6, .sigmoid] {
                let x = randomTensor(shape: shape, &rng, lo: -9, hi: 9)
                x.data[0] = 0; x.data[1] = 6; x.data[2] = -0.0; x.data[3] = 6.5
                let ref = x.array.map { Naive.activation(act, Double($0)) }
                let y = x.copy()
                act.forward(y)
                assertClose(y, ref, tol: 1e-6, "\(act) forward \(shape)")
                // The scalar apply agrees with the tensor op.
                assertClose(x.array.map { act.apply($0) }, ref, tol: 1e-6, "\(act) apply")
            }
        }
        // Extremes stay finite and saturate.
        let t = Tensor(shape: [4], values: [-100, 100, -Float.greatestFiniteMagnitude, 1e30])
        Activation.sigmoid.forward(t)
        XCTAssertEqual(t.array, [0, 1, 0, 1].map { Float($0) }, accuracy: 1e-30)
    }

    func testAddInPlace() {
        var rng = SplitMix64(seed: 12)
        for shape in [[2, 3, 4, 5], [2, 8, 64, 64]] {
            let a = randomTensor(shape: shape, &rng), b = randomTensor(shape: shape, &rng)
            let ref = zip(a.array, b.array).map { Double($0) + Double($1) }
            Elementwise.addInPlace(a, b)
            assertClose(a, ref, tol: 1e-7, "add \(shape)")
        }
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
