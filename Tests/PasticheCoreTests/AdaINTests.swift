import XCTest
import PasticheCore

/// AdaIN and the channel moments it and its style loss use: forwards against a naive Double
/// reference (unbiased variance + ε, as naoto0804/pytorch-AdaIN), backwards by central
/// differences with `GradientCheckTests.check` (tolerance 1e-2 relative, h = 1e-2).
extension GradientCheckTests {
    /// mean and σ = sqrt(Σ (x − μ)² / (HW − 1) + ε) of every channel, in Double.
    static func referenceMoments(_ x: Tensor) -> (mean: [Double], std: [Double]) {
        let m = x.plane
        var means: [Double] = [], stds: [Double] = []
        for j in 0..<(x.n * x.c) {
            let v = (0..<m).map { Double(x.data[j * m + $0]) }
            let mu = v.reduce(0, +) / Double(m)
            means.append(mu)
            stds.append((v.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(m - 1) + Double(ChannelMoments.epsilon)).squareRoot())
        }
        return (means, stds)
    }

    func testAdaINForwardMatchesTheDefinition() {
        var rng = SplitMix64(seed: 41)
        let c = randomTensor(2, 3, 5, 7, &rng, lo: -2, hi: 3)
        let styleMean = randomTensor(2, 3, 1, 1, &rng), styleStd = randomTensor(2, 3, 1, 1, &rng, lo: 0.2, hi: 2)
        let (mean, std) = ChannelMoments.forward(c)
        let ref = Self.referenceMoments(c)
        for j in 0..<6 {
            XCTAssertEqual(Double(mean.data[j]), ref.mean[j], accuracy: 1e-6)
            XCTAssertEqual(Double(std.data[j]), ref.std[j], accuracy: 1e-6)
        }
        let t = AdaIN.forward(c, styleMean: styleMean, styleStd: styleStd)
        var worst = 0.0
        for j in 0..<6 {
            for i in 0..<35 {
                let expected = Double(styleStd.data[j]) * (Double(c.data[j * 35 + i]) - ref.mean[j]) / ref.std[j] + Double(styleMean.data[j])
                worst = max(worst, abs(Double(t.data[j * 35 + i]) - expected))
            }
        }
        XCTAssertLessThan(worst, 1e-5)
        // The output has the style's statistics (up to ε).
        let out = Self.referenceMoments(t)
        for j in 0..<6 {
            XCTAssertEqual(out.mean[j], Double(styleMean.data[j]), accuracy: 1e-5)
            XCTAssertEqual(out.std[j], Double(styleStd.data[j]), accuracy: 1e-3)
        }
    }

    func testChannelMomentsBackward() {
        var rng = SplitMix64(seed: 42)
        let x = Param("x", randomTensor(2, 4, 3, 5, &rng), &rng)
        let rMean = randomTensor(2, 4, 1, 1, &rng), rStd = randomTensor(2, 4, 1, 1, &rng)
        let (mean, std) = ChannelMoments.forward(x.value)
        ChannelMoments.backward(x.value, mean: mean, std: std, dMean: rMean, dStd: rStd, dx: x.grad)
        check("channel moments", [x], h: 1e-2) {
            let (m, s) = ChannelMoments.forward(x.value)
            return Self.dot(rMean, m) + Self.dot(rStd, s)
        }
    }

    func testAdaINBackward() {
        var rng = SplitMix64(seed: 43)
        let c = Param("content", randomTensor(2, 3, 4, 5, &rng), &rng)
        let sMean = Param("style mean", randomTensor(2, 3, 1, 1, &rng), &rng)
        let sStd = Param("style std", randomTensor(2, 3, 1, 1, &rng, lo: 0.3, hi: 1.5), &rng)
        let r = randomTensor(2, 3, 4, 5, &rng)
        let (mean, std) = ChannelMoments.forward(c.value)
        AdaIN.backward(c.value, mean: mean, std: std, styleStd: sStd.value, dt: r,
                       dContent: c.grad, dStyleMean: sMean.grad, dStyleStd: sStd.grad)
        check("adain", [c, sMean, sStd], h: 1e-2) {
            Self.dot(r, AdaIN.forward(c.value, styleMean: sMean.value, styleStd: sStd.value))
        }
    }

    /// A style per region: one region holding all the weight is plain AdaIN; two hard regions
    /// each take their own style's mean and (unbiased) std over their pixels, whatever the other
    /// holds; a region without a style keeps the content.
    func testAdaINRegionsTakeTheirOwnStatistics() {
        var rng = SplitMix64(seed: 44)
        let c = randomTensor(1, 3, 6, 8, &rng, lo: -2, hi: 3)
        let means = [randomTensor(1, 3, 1, 1, &rng), randomTensor(1, 3, 1, 1, &rng)]
        let stds = [randomTensor(1, 3, 1, 1, &rng, lo: 0.2, hi: 2), randomTensor(1, 3, 1, 1, &rng, lo: 0.2, hi: 2)]
        let whole = Tensor(1, 1, 6, 8)
        whole.fill(1)
        let plain = AdaIN.forward(c, styleMean: means[0], styleStd: stds[0])
        XCTAssertLessThan(maxAbsDiff(AdaIN.forward(c, regionWeights: whole, styleMean: [means[0]], styleStd: [stds[0]]), plain), 1e-5)

        let halves = Tensor(2, 1, 6, 8)
        for y in 0..<6 { for x in 0..<8 { halves.data[(x < 4 ? 0 : 48) + y * 8 + x] = 1 } }
        let t = AdaIN.forward(c, regionWeights: halves, styleMean: means, styleStd: stds)
        for (r, columns) in [(0, 0..<4), (1, 4..<8)] {
            for ch in 0..<3 {
                let v = (0..<6).flatMap { y in columns.map { x in Double(t.data[ch * 48 + y * 8 + x]) } }
                let mu = v.reduce(0, +) / Double(v.count)
                let sd = (v.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
                XCTAssertEqual(mu, Double(means[r].data[ch]), accuracy: 1e-5, "region \(r) mean")
                XCTAssertEqual(sd, Double(stds[r].data[ch]), accuracy: 1e-3, "region \(r) std")
            }
        }
        let kept = AdaIN.forward(c, regionWeights: halves, styleMean: [means[0], nil], styleStd: [stds[0], nil])
        for y in 0..<6 { for x in 4..<8 { XCTAssertEqual(kept.data[y * 8 + x], c.data[y * 8 + x], accuracy: 1e-6) } }
    }

    func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.array, b.array).map { abs($0 - $1) }.max() ?? 0
    }
}

extension GradientCheckTests {
    /// Ceil-mode max pooling (the AdaIN encoder's): odd sizes give a window of their own; the
    /// backward by central differences on untied inputs.
    func testMaxPoolCeilForwardAndBackward() {
        var rng = SplitMix64(seed: 45)
        let x = Param("x", randomTensor(2, 3, 5, 7, &rng), &rng)
        let y = MaxPool2x2.forwardCeil(x.value)
        XCTAssertEqual(y.shape, [2, 3, 3, 4])
        // The last column's windows hold one pixel column; the last row's one pixel row.
        XCTAssertEqual(y.data[3], max(x.value.data[6], x.value.data[13]))
        XCTAssertEqual(y.data[8], max(x.value.data[28], x.value.data[29]))
        let r = randomTensor(2, 3, 3, 4, &rng)
        MaxPool2x2.backwardCeil(x.value, dy: r, dx: x.grad)
        check("max pool ceil", [x], h: 1e-3) { Self.dot(r, MaxPool2x2.forwardCeil(x.value)) }
    }
}
