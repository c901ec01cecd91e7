import XCTest
import PasticheCore

/// The spatial conditional instance norm (a style per region) against a Double reference:
/// y = act(Σ_r w_r·(γ_r·x̂_r + β_r)) + residual, x̂_r with region r's soft-mask-weighted mean and
/// variance. Tolerance: 1e-4 · max(1, max |reference|), as for the plain norm.
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

    /// Region r's weighted mean and biased variance of channel c, in Double.
    private func weightedMoments(_ x: Tensor, _ weights: Tensor, region r: Int, channel c: Int) -> (mean: Double, variance: Double) {
        let hw = x.h * x.w
        var s0 = 0.0, s1 = 0.0
        for p in 0..<hw { s0 += Double(weights.data[r * hw + p]); s1 += Double(weights.data[r * hw + p]) * Double(x.data[c * hw + p]) }
        let mean = s1 / s0
        var s2 = 0.0
        for p in 0..<hw { let d = Double(x.data[c * hw + p]) - mean; s2 += Double(weights.data[r * hw + p]) * d * d }
        return (mean, s2 / s0)
    }

    func testAgainstReference() {
        var rng = SplitMix64(seed: 31)
        for act in [Activation.none, .relu, .sigmoid] {
            for withResidual in [false, true] {
                for (k, h, w) in [(1, 5, 7), (2, 8, 8), (3, 2, 3), (4, 33, 17)] {
                    let x = randomTensor(1, 3, h, w, &rng, lo: -1, hi: 4)
                    let gamma = randomTensor(shape: [k, 3], &rng, lo: -3, hi: 3)
                    let beta = randomTensor(shape: [k, 3], &rng, lo: -2, hi: 5)
                    let weights = partition(k, h, w, &rng)
                    let res = withResidual ? randomTensor(1, 3, h, w, &rng) : nil
                    // Σ_r w_r·(γ_r·x̂_r + β_r), before the activation and shortcut.
                    let hw = h * w
                    var mixed = [Double](repeating: 0, count: 3 * hw)
                    for r in 0..<k {
                        for c in 0..<3 {
                            let (mean, variance) = weightedMoments(x, weights, region: r, channel: c)
                            for p in 0..<hw {
                                let xhat = (Double(x.data[c * hw + p]) - mean) / (variance + 1e-5).squareRoot()
                                mixed[c * hw + p] += Double(weights.data[r * hw + p])
                                    * (Double(gamma.data[r * 3 + c]) * xhat + Double(beta.data[r * 3 + c]))
                            }
                        }
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

    /// The region moments against Double sums, on planes large enough for the vector blocks
    /// (and a tail), with a mean far from 0 (the shift keeps the variance free of cancellation):
    /// relative error ≤ 1e-5. A region of zero weight takes the image-wide moments, and one whose
    /// weight sums to half a pixel takes half of its own and half of the image-wide ones.
    func testRegionMomentsAgainstDoubleSums() {
        var rng = SplitMix64(seed: 35)
        let (h, w) = (37, 91)
        let x = randomTensor(1, 4, h, w, &rng, lo: 90, hi: 110)
        let weights = partition(3, h, w, &rng)
        let moments = InstanceNorm.regionMoments(x, regionWeights: weights)
        for r in 0..<3 {
            for c in 0..<4 {
                let (mean, variance) = weightedMoments(x, weights, region: r, channel: c)
                XCTAssertEqual(Double(moments[r].mean[c]), mean, accuracy: 1e-5 * abs(mean), "mean r\(r) c\(c)")
                XCTAssertEqual(Double(moments[r].variance[c]), variance, accuracy: 1e-5 * variance, "variance r\(r) c\(c)")
            }
        }
        let hw = h * w
        var sparse = [Float](repeating: 0, count: 2 * hw)
        for p in 0..<hw { sparse[hw + p] = 1 }
        sparse[0] = 0.5; sparse[hw] = 0.5  // region 0: half a pixel, at pixel 0
        let plain = InstanceNorm.moments(x)
        let half = InstanceNorm.regionMoments(x, regionWeights: Tensor(shape: [2, 1, h, w], values: sparse))
        for c in 0..<4 {
            let expectedMean = 0.5 * Double(x.data[c * hw]) + 0.5 * Double(plain.mean[c])
            XCTAssertEqual(Double(half[0].mean[c]), expectedMean, accuracy: 1e-4, "half-pixel region mean c\(c)")
            XCTAssertEqual(Double(half[0].variance[c]), 0.5 * Double(plain.variance[c]), accuracy: 1e-3, "half-pixel region variance c\(c)")
        }
        var empty = [Float](repeating: 0, count: 2 * hw)
        for p in 0..<hw { empty[hw + p] = 1 }
        let none = InstanceNorm.regionMoments(x, regionWeights: Tensor(shape: [2, 1, h, w], values: empty))
        XCTAssertEqual(none[0].mean, plain.mean, "an empty region takes the image-wide mean")
        XCTAssertEqual(none[0].variance, plain.variance, "an empty region takes the image-wide variance")
    }

    /// Each region's normalised output has its own moments: with γ = 1, β = 0 and a hard
    /// two-region split, each half is zero-mean and unit-variance by itself (image-wide moments
    /// would leave the brighter, wider half far from zero mean and unit variance).
    func testEachRegionIsNormalisedByItself() {
        var rng = SplitMix64(seed: 36)
        let (h, w) = (16, 20)
        let x = randomTensor(1, 2, h, w, &rng, lo: 0, hi: 1)
        for p in 0..<(h * w) where p % w >= w / 2 { x.pointer[p] += 5; x.pointer[h * w + p] *= 7 }
        var planes = [Float](repeating: 0, count: 2 * h * w)
        for p in 0..<(h * w) { planes[(p % w < w / 2 ? 0 : 1) * h * w + p] = 1 }
        let y = x.copy()
        InstanceNorm.forward(y, gamma: Tensor(shape: [2, 2], values: [1, 1, 1, 1]), beta: Tensor(shape: [2, 2], values: [0, 0, 0, 0]),
                             regionWeights: Tensor(shape: [2, 1, h, w], values: planes))
        for c in 0..<2 {
            for half in 0..<2 {
                let values = (0..<(h * w)).filter { ($0 % w < w / 2 ? 0 : 1) == half }.map { Double(y.data[c * h * w + $0]) }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                XCTAssertEqual(mean, 0, accuracy: 1e-4, "channel \(c) half \(half) mean")
                XCTAssertEqual(variance, 1, accuracy: 1e-3, "channel \(c) half \(half) variance")
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

    /// The moments hook sees each region's statistics (by region index) and replaces them.
    func testMomentsOverrideApplies() {
        var rng = SplitMix64(seed: 33)
        let x = randomTensor(1, 2, 6, 6, &rng, lo: -1, hi: 3)
        let gamma = randomTensor(shape: [2, 2], &rng), beta = randomTensor(shape: [2, 2], &rng)
        let weights = partition(2, 6, 6, &rng)
        let expectedSeen = InstanceNorm.regionMoments(x, regionWeights: weights)
        let fixedMean: [[Float]] = [[0.5, -0.25], [1, 0]], fixedVariance: [[Float]] = [[2, 0.5], [1, 3]]
        var seen: [Int] = []
        let fixed: InstanceNorm.RegionMomentsOverride = { r, mean, variance in
            XCTAssertEqual(mean, expectedSeen[r].mean)
            XCTAssertEqual(variance, expectedSeen[r].variance)
            seen.append(r)
            return (fixedMean[r], fixedVariance[r])
        }
        let y = x.copy()
        InstanceNorm.forward(y, gamma: gamma, beta: beta, regionWeights: weights, moments: fixed)
        XCTAssertEqual(seen, [0, 1])
        for c in 0..<2 {
            for p in 0..<36 {
                var expected = 0.0
                for r in 0..<2 {
                    let xhat = (Double(x.data[c * 36 + p]) - Double(fixedMean[r][c])) / (Double(fixedVariance[r][c]) + 1e-5).squareRoot()
                    expected += Double(weights.data[r * 36 + p]) * (Double(gamma.data[r * 2 + c]) * xhat + Double(beta.data[r * 2 + c]))
                }
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
