import XCTest
@testable import PasticheCore

/// InvertedResidual.forward (MobileNetV2 block: expand 1×1 + ReLU6, 3×3 depthwise + ReLU6,
/// project 1×1, shortcut) against the same block from nested-loop convolutions, on both of its
/// paths: bands of rows per core on large planes (band edges, the rows carried between bands,
/// the split between cores, stride 2, odd sizes that take the padded depthwise) and the split
/// of hidden channels between cores on small planes.
/// Tolerance: 1e-4 · max(1, max |reference|) (float sums in another order).
final class InvertedResidualTests: XCTestCase {
    /// TF "SAME" padding for a 3×3 conv, as the predictor uses it.
    func same(_ h: Int, _ w: Int, _ s: Int) -> Padding { .tfSame(h: h, w: w, kernel: 3, stride: s) }

    func testTFSamePadsTheExtraPixelAtTheEnd() {
        // ONNX's pads for the predictor's stride-2 layers at 256²: [0, 0, 1, 1].
        XCTAssertEqual(same(256, 256, 2), Padding(top: 0, left: 0, bottom: 1, right: 1))
        XCTAssertEqual(same(255, 17, 2), Padding(top: 1, left: 1, bottom: 1, right: 1))
        XCTAssertEqual(same(16, 16, 1), .same(1))
        XCTAssertEqual(Padding.tfSame(h: 9, w: 9, kernel: 1, stride: 1), .zero)
    }

    func reference(_ x: Tensor, _ w: InvertedResidual.Weights, stride: Int, padding: Padding,
                   shortcut: Bool) -> [Double] {
        func relu6(_ r: (shape: [Int], values: [Double])) -> Tensor {
            Tensor(shape: r.shape, values: r.values.map { Float(min(max($0, 0), 6)) })
        }
        let hidden = w.depthwise.weight.shape[0]
        var h = x
        if let e = w.expand {
            h = relu6(Naive.conv(x, e.weight, e.bias, ConvGeometry(inChannels: x.c, outChannels: hidden, kernel: 1)))
        }
        h = relu6(Naive.conv(h, w.depthwise.weight, w.depthwise.bias,
                             ConvGeometry(inChannels: hidden, outChannels: hidden, kernel: 3, stride: stride,
                                          padding: padding, groups: hidden)))
        let cout = w.project.weight.shape[0]
        var y = Naive.conv(h, w.project.weight, w.project.bias,
                           ConvGeometry(inChannels: hidden, outChannels: cout, kernel: 1)).values
        if shortcut { for i in y.indices { y[i] += Double(x.data[i]) } }
        return y
    }

    func check(n: Int = 1, cin: Int, expansion: Int, cout: Int, h: Int, w: Int, stride: Int, bands: [Int?],
               seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SplitMix64(seed: seed)
        let hidden = cin * expansion
        let x = randomTensor(n, cin, h, w, &rng, lo: -2, hi: 2)
        func pair(_ shape: [Int]) -> (weight: Tensor, bias: Tensor) {
            (randomTensor(shape: shape, &rng, lo: -0.5, hi: 0.5), randomTensor(shape: [shape[0]], &rng))
        }
        let weights = InvertedResidual.Weights(expand: expansion == 1 ? nil : pair([hidden, cin, 1, 1]),
                                               depthwise: pair([hidden, 1, 3, 3]), project: pair([cout, hidden, 1, 1]))
        let padding = same(h, w, stride)
        let shortcut = stride == 1 && cin == cout
        let expected = reference(x, weights, stride: stride, padding: padding, shortcut: shortcut)
        for rows in bands {
            let y = InvertedResidual.forward(x, weights: weights, stride: stride, padding: padding, shortcut: shortcut,
                                             options: ExecutionOptions(bandRows: rows))
            let what = "N\(n) \(cin)→\(hidden)→\(cout) \(h)×\(w) s\(stride) band \(rows.map(String.init) ?? "auto")"
            assertClose(y, expected, what, file: file, line: line)
        }
    }

    func testBandedStride1WithShortcut() {
        XCTAssertGreaterThanOrEqual(40 * 40, ExecutionOptions.default.minimumBandedPlane)
        check(cin: 8, expansion: 6, cout: 8, h: 40, w: 40, stride: 1, bands: [nil, 1, 3, 7], seed: 1)
        // Width not a multiple of 8 (padded depthwise), two images.
        check(n: 2, cin: 6, expansion: 4, cout: 6, h: 33, w: 37, stride: 1, bands: [nil, 2], seed: 2)
    }

    func testBandedStride2() {
        // Even sizes (TF pads one row/column after), odd sizes (one before and after).
        check(cin: 8, expansion: 6, cout: 12, h: 64, w: 34, stride: 2, bands: [nil, 1, 2, 5], seed: 3)
        check(cin: 5, expansion: 3, cout: 7, h: 45, w: 37, stride: 2, bands: [nil, 3], seed: 4)
    }

