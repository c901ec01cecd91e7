import XCTest
import PasticheCore

/// The spatial conditional instance norm (a style per region) against a Double reference:
/// y = act(Σ_r w_r·(γ_r·x̂ + β_r)) + residual, x̂ with the image-wide mean and variance.
/// Tolerance: 1e-4 · max(1, max |reference|), as for the plain norm.
final class SpatialInstanceNormTests: XCTestCase {
    /// Random weight planes that sum to 1 at every pixel, [K, 1, H, W].
    private func partition(_ k: Int, _ h: Int, _ w: Int, _ rng: inout SplitMix64) -> Tensor {
        let raw = randomTensor(k, 1, h, w, &rng, lo: 0, hi: 1)
        for p in 0..<(h * w) {
            var sum: Float = 0
            for r in 0..<k { sum += raw.pointer[r * h * w + p] }
            for r in 0..<k { raw.pointer[r * h * w + p] /= sum }
        }
        return raw
    }

    func testAgainstReference() {
        var rng = SplitMix64(seed: 31)
        for act in [Activation.none, .relu, .sigmoid] {
            for withResidual in [false, true] {
                for (k, h, w) in [(1, 5, 7), (2, 8, 8), (3, 1, 3), (4, 33, 17)] {
                    let x = randomTensor(1, 3, h, w, &rng, lo: -1, hi: 4)
                    let gamma = randomTensor(shape: [k, 3], &rng, lo: -3, hi: 3)
                    let beta = randomTensor(shape: [k, 3], &rng, lo: -2, hi: 5)
                    let weights = partition(k, h, w, &rng)
                    let res = withResidual ? randomTensor(1, 3, h, w, &rng) : nil
                    // Σ_r w_r·(plain norm with region r's γ, β), before the activation and shortcut.
                    let hw = h * w
                    var mixed = [Double](repeating: 0, count: 3 * hw)
                    for r in 0..<k {
                        let g = Tensor(shape: [1, 3], values: Array(gamma.data[(r * 3)..<(r * 3 + 3)]))
                        let b = Tensor(shape: [1, 3], values: Array(beta.data[(r * 3)..<(r * 3 + 3)]))
                        let plain = Naive.instanceNorm(x, gamma: g, beta: b, activation: .none, residual: nil)
                        for c in 0..<3 { for p in 0..<hw { mixed[c * hw + p] += Double(weights.data[r * hw + p]) * plain[c * hw + p] } }
                    }
                    let ref = mixed.indices.map { i in
                        Naive.activation(act, mixed[i]) + (res.map { Double($0.data[i]) } ?? 0)
                    }
                    let y = x.copy()
                    InstanceNorm.forward(y, gamma: gamma, beta: beta, regionWeights: weights, activation: act, residual: res)
                    assertClose(y, ref, "spatial IN \(act) residual=\(withResidual) K=\(k) \(h)×\(w)")
                }
            }
        }
    }

    /// One region of weight 1 is the plain norm bit for bit (the same scale and shift, applied
    /// the same way), and so is a region of weight 1 beside regions of weight 0.
    func testOneFullRegionIsThePlainNormExactly() {
        var rng = SplitMix64(seed: 32)
        for act in [Activation.none, .relu, .sigmoid] {
            let x = randomTensor(1, 4, 9, 300, &rng, lo: -1, hi: 3)   // > 256 pixels: several blocks
            let gamma = randomTensor(shape: [1, 4], &rng, lo: -2, hi: 2)
            let beta = randomTensor(shape: [1, 4], &rng, lo: -2, hi: 2)
            let res = randomTensor(1, 4, 9, 300, &rng)
            let plain = x.copy(), spatial = x.copy()
            InstanceNorm.forward(plain, gamma: gamma, beta: beta, activation: act, residual: res)
            let ones = Tensor(shape: [1, 1, 9, 300], values: [Float](repeating: 1, count: 2700))
            InstanceNorm.forward(spatial, gamma: gamma, beta: beta, regionWeights: ones, activation: act, residual: res)
            XCTAssertEqual(Array(plain.data), Array(spatial.data), "one full region, \(act)")
        }
    }

    /// The moments hook sees and replaces the image-wide statistics, as in the plain norm.
    func testMomentsOverrideApplies() {
        var rng = SplitMix64(seed: 33)
        let x = randomTensor(1, 2, 6, 6, &rng, lo: -1, hi: 3)
        let gamma = randomTensor(shape: [2, 2], &rng), beta = randomTensor(shape: [2, 2], &rng)
        let weights = partition(2, 6, 6, &rng)
        let fixed: InstanceNorm.MomentsOverride = { _, _ in ([0.5, -0.25], [2, 0.5]) }
        let y = x.copy()
        InstanceNorm.forward(y, gamma: gamma, beta: beta, regionWeights: weights, moments: fixed)
        for c in 0..<2 {
            for p in 0..<36 {
                let xhat = (Double(x.data[c * 36 + p]) - [0.5, -0.25][c]) / ([2.0, 0.5][c] + 1e-5).squareRoot()
                var expected = 0.0
                for r in 0..<2 { expected += Double(weights.data[r * 36 + p]) * (Double(gamma.data[r * 2 + c]) * xhat + Double(beta.data[r * 2 + c])) }
                XCTAssertEqual(Double(y.data[c * 36 + p]), expected, accuracy: 1e-5)
            }
        }
    }

    /// 2×2 average pooling (the VGG op, reused for the region planes): the area mean, and a
    /// constant plane stays exactly constant, so a uniform mask stays uniform at every layer.
    func testAveragePoolIsTheAreaMeanAndKeepsConstants() {
        var rng = SplitMix64(seed: 34)
        let x = randomTensor(2, 3, 6, 8, &rng)
        let y = AveragePool2x2.forward(x)
        XCTAssertEqual([y.n, y.c, y.h, y.w], [2, 3, 3, 4])
        for j in 0..<6 { for oy in 0..<3 { for ox in 0..<4 {
            let at = { (dy: Int, dx: Int) in Double(x.data[j * 48 + (2 * oy + dy) * 8 + 2 * ox + dx]) }
            XCTAssertEqual(Double(y.data[j * 12 + oy * 4 + ox]), (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4, accuracy: 1e-6)
        } } }
        for value: Float in [0.1, 1.0 / 3, 0.7, 1] {
            let c = AveragePool2x2.forward(Tensor(shape: [1, 1, 4, 4], values: [Float](repeating: value, count: 16)))
            XCTAssertEqual(Array(c.data), [Float](repeating: value, count: 4), "constant \(value)")
        }
    }
}
