import XCTest
import PasticheCore

/// 2×2 stride-2 max and average pooling (VGG's pools; Magenta's VGG averages instead).
///
/// Forward: against a naive loop over windows, exact (a max and a four-term mean in the same
/// order are the same Float). Backward: central differences of L = Σ r ⊙ pool(x) with a fixed
/// random r, as GradientCheckTests: |analytic − numeric| ≤ 1e-2 · max(1, |numeric|), h = 1e-2,
/// every element checked; dx is pre-filled with random values that are subtracted afterwards,
/// so the test also checks that backward accumulates (+=). Max pooling is piecewise linear, so
/// the only way a difference can miss is an argmax that changes within ±h: inputs are
/// resampled until every window's largest value leads the second by more than 4h (no ties).
final class MaxPoolTests: XCTestCase {
    static let h: Float = 1e-2
    static let tol = 1e-2

    /// Odd sizes exercise the floor (last row/column dropped) and a 1-row output.
    static let shapes: [(n: Int, c: Int, h: Int, w: Int)] = [(2, 3, 6, 8), (1, 2, 5, 7), (2, 1, 3, 2), (1, 1, 2, 2)]

    /// Uniform inputs whose 2×2 windows have a unique maximum, at least 4h above the runner-up.
    func untiedInput(_ s: (n: Int, c: Int, h: Int, w: Int), _ rng: inout SplitMix64) -> Tensor {
        let x = randomTensor(s.n, s.c, s.h, s.w, &rng)
        for j in 0..<(s.n * s.c) {
            for oy in 0..<(s.h / 2) {
                for ox in 0..<(s.w / 2) {
                    let cells = [(2 * oy) * s.w + 2 * ox, (2 * oy) * s.w + 2 * ox + 1,
                                 (2 * oy + 1) * s.w + 2 * ox, (2 * oy + 1) * s.w + 2 * ox + 1].map { j * s.h * s.w + $0 }
                    while true {
                        let v = cells.map { x.data[$0] }.sorted(by: >)
                        if v[0] - v[1] > 4 * Self.h { break }
                        for k in cells { x.data[k] = rng.uniform(-1, 1) }
                    }
                }
            }
        }
        return x
    }

    /// Naive reference: y[n, c, oy, ox] = reduce over the window of x, in Double.
    func naivePool(_ x: Tensor, _ reduce: ([Double]) -> Double) -> [Double] {
        var out: [Double] = []
        for i in 0..<x.n {
            for ch in 0..<x.c {
                for oy in 0..<(x.h / 2) {
                    for ox in 0..<(x.w / 2) {
                        var window: [Double] = []
                        for a in 0..<2 { for b in 0..<2 { window.append(Double(x.data[idx(i, ch, 2 * oy + a, 2 * ox + b, x.c, x.h, x.w)])) } }
                        out.append(reduce(window))
                    }
                }
            }
        }
        return out
    }

    /// Central differences of L(x) = Σ r ⊙ pool(x) against `analytic` (dx minus its pre-fill).
    func checkGradient(_ what: String, x: Tensor, analytic: [Double], loss: () -> Double) {
        var worst = 0.0, worstAt = ""
        for i in 0..<x.count {
            let v = x.data[i]
            let vp = v + Self.h, vm = v - Self.h
            x.data[i] = vp
            let lp = loss()
            x.data[i] = vm
            let lm = loss()
            x.data[i] = v
            let numeric = (lp - lm) / (Double(vp) - Double(vm))
            let err = abs(analytic[i] - numeric) / max(1, abs(numeric))
            if !(err <= worst) { worst = err; worstAt = "[\(i)] analytic \(analytic[i]) numeric \(numeric)" }
        }
        XCTAssert(worst <= Self.tol, "\(what): worst relative error \(worst) > \(Self.tol) at \(worstAt)")
    }

    func dot(_ r: Tensor, _ y: Tensor) -> Double {
        (0..<y.count).reduce(0.0) { $0 + Double(r.data[$1]) * Double(y.data[$1]) }
    }

    func testMaxPoolForwardMatchesNaiveLoop() {
        var rng = SplitMix64(seed: 70)
        for s in Self.shapes {
            let x = randomTensor(s.n, s.c, s.h, s.w, &rng)
            let y = MaxPool2x2.forward(x)
            XCTAssertEqual(y.shape, [s.n, s.c, s.h / 2, s.w / 2])
            assertClose(y.array, naivePool(x) { $0.max()! }, tol: 0, "max pool \(s)")
        }
    }

    func testMaxPoolBackwardFiniteDifferences() {
        var rng = SplitMix64(seed: 71)
        for s in Self.shapes {
            let x = untiedInput(s, &rng)
            let r = randomTensor(s.n, s.c, s.h / 2, s.w / 2, &rng)
            let dx = randomTensor(s.n, s.c, s.h, s.w, &rng)
            let prefill = dx.array
            MaxPool2x2.backward(x, dy: r, dx: dx)
            let analytic = (0..<dx.count).map { Double(dx.data[$0]) - Double(prefill[$0]) }
            checkGradient("max pool \(s)", x: x, analytic: analytic) { dot(r, MaxPool2x2.forward(x)) }
            // Exactly one pixel per window receives its gradient; a dropped odd row/column none.
            let receivers = analytic.filter { $0 != 0 }.count
            XCTAssertEqual(receivers, s.n * s.c * (s.h / 2) * (s.w / 2), "max pool \(s): one receiver per window")
        }
    }

    func testAveragePoolForwardMatchesNaiveLoop() {
        var rng = SplitMix64(seed: 72)
        for s in Self.shapes {
            let x = randomTensor(s.n, s.c, s.h, s.w, &rng)
            let y = AveragePool2x2.forward(x)
            XCTAssertEqual(y.shape, [s.n, s.c, s.h / 2, s.w / 2])
            assertClose(y.array, naivePool(x) { $0.reduce(0, +) / 4 }, tol: 1e-6, "average pool \(s)")
        }
    }

    func testAveragePoolBackwardFiniteDifferences() {
        var rng = SplitMix64(seed: 73)
        for s in Self.shapes {
            let x = randomTensor(s.n, s.c, s.h, s.w, &rng)
            let r = randomTensor(s.n, s.c, s.h / 2, s.w / 2, &rng)
            let dx = randomTensor(s.n, s.c, s.h, s.w, &rng)
            let prefill = dx.array
            AveragePool2x2.backward(dy: r, dx: dx)
            let analytic = (0..<dx.count).map { Double(dx.data[$0]) - Double(prefill[$0]) }
            checkGradient("average pool \(s)", x: x, analytic: analytic) { dot(r, AveragePool2x2.forward(x)) }
        }
    }
}