    func testBandedWithoutExpansion() {
        check(cin: 16, expansion: 1, cout: 8, h: 36, w: 36, stride: 1, bands: [nil, 1, 4], seed: 5)
    }

    /// Shapes where the depthwise kernel writes the projection's B panels directly (widths a
    /// multiple of 8, band pixels a multiple of 16), and one where bands alternate between
    /// panels and rows (8 wide: even bands fill whole panels, odd ones do not).
    func testDepthwiseIntoProjectionPanels() {
        check(cin: 8, expansion: 6, cout: 8, h: 40, w: 32, stride: 1, bands: [nil, 1, 2, 3], seed: 9)
        check(cin: 8, expansion: 6, cout: 12, h: 36, w: 64, stride: 2, bands: [nil, 1, 3], seed: 10)
        check(cin: 4, expansion: 6, cout: 4, h: 128, w: 8, stride: 1, bands: [nil, 1, 2, 5], seed: 11)
        check(n: 2, cin: 16, expansion: 6, cout: 24, h: 16, w: 16, stride: 2, bands: [nil], seed: 12)
        check(cin: 16, expansion: 6, cout: 24, h: 6, w: 16, stride: 2, bands: [nil], seed: 13)
    }

    /// The ops whose work is taken in turn by the cores give the same bits on every call
    /// (which core takes which share or band varies; no sum may depend on it): a channel-split
    /// block, a banded one, PooledPointwise, an im2col conv with several bands.
    func testRepeatedCallsAreBitwiseEqual() {
        var rng = SplitMix64(seed: 15)
        func pair(_ shape: [Int]) -> (weight: Tensor, bias: Tensor) {
            (randomTensor(shape: shape, &rng, lo: -0.5, hi: 0.5), randomTensor(shape: [shape[0]], &rng))
        }
        for (h, cin, hidden) in [(8, 32, 192), (48, 8, 48)] {
            let x = randomTensor(1, cin, h, h, &rng, lo: -2, hi: 2)
            let w = InvertedResidual.Weights(expand: pair([hidden, cin, 1, 1]), depthwise: pair([hidden, 1, 3, 3]),
                                             project: pair([cin, hidden, 1, 1]))
            let first = InvertedResidual.forward(x, weights: w, stride: 1, padding: same(h, h, 1), shortcut: true).array
            for _ in 0..<20 {
                XCTAssertEqual(InvertedResidual.forward(x, weights: w, stride: 1, padding: same(h, h, 1),
                                                        shortcut: true).array, first, "block at \(h)²")
            }
        }
        let x = randomTensor(1, 64, 8, 8, &rng), conv = pair([256, 64, 1, 1])
        let rows = PackedRows(conv.weight, columns: 64)
        let pooled = PooledPointwise.forward(x, weight: rows, bias: conv.bias, activation: .relu6).array
        let image = randomTensor(1, 3, 96, 96, &rng), stem = pair([16, 3, 3, 3])
        let g = ConvGeometry(inChannels: 3, outChannels: 16, kernel: 3, stride: 2, padding: Padding(top: 0, left: 0, bottom: 1, right: 1))
        let stemOut = Conv2D.forward(image, weight: stem.weight, bias: stem.bias, geometry: g, activation: .relu6).array
        for _ in 0..<20 {
            XCTAssertEqual(PooledPointwise.forward(x, weight: rows, bias: conv.bias, activation: .relu6).array, pooled)
            XCTAssertEqual(Conv2D.forward(image, weight: stem.weight, bias: stem.bias, geometry: g,
                                          activation: .relu6).array, stemOut)
        }
    }

