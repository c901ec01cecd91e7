import Foundation
import PasticheCore
import PasticheImage
@testable import PasticheModels
import XCTest
import PasticheTestSupport

/// Big images run every layer in bands of output rows while instance-norm statistics stay
/// image-wide; the output must not depend on the band height (no seams, no style drift).
final class TilingTests: XCTestCase {
    static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testBandedOutputMatchesUntiledAt2048x1536() throws {
        let weights = try Reference.weights()
        let photo = try ImageIO.read(path: Self.repoRoot.path + "/docs/images/summer_palace.jpg")
            .resized(width: 2048, height: 1536)
        let style = Stylizer(weights: weights)
            .embedding(style: try ImageIO.read(path: Self.repoRoot.path + "/styles/s03_hokusai_great_wave.png"))

        // One band per layer: the untiled network.
        let untiled = Stylizer(weights: weights, options: ExecutionOptions(bandRows: 1 << 20)).stylize(photo, embedding: style)
        // Small, odd bands: seams would show at band edges.
        let tiled = Stylizer(weights: weights, options: ExecutionOptions(bandRows: 7)).stylize(photo, embedding: style)

        let maxDiff = maxAbsDifference(untiled, tiled)
        print("2048x1536: banded (7 rows) vs untiled max|Δ| \(maxDiff)")
        XCTAssertEqual(untiled.width, 2048)
        XCTAssertLessThanOrEqual(maxDiff, 0.01)
        // Bands change only summation order inside GEMMs, so the match is far tighter than 0.01.
        XCTAssertLessThanOrEqual(maxDiff, 1e-4)
    }

    /// `--tile` reaches the predictor's blocks too. Each of their outputs is one sum in a fixed
    /// order whatever the band height, so the embedding keeps every bit.
    func testBandRowsReachThePredictorAndChangeNoBit() throws {
        let weights = try Reference.weights()
        let style = try ImageIO.read(path: Self.repoRoot.path + "/styles/s01_vangogh_starry_night.jpg")
        let reference = Stylizer(weights: weights).embedding(style: style)
        for rows in [1, 2, 5, 1 << 20] {
            let banded = Stylizer(weights: weights, options: ExecutionOptions(bandRows: rows)).embedding(style: style)
            XCTAssertEqual(banded, reference, "band rows \(rows)")
        }
    }

    /// The fused path (reflect padding and upsampling inside the unfolding) against explicit
    /// ReflectPad / UpsampleNearest copies followed by a plain convolution.
    func testFusedPaddingAndUpsamplingMatchExplicitOps() {
        var rng = SeededTensors(seed: 7)
        func random(_ shape: [Int]) -> Tensor { rng.tensor(shape) }
        for (k, up, h, w) in [(3, 2, 9, 13), (9, 1, 20, 17), (3, 1, 5, 6), (9, 2, 6, 7)] {
            let x = random([2, 4, h, w]), weight = random([5, 4, k, k]), bias = random([5])
            let g = ConvGeometry(inChannels: 4, outChannels: 5, kernel: k, padding: .same(k / 2))
            for rows in [1, 3, 1000] {
                let fused = Conv2D.forward(x, weight: weight, bias: bias, geometry: g, input: ConvInput(upsample: up, reflect: true),
                                           options: ExecutionOptions(bandRows: rows))
                let upsampled = up > 1 ? UpsampleNearest.forward(x, scale: up) : x
                let padded = ReflectPad.forward(upsampled, .same(k / 2))
                let plain = Conv2D.forward(padded, weight: weight, bias: bias,
                                           geometry: ConvGeometry(inChannels: 4, outChannels: 5, kernel: k))
                XCTAssertEqual(fused.shape, plain.shape)
                let d = maxAbsDifference(fused, plain)
                XCTAssertLessThanOrEqual(d, 1e-5, "k \(k) up \(up) \(h)x\(w) rows \(rows)")
            }
        }
    }
}

