import XCTest
import PasticheCore

/// Conditional instance norm against a two-pass Double reference.
/// Tolerance: 1e-4 · max(1, max |reference|).
final class InstanceNormForwardTests: XCTestCase {
    func testAgainstReference() {
        var rng = SplitMix64(seed: 21)
        for act in [Activation.none, .relu, .relu6, .sigmoid] {
            for withResidual in [false, true] {
                for (h, w) in [(5, 7), (8, 8), (1, 3)] {
                    // Non-zero mean and non-unit spread, so normalisation actually moves values.
                    let x = randomTensor(2, 3, h, w, &rng, lo: -1, hi: 4)
                    let gamma = randomTensor(shape: [2, 3, 1, 1], &rng, lo: -3, hi: 3)   // per image
                    let beta = randomTensor(shape: [2, 3, 1, 1], &rng, lo: -2, hi: 5)
                    let res = withResidual ? randomTensor(2, 3, h, w, &rng) : nil
                    let ref = Naive.instanceNorm(x, gamma: gamma, beta: beta, activation: act, residual: res)
                    let y = x.copy()
                    InstanceNorm.forward(y, gamma: gamma, beta: beta, activation: act, residual: res)
                    assertClose(y, ref, "IN \(act) residual=\(withResidual) \(h)×\(w)")
                }
            }
        }
    }

    /// Without activation each (image, channel) plane comes out with mean β and standard
    /// deviation |γ|·sqrt(var / (var + ε)) ≈ |γ| (inputs have var ≈ 1, so the ε factor is < 1e-5).
    func testMomentsAfterNormalisation() {
        var rng = SplitMix64(seed: 22)
        let N = 2, C = 4, H = 12, W = 10
        let x = randomTensor(N, C, H, W, &rng, lo: -1.5, hi: 2.5)   // var ≈ 4/3
        let gamma = randomTensor(shape: [N, C], &rng, lo: -2, hi: 2)
        let beta = randomTensor(shape: [N, C], &rng, lo: -3, hi: 3)
        InstanceNorm.forward(x, gamma: gamma, beta: beta)
        let hw = H * W
        for j in 0..<(N * C) {
            let p = Array(x.data[(j * hw)..<((j + 1) * hw)]).map(Double.init)
            let mean = p.reduce(0, +) / Double(hw)
            let std = (p.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(hw)).squareRoot()
            XCTAssertEqual(mean, Double(beta.data[j]), accuracy: 1e-5, "mean of plane \(j)")
            XCTAssertEqual(std, Double(abs(gamma.data[j])), accuracy: 1e-4 * max(1, Double(abs(gamma.data[j]))), "std of plane \(j)")
        }
    }

    /// Per-image parameters: swapping the images' gamma/beta rows swaps the outputs.
    func testGammaBetaArePerImage() {
        var rng = SplitMix64(seed: 23)
        let x1 = randomTensor(1, 2, 4, 4, &rng)
        let x = Tensor(2, 2, 4, 4)
        x.pointer.update(from: x1.pointer, count: 32)
        (x.pointer + 32).update(from: x1.pointer, count: 32)
        let gamma = Tensor(shape: [2, 2], values: [1, 2, -1, 0.5])
        let beta = Tensor(shape: [2, 2], values: [0, 0, 3, -3])
        InstanceNorm.forward(x, gamma: gamma, beta: beta)
        let ref = Naive.instanceNorm(x1, gamma: Tensor(shape: [2], values: [-1, 0.5]),
                                     beta: Tensor(shape: [2], values: [3, -3]), activation: .none, residual: nil)
        assertClose(Array(x.data[32..<64]), ref, "second image uses row 1 of gamma/beta")
    }

    /// A constant plane has zero variance: output is β (no NaN from 0/0).
    func testConstantPlane() {
        let x = Tensor(1, 2, 3, 3)
        for k in 0..<9 { x.data[k] = 2.5; x.data[9 + k] = -1 }
        InstanceNorm.forward(x, gamma: Tensor(shape: [2], values: [4, 4]), beta: Tensor(shape: [2], values: [0.25, -7]))
        assertClose(x, Array(repeating: 0.25, count: 9) + Array(repeating: -7, count: 9), tol: 1e-6, "constant plane")
    }

    /// Large planes (parallel path) with an offset mean.
    func testLargerPlanes() {
        var rng = SplitMix64(seed: 24)
        let x = randomTensor(2, 8, 32, 32, &rng, lo: 2, hi: 5)
        let gamma = randomTensor(shape: [2, 8], &rng), beta = randomTensor(shape: [2, 8], &rng)
        let res = randomTensor(2, 8, 32, 32, &rng)
        let ref = Naive.instanceNorm(x, gamma: gamma, beta: beta, activation: .relu, residual: res)
        InstanceNorm.forward(x, gamma: gamma, beta: beta, activation: .relu, residual: res)
        assertClose(x, ref, "IN large relu+residual")
    }

    /// The vectorised moments (float block sums into Double, values shifted by a sampled mean)
    /// against a Double two-pass reference on planes far longer than one block, including a
    /// mean 10⁴ times the spread, where E[x²] − E[x]² in float would lose every digit.
    /// Tolerance: mean 1e-6 relative to the mean; variance 1e-4 relative.
    func testMomentsOnLongPlanesWithLargeMean() {
        var rng = SplitMix64(seed: 25)
        for (offset, spread, n) in [(0.0, 1.0, 100_003), (1000.0, 0.1, 65_536), (-3.0, 2.0, 4_099), (5.0, 1.0, 31)] {
            let x = Tensor(1, 1, 1, n)
            for k in 0..<n { x.data[k] = Float(offset + spread * Double(rng.uniform(-1, 1))) }
            var mean = 0.0
            for k in 0..<n { mean += Double(x.data[k]) }
            mean /= Double(n)
            var variance = 0.0
            for k in 0..<n { let d = Double(x.data[k]) - mean; variance += d * d }
            variance /= Double(n)
            let (m, v) = InstanceNorm.moments(x)
            XCTAssertEqual(Double(m[0]), mean, accuracy: 1e-6 * max(1, abs(mean)), "mean offset \(offset) n \(n)")
            XCTAssertEqual(Double(v[0]), variance, accuracy: 1e-4 * variance, "variance offset \(offset) n \(n)")
        }
    }
}