    /// The many-channel depthwise kernel (zero-bordered copies, even/odd columns at stride 2)
    /// gives the unpadded per-channel kernel's bits: bands of 1–5 rows (top and bottom bands
    /// with their zero rows, rows written as planes when a band is not whole panels), the
    /// channel split at 8² and 16², stride 1 and 2, with and without expand layer; shapes the
    /// kernel does not take (widths not a multiple of 8) fall back to the same code in both.
    func testChannelsDepthwiseKernelGivesTheSameBits() {
        var rng = SplitMix64(seed: 17)
        func pair(_ shape: [Int]) -> (weight: Tensor, bias: Tensor) {
            (randomTensor(shape: shape, &rng, lo: -0.5, hi: 0.5), randomTensor(shape: [shape[0]], &rng))
        }
        let cases: [(n: Int, cin: Int, expansion: Int, cout: Int, h: Int, w: Int, stride: Int, bands: [Int?])] = [
            (1, 8, 6, 8, 40, 32, 1, [nil, 1, 2, 3]), (1, 8, 6, 12, 36, 64, 2, [nil, 1, 3]),
            (1, 4, 6, 4, 128, 8, 1, [nil, 1, 2, 5]), (2, 16, 6, 24, 16, 16, 2, [nil]), (1, 16, 6, 16, 8, 8, 1, [nil]),
            (1, 24, 1, 24, 8, 8, 1, [nil]), (1, 24, 1, 24, 48, 48, 1, [nil, 2]), (1, 16, 6, 24, 6, 16, 2, [nil]),
            (1, 12, 6, 20, 16, 12, 2, [nil]), (1, 8, 6, 8, 33, 20, 1, [nil, 3]),
        ]
        for c in cases {
            let hidden = c.cin * c.expansion
            let x = randomTensor(c.n, c.cin, c.h, c.w, &rng, lo: -2, hi: 2)
            let weights = InvertedResidual.Weights(expand: c.expansion == 1 ? nil : pair([hidden, c.cin, 1, 1]),
                                                   depthwise: pair([hidden, 1, 3, 3]),
                                                   project: pair([c.cout, hidden, 1, 1]))
            let padding = same(c.h, c.w, c.stride), shortcut = c.stride == 1 && c.cin == c.cout
            for rows in c.bands {
                var outputs: [[UInt32]] = []
                for channels in [true, false] {
                    var options = ExecutionOptions(bandRows: rows)
                    options.depthwiseChannelsKernel = channels
                    let y = InvertedResidual.forward(x, weights: weights, stride: c.stride, padding: padding,
                                                     shortcut: shortcut, options: options)
                    outputs.append(y.array.map(\.bitPattern))
                }
                XCTAssertEqual(outputs[0], outputs[1], "N\(c.n) \(c.cin)→\(hidden)→\(c.cout) \(c.h)×\(c.w) "
                               + "s\(c.stride) band \(rows.map(String.init) ?? "auto")")
            }
        }
    }

    func testChannelSplitOnSmallPlanes() {
        XCTAssertLessThan(16 * 12, ExecutionOptions.default.minimumBandedPlane)
        check(cin: 16, expansion: 6, cout: 16, h: 8, w: 8, stride: 1, bands: [nil], seed: 6)
        check(n: 2, cin: 12, expansion: 6, cout: 20, h: 16, w: 12, stride: 2, bands: [nil], seed: 7)
        check(cin: 10, expansion: 1, cout: 10, h: 5, w: 7, stride: 1, bands: [nil], seed: 8)
        check(cin: 24, expansion: 1, cout: 24, h: 8, w: 8, stride: 1, bands: [nil], seed: 14)
    }

    /// A stem (3×3 stride-2 conv + ReLU6) computed band by band inside a block without expand
    /// layer gives the same bits as the conv then the block: the predictor's conv0 and block 0,
    /// at even and odd sizes, two images, several band heights, and a plane small enough that
    /// the block splits channels (the stem then runs on its own first).
    func testStemInsideTheBlockGivesTheSameBits() {
        var rng = SplitMix64(seed: 16)
        func pair(_ shape: [Int]) -> (weight: Tensor, bias: Tensor) {
            (randomTensor(shape: shape, &rng, lo: -0.5, hi: 0.5), randomTensor(shape: [shape[0]], &rng))
        }
        for (n, h, w, bands) in [(1, 128, 128, [nil, 1, 3] as [Int?]), (2, 96, 70, [nil, 2]), (1, 40, 40, [nil])] {
            let image = randomTensor(n, 3, h, w, &rng, lo: 0, hi: 1)
            let conv = pair([32, 3, 3, 3])
            let g = ConvGeometry(inChannels: 3, outChannels: 32, kernel: 3, stride: 2, padding: same(h, w, 2))
            let block = InvertedResidual.Weights(expand: nil, depthwise: pair([32, 1, 3, 3]),
                                                 project: pair([16, 32, 1, 1]))
            let input = Conv2D.forward(image, weight: conv.weight, bias: conv.bias, geometry: g, activation: .relu6)
            let padding = same(input.h, input.w, 1)
            for rows in bands {
                let options = ExecutionOptions(bandRows: rows)
                let separate = InvertedResidual.forward(input, weights: block, stride: 1, padding: padding,
                                                        shortcut: false, options: options)
                let fused = InvertedResidual.forward(image, weights: block, stride: 1, padding: padding, shortcut: false,
                                                     stem: InvertedResidual.Stem(weight: conv.weight, bias: conv.bias,
                                                                                 geometry: g),
                                                     options: options)
                XCTAssertEqual(fused.shape, separate.shape)
                XCTAssertEqual(fused.array, separate.array, "\(n)×3×\(h)×\(w) band \(rows.map(String.init) ?? "auto")")
            }
            // And against nested loops, so the two cannot agree on the same mistake.
            let expected = reference(input, block, stride: 1, padding: padding, shortcut: false)
            assertClose(InvertedResidual.forward(image, weights: block, stride: 1, padding: padding, shortcut: false,
                                                 stem: InvertedResidual.Stem(weight: conv.weight, bias: conv.bias,
                                                                             geometry: g)),
                        expected, "stem + block \(h)×\(w)")
        }
    }
}