/// The direct AVX2 kernel (≤16 output channels, in passes of ≤6) against the im2col + GEMM path
/// on the same inputs: every output-channel count, widths with vector tails, all the ways the
/// transfer network reads its input, with and without bias.
final class DirectConvTests: XCTestCase {
    func testDirectKernelMatchesGemmPath() {
        var rng = SeededTensors(seed: 11)
        func random(_ shape: [Int]) -> Tensor { rng.tensor(shape) }
        var checked = 0
        for cout in 1...16 {
            // Output widths 37, 45, 38, 140 (blocks of 2-6 vectors, last block moved left), 11 and
            // 12 (one vector at a time), 5 (scalar only).
            for (k, cin, h, w, up, reflect) in [(3, 2, 7, 37, 1, true), (9, 3, 12, 45, 1, true), (5, 4, 6, 19, 2, false),
                                                (3, 5, 5, 70, 2, true), (3, 4, 5, 11, 1, false), (9, 2, 10, 6, 2, true),
                                                (3, 3, 6, 5, 1, true)] {
                let x = random([1, cin, h, w]), weight = random([cout, cin, k, k])
                let bias: Tensor? = cout % 5 == 0 ? nil : random([cout])
                let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: k, padding: .same(k / 2))
                let input = ConvInput(upsample: up, reflect: reflect)
                XCTAssertTrue(DirectConv.applies(g, .default))
                let direct = Conv2D.forward(x, weight: weight, bias: bias, geometry: g, input: input)
                var noDirect = ExecutionOptions.default
                noDirect.directConv = false
                let gemm = Conv2D.forward(x, weight: weight, bias: bias, geometry: g, input: input, options: noDirect)
                let d = maxAbsDifference(direct, gemm)
                XCTAssertLessThanOrEqual(d, 1e-4, "cout \(cout) k \(k) cin \(cin) \(h)x\(w) up \(up)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 16 * 7)
    }
}

/// Winograd F(2×2, 3×3) (3×3 stride-1 convs with more than 16 output channels) against the
/// im2col + GEMM path on the same inputs: odd and even sizes (partial 2×2 tiles at the right
/// and bottom edges), zero, reflect and asymmetric padding, bands of 1, 3 and all rows, vector
/// and scalar tile columns, with and without bias. Tolerance 1e-4: F(2, 3) only reorders sums
/// (its transforms multiply by 1 and 1/2).
final class WinogradTests: XCTestCase {
    func testWinogradMatchesGemmPath() {
        var rng = SeededTensors(seed: 12)
        func random(_ shape: [Int]) -> Tensor { rng.tensor(shape) }
        var checked = 0
        let cases: [(n: Int, cin: Int, cout: Int, h: Int, w: Int, pad: Padding, reflect: Bool)] = [
            (1, 32, 32, 24, 40, .same(1), true),     // the residual convs' shape, whole vector groups
            (2, 17, 19, 13, 37, .same(1), true),     // odd sizes: partial tiles, scalar tile columns
            (1, 8, 24, 7, 9, .same(1), false),       // zero padding
            (1, 12, 20, 11, 20, Padding(top: 0, left: 2, bottom: 1, right: 0), false),  // asymmetric
            (1, 32, 17, 5, 5, .zero, false),         // valid: 3×3 output
            (1, 9, 40, 40, 70, .same(1), true),      // more than 6 row passes, wide rows
        ]
        for c in cases {
            let g = ConvGeometry(inChannels: c.cin, outChannels: c.cout, kernel: 3, padding: c.pad)
            XCTAssertTrue(Winograd.applies(g, ConvInput(reflect: c.reflect), .default))
            let x = random([c.n, c.cin, c.h, c.w]), weight = random([c.cout, c.cin, 3, 3])
            let bias: Tensor? = c.cout % 2 == 0 ? random([c.cout]) : nil
            let input = ConvInput(reflect: c.reflect)
            var noWinograd = ExecutionOptions.default
            noWinograd.winograd = false
            let gemm = Conv2D.forward(x, weight: weight, bias: bias, geometry: g, input: input, options: noWinograd)
            for rows in [1, 3, nil] as [Int?] {
                let wino = Conv2D.forward(x, weight: weight, bias: bias, geometry: g, input: input,
                                          options: ExecutionOptions(bandRows: rows))
                XCTAssertEqual(wino.shape, gemm.shape)
                let d = maxAbsDifference(wino, gemm)
                var m: Float = 0
                for i in 0..<gemm.count { m = max(m, abs(gemm.data[i])) }
                XCTAssertLessThanOrEqual(d, 1e-4 * max(1, m), "\(c) rows \(String(describing: rows))")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 18)
    }
}
