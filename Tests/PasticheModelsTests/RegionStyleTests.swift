import Foundation
import PasticheCore
import PasticheImage
@testable import PasticheModels
import XCTest
import PasticheTestSupport

/// Spatial control with the real pretrained model: a style per region through per-pixel gamma
/// and beta (`Stylizer.stylize(_:styles:masks:)`), each region normalised with its own statistics.
final class RegionStyleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    /// The transfer network's receptive-field radius in photo pixels: 9×9 conv (4), two stride-2
    /// 3×3 convs (1 + 2), ten 3×3 convs at 1/4 (40), two 3×3 convs after the upsamplings (2 + 1),
    /// the last 9×9 conv (4).
    static let receptiveRadius = 54

    private static var cached: (Stylizer, [Embedding])?
    private func model() throws -> (Stylizer, [Embedding]) {
        if let c = Self.cached { return c }
        let stylizer = Stylizer(weights: try Reference.weights())
        let styles = try ["s01_vangogh_starry_night.jpg", "s03_hokusai_great_wave.png", "s02_klimt_the_kiss.png",
                          "s04_kandinsky_composition_viii.png"]
            .map { stylizer.embedding(style: try ImageIO.read(path: Self.root + "/styles/" + $0)) }
        Self.cached = (stylizer, styles)
        return (stylizer, styles)
    }

    private func photo(width: Int, height: Int) throws -> RGBImage {
        try ImageIO.read(path: Self.root + "/docs/images/summer_palace.jpg").resized(width: width, height: height)
    }

    /// A grey mask image (value per pixel from `value(x, y)`).
    private func mask(width: Int, height: Int, _ value: (Int, Int) -> Float) -> RGBImage {
        var m = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width {
            let v = value(x, y)
            for c in 0..<3 { m.pixels[c * width * height + y * width + x] = v }
        } }
        return m
    }

    /// White on the left half and black on the right, and the inverse.
    private func halves(width w: Int, height h: Int) -> (left: RGBImage, right: RGBImage) {
        (mask(width: w, height: h) { x, _ in x < w / 2 ? 1 : 0 }, mask(width: w, height: h) { x, _ in x < w / 2 ? 0 : 1 })
    }

    /// Mean |a − b| over the photo pixels where `inside(x, y)`.
    private func meanDifference(_ a: RGBImage, _ b: RGBImage, where inside: (Int, Int) -> Bool) -> Double {
        var sum = 0.0, n = 0
        let plane = a.width * a.height
        for y in 0..<a.height { for x in 0..<a.width where inside(x, y) {
            for c in 0..<3 { sum += Double(abs(a.pixels[c * plane + y * a.width + x] - b.pixels[c * plane + y * a.width + x])) }
            n += 3
        } }
        return sum / Double(n)
    }

    /// Uniform masks are the plain commands bit for bit: a white mask is `stylize`, a black one
    /// strength 0, a grey one that strength, constant masks 0.3 : 0.7 that blend (masks that do
    /// not vary run the plain network with the mixed embedding).
    func testUniformMasksAreThePlainStylizeBlendAndStrength() throws {
        let (stylizer, styles) = try model()
        let content = try photo(width: 150, height: 101)   // not multiples of 4: padded and cropped
        let (w, h) = (content.width, content.height)
        let own = stylizer.embedding(style: content)
        func masked(_ values: [Float], _ s: [Embedding]) throws -> RGBImage {
            let masks = values.map { v in mask(width: w, height: h) { _, _ in v } }
            return stylizer.stylize(content, styles: s, masks: try StyleMasks(masks: masks, width: w, height: h))
        }
        XCTAssertEqual(try masked([1], [styles[0]]).pixels, stylizer.stylize(content, embedding: styles[0]).pixels, "white = stylize")
        XCTAssertEqual(try masked([0], [styles[0]]).pixels, stylizer.stylize(content, embedding: own).pixels, "black = strength 0")
        XCTAssertEqual(try masked([0.6], [styles[0]]).pixels,
                       stylizer.stylize(content, embedding: EmbeddingMath.withStrength(styles[0], strength: 0.6, own: own)).pixels,
                       "grey 0.6 = strength 0.6")
        let blend = try EmbeddingMath.blend([styles[0], styles[1]], weights: BlendWeights(parsing: "0.3,0.7", count: 2))
        XCTAssertEqual(try masked([0.3, 0.7], [styles[0], styles[1]]).pixels, stylizer.stylize(content, embedding: blend).pixels,
                       "masks 0.3 : 0.7 = blend 0.3,0.7")
    }

    /// The spatial path itself (per-pixel γ/β) with constant planes against the plain network:
    /// Σ w_k·γ(e_k) instead of γ(Σ w_k·e_k) changes only the rounding. Measured max |Δ| 1.1e-6
    /// (strength 0.6) and 1.7e-6 (blend 0.3 : 0.7) on an output in [0, 1]; tolerance 5e-6.
    func testTheSpatialPathWithConstantPlanesIsThePlainNetworkToRounding() throws {
        let (stylizer, styles) = try model()
        let content = try photo(width: 150, height: 101)
        let own = stylizer.embedding(style: content)
        func spatial(_ embeddings: [Embedding], _ weights: [Float]) -> RGBImage {
            let n = content.width * content.height
            let e = Tensor(shape: [embeddings.count, 100, 1, 1], values: embeddings.flatMap { $0 })
            let planes = Tensor(shape: [weights.count, 1, content.height, content.width],
                                values: weights.flatMap { [Float](repeating: $0, count: n) })
            return RGBImage(tensor: stylizer.transfer.run(content.tensor, regions: .init(
                style: stylizer.transfer.styleParameters(e), weights: planes)))
        }
        let one = spatial([styles[0]], [1])
        XCTAssertEqual(one.pixels, stylizer.stylize(content, embedding: styles[0]).pixels, "one region of weight 1: bit for bit")
        let strength = maxAbsDifference(spatial([styles[0], own], [0.6, 1 - 0.6]),
                                     stylizer.stylize(content, embedding: EmbeddingMath.withStrength(styles[0], strength: 0.6, own: own)))
        let blend = maxAbsDifference(spatial([styles[0], styles[1]], [0.3, 0.7]), stylizer.stylize(
            content, embedding: try EmbeddingMath.blend([styles[0], styles[1]], weights: BlendWeights([0.3, 0.7]))))
        print("spatial path, constant planes: strength 0.6 max|Δ| \(strength), blend 0.3/0.7 max|Δ| \(blend)")
        XCTAssertLessThanOrEqual(strength, 5e-6)
        XCTAssertLessThanOrEqual(blend, 5e-6)
    }

    /// Two halves, two styles: further than the receptive field from the seam, each half is
    /// close to that style's own stylization, and far closer to it than to the other style's.
    func testTwoRegionsFollowTheirStylesAwayFromTheSeam() throws {
        let (stylizer, styles) = try model()
        let content = try photo(width: 384, height: 256)
        let (w, h) = (content.width, content.height)
        let (left, right) = halves(width: w, height: h)
        let out = stylizer.stylize(content, styles: [styles[0], styles[1]],
                                   masks: try StyleMasks(masks: [left, right], width: w, height: h))
        let a = stylizer.stylize(content, embedding: styles[0]), b = stylizer.stylize(content, embedding: styles[1])
        let r = Self.receptiveRadius
        let inLeft = { (x: Int, _: Int) in x < w / 2 - r }, inRight = { (x: Int, _: Int) in x >= w / 2 + r }
        let leftToA = meanDifference(out, a, where: inLeft), leftToB = meanDifference(out, b, where: inLeft)
        let rightToB = meanDifference(out, b, where: inRight), rightToA = meanDifference(out, a, where: inRight)
        print(String(format: "two regions, mean |Δ| (8-bit levels) left→A %.2f left→B %.2f right→B %.2f right→A %.2f",
                     leftToA * 255, leftToB * 255, rightToB * 255, rightToA * 255))
        // Each half differs from its own style's render only where the statistics of half a
        // photo differ from the whole photo's (with image-wide statistics, 28–30 levels).
        XCTAssertLessThan(leftToA, 25.0 / 255)
        XCTAssertLessThan(rightToB, 25.0 / 255)
        XCTAssertLessThan(leftToA, 0.5 * leftToB)
        XCTAssertLessThan(rightToB, 0.5 * rightToA)
    }

    /// Every masked region at full strength: the mean gradient magnitude of each half, away from
    /// the seam, is within ±25 % of the whole photo rendered in that half's style. With
    /// image-wide statistics the calm style's half lost most of its texture and the busy one's
    /// doubled (the issue measured −75 % / +115 %).
    func testEachRegionHasItsStyleAtFullStrength() throws {
        let (stylizer, styles) = try model()
        let content = try photo(width: 480, height: 320)
        let (w, h) = (content.width, content.height)
        let (left, right) = halves(width: w, height: h)
        for (first, second) in [(0, 1), (1, 0)] {
            let out = stylizer.stylize(content, styles: [styles[first], styles[second]],
                                       masks: try StyleMasks(masks: [left, right], width: w, height: h))
            let wholeLeft = stylizer.stylize(content, embedding: styles[first])
            let wholeRight = stylizer.stylize(content, embedding: styles[second])
            let third = w / 3
            let l = meanGradient(out, columns: 0..<third) / meanGradient(wholeLeft, columns: 0..<third) - 1
            let r = meanGradient(out, columns: (w - third)..<w) / meanGradient(wholeRight, columns: (w - third)..<w) - 1
            print(String(format: "styles %d | %d: gradient change left %+.1f %%, right %+.1f %%", first, second, l * 100, r * 100))
            XCTAssertLessThan(abs(l), 0.25)
            XCTAssertLessThan(abs(r), 0.25)
        }
    }

    /// Mean magnitude of the luminance gradient (central differences, 8-bit levels) over the
    /// given columns, rows 1..<H−1.
    private func meanGradient(_ image: RGBImage, columns: Range<Int>) -> Double {
        let y = StyleMasks.luminance(image), w = image.width
        var sum = 0.0, n = 0.0
        for row in 1..<(image.height - 1) {
            for x in max(1, columns.lowerBound)..<min(w - 1, columns.upperBound) {
                let gx = Double(y[row * w + x + 1] - y[row * w + x - 1]) / 2 * 255
                let gy = Double(y[(row + 1) * w + x] - y[(row - 1) * w + x]) / 2 * 255
                sum += (gx * gx + gy * gy).squareRoot()
                n += 1
            }
        }
        return sum / n
    }

    /// Four styles in a 2×2 grid: the inside of each quadrant is nearest its own style's
    /// stylization, of the four, by a margin.
    func testAGridOfFourStyles() throws {
        let (stylizer, styles) = try model()
        let content = try photo(width: 320, height: 320)
        let (w, h) = (content.width, content.height)
        let quadrant = { (x: Int, y: Int) in (y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1) }
        let masks = (0..<4).map { q in mask(width: w, height: h) { x, y in quadrant(x, y) == q ? 1 : 0 } }
        let out = stylizer.stylize(content, styles: styles, masks: try StyleMasks(masks: masks, width: w, height: h))
        let plain = styles.map { stylizer.stylize(content, embedding: $0) }
        let r = Self.receptiveRadius
        for q in 0..<4 {
            let inside = { (x: Int, y: Int) in
                quadrant(x, y) == q && abs(x - w / 2) > r && abs(y - h / 2) > r
            }
            let distances = plain.map { meanDifference(out, $0, where: inside) }
            print("quadrant \(q): mean |Δ| to the four styles (levels) \(distances.map { String(format: "%.1f", $0 * 255) })")
            XCTAssertEqual(distances.firstIndex(of: distances.min()!), q, "quadrant \(q) is nearest its own style")
            // Each quadrant is normalised by its own statistics, so it is its style painted on
            // that quadrant's content, not a crop of the whole photo in that style: measured
            // 7.8–46.5 levels to its own against 54.3 and more to the others.
            XCTAssertLessThan(distances[q], 0.9 * distances.enumerated().filter { $0.offset != q }.map(\.element).min()!)
        }
    }

    /// Feathered edges blend. Row-averaged, a stylization still steps where the photo does
    /// (a building's edge); the seam's own step is what the masked output steps beyond both
    /// styles' plain stylizations at the same column. Hard: about 21 levels; feather 48 px:
    /// measured 2.8; asserted at most 4 levels (and shrinking as the feather grows).
    func testFeatheringLeavesNoStepAtTheSeam() throws {
        let (stylizer, styles) = try model()
        let content = try photo(width: 320, height: 213)
        let (w, h) = (content.width, content.height)
        let (left, right) = halves(width: w, height: h)
        /// |Δ| between neighbouring columns of the mean over rows and channels.
        func columnSteps(_ image: RGBImage) -> [Float] {
            let plane = w * h
            let profile = (0..<w).map { x -> Float in
                var s: Float = 0
                for c in 0..<3 { for y in 0..<h { s += image.pixels[c * plane + y * w + x] } }
                return s / Float(3 * h)
            }
            return (0..<(w - 1)).map { abs(profile[$0 + 1] - profile[$0]) }
        }
        let a = columnSteps(stylizer.stylize(content, embedding: styles[0]))
        let b = columnSteps(stylizer.stylize(content, embedding: styles[2]))
        func seamStep(feather: Double) throws -> Float {
            var options = StyleMasks.Options()
            options.feather = feather
            let out = columnSteps(stylizer.stylize(content, styles: [styles[0], styles[2]],
                                                   masks: try StyleMasks(masks: [left, right], width: w, height: h, options: options)))
            return out.indices.map { out[$0] - max(a[$0], b[$0]) }.max()!
        }
        let hard = try seamStep(feather: 0), eight = try seamStep(feather: 8), wide = try seamStep(feather: 48)
        print(String(format: "seam step beyond the plain stylizations: hard %.1f, feather 8 %.1f, feather 48 %.1f levels",
                     hard * 255, eight * 255, wide * 255))
        XCTAssertGreaterThan(hard, 10.0 / 255, "a hard mask makes a visible seam")
        XCTAssertLessThan(wide, eight)
        XCTAssertLessThan(eight, hard)
        XCTAssertLessThanOrEqual(wide, 4.0 / 255)
    }

    /// Banded layers (`--tile`) with masks: the same output as untiled, within TilingTests' 1e-4.
    func testTiledMatchesUntiledWithMasks() throws {
        let (_, styles) = try model()
        let weights = try Reference.weights()
        let content = try photo(width: 258, height: 190)
        let (w, h) = (content.width, content.height)
        let masks = try StyleMasks(masks: [mask(width: w, height: h) { x, y in x + y < 200 ? 1 : 0.2 },
                                           mask(width: w, height: h) { x, _ in Float(x) / Float(w) }],
                                   width: w, height: h)
        let untiled = Stylizer(weights: weights, options: ExecutionOptions(bandRows: 1 << 20))
            .stylize(content, styles: [styles[0], styles[1]], masks: masks)
        let tiled = Stylizer(weights: weights, options: ExecutionOptions(bandRows: 5))
            .stylize(content, styles: [styles[0], styles[1]], masks: masks)
        let d = maxAbsDifference(untiled, tiled)
        print("masks, banded (5 rows) vs untiled max|Δ| \(d)")
        XCTAssertLessThanOrEqual(d, 1e-4)
    }

    /// Video's sampling phase pads the weight planes as it pads the frame: a white mask with a
    /// phase is the phased plain network bit for bit.
    func testPhaseKeepsMasksAligned() throws {
        let (stylizer, styles) = try model()
        let content = try photo(width: 97, height: 66)
        let white = try StyleMasks(masks: [mask(width: 97, height: 66) { _, _ in 1 }], width: 97, height: 66)
        for phase in [(x: 1, y: 2), (x: 3, y: 0)] {
            XCTAssertEqual(stylizer.stylize(content, styles: [styles[1]], masks: white, phase: phase).pixels,
                           stylizer.stylize(content, embedding: styles[1], phase: phase).pixels)
        }
    }
}
