import Foundation
import PasticheCore
import PasticheImage
@testable import PasticheModels
import XCTest

/// `StrokeScale`: the network paints a copy of the photo at a working resolution, so the look
/// holds across output sizes, and `DetailTransfer` gives the full-size result the photo's fine
/// detail. With the real pretrained model and a real photo.
final class StrokeScaleTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    private static var cached: (Stylizer, [Embedding])?
    private func model() throws -> (Stylizer, [Embedding]) {
        if let c = Self.cached { return c }
        let stylizer = Stylizer(weights: try Reference.weights())
        let styles = try ["s01_vangogh_starry_night.jpg", "s03_hokusai_great_wave.png"]
            .map { stylizer.embedding(style: try ImageIO.read(path: Self.root + "/styles/" + $0)) }
        Self.cached = (stylizer, styles)
        return (stylizer, styles)
    }

    /// The summer palace (640×427) resampled to a long side of `side`.
    private func photo(side: Int) throws -> RGBImage {
        let p = try ImageIO.read(path: Self.root + "/docs/images/summer_palace.jpg")
        let (w, h) = RGBImage.fittedSize(width: p.width * 16, height: p.height * 16, maxSide: side)
        return p.resized(width: w, height: h, filter: .lanczos3)
    }

    private func meanDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height)
        return zip(a.pixels, b.pixels).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(a.pixels.count)
    }

    func testWorkingSizes() {
        let one = StrokeScale.standard
        XCTAssertNil(one.workingSize(width: 512, height: 300), "at the working side: painted as it is")
        XCTAssertNil(one.workingSize(width: 451, height: 300), "below it: painted as it is")
        XCTAssertTrue(one.workingSize(width: 4000, height: 3000)! == (512, 384))
        XCTAssertTrue(one.workingSize(width: 3000, height: 4000)! == (384, 512))
        XCTAssertTrue(StrokeScale.relative(2).workingSize(width: 4000, height: 3000)! == (256, 192))
        XCTAssertTrue(StrokeScale.relative(0.5).workingSize(width: 4000, height: 3000)! == (1024, 768))
        XCTAssertTrue(StrokeScale.relative(0.5).workingSize(width: 300, height: 200)! == (600, 400), "finer strokes on a small photo: a larger copy")
        XCTAssertTrue(StrokeScale.relative(4).workingSize(width: 4000, height: 200)! == (640, 32), "never below 32 px")
        XCTAssertNil(StrokeScale.relative(4).workingSize(width: 100, height: 20), "a tiny photo is painted as it is")
        XCTAssertNil(StrokeScale.native.workingSize(width: 4000, height: 3000))
    }

    func testParsing() {
        XCTAssertEqual(StrokeScale("native"), .native)
        XCTAssertEqual(StrokeScale(" Native "), .native)
        XCTAssertEqual(StrokeScale("1"), .standard)
        XCTAssertEqual(StrokeScale("0.25"), .relative(0.25))
        XCTAssertEqual(StrokeScale("4"), .relative(4))
        for bad in ["0", "0.2", "4.5", "-1", "nan", "inf", "", "big", "1e400"] { XCTAssertNil(StrokeScale(bad), bad) }
        XCTAssertEqual(StrokeScale.relative(2).description, "2")
        XCTAssertEqual(StrokeScale.relative(0.5).description, "0.5")
    }

    /// Photos at or below the working side, and `.native` at any size, are the network on the
    /// photo itself: the same bits as before stroke scales existed.
    func testSmallPhotosAndNativeAreTheNetworkOnThePhoto() throws {
        let (stylizer, styles) = try model()
        let small = try photo(side: 500)
        XCTAssertEqual(stylizer.stylize(small, embedding: styles[0], strokeScale: .standard).pixels,
                       RGBImage(tensor: stylizer.transfer.run(small.tensor, style: stylizer.transfer.styleParameters(
                           Tensor(shape: [1, 100, 1, 1], values: styles[0])))).pixels)
        let large = try photo(side: 700)
        let native = stylizer.stylize(large, embedding: styles[0], strokeScale: .native)
        XCTAssertEqual(native.pixels, RGBImage(tensor: stylizer.transfer.run(large.tensor, style: stylizer.transfer.styleParameters(
            Tensor(shape: [1, 100, 1, 1], values: styles[0])))).pixels)
        let standard = stylizer.stylize(large, embedding: styles[0], strokeScale: .standard)
        XCTAssertEqual([standard.width, standard.height], [large.width, large.height])
        XCTAssertGreaterThan(meanDifference(standard, native), 2.0 / 255, "above the working side the default is not native")
    }

    /// The look of a 512-px render at 2048 px: shrunk back to 512, the full-size render is within
    /// a few levels of the 512-px one, where the native full-size render is a different picture.
    /// Measured: 0.5–0.8 levels against 19–24 (two styles); bounds 3 and 10 levels.
    func testTheLookHoldsAcrossSizes() throws {
        let (stylizer, styles) = try model()
        let preview = try photo(side: 512), full = try photo(side: 2048)
        for (i, style) in styles.enumerated() {
            let small = stylizer.stylize(preview, embedding: style, strokeScale: .standard)
            let big = stylizer.stylize(full, embedding: style, strokeScale: .standard)
            let bigNative = stylizer.stylize(full, embedding: style, strokeScale: .native)
            XCTAssertEqual([big.width, big.height], [full.width, full.height])
            let shrink = { (image: RGBImage) in image.resized(width: preview.width, height: preview.height) }
            let new = meanDifference(shrink(big), small), old = meanDifference(shrink(bigNative), small)
            print(String(format: "style %d: 2048 → 512 against the 512 render: stroke scale 1 %.2f levels, native %.2f", i, new * 255, old * 255))
            XCTAssertLessThan(new, 3.0 / 255)
            XCTAssertGreaterThan(old, 10.0 / 255)
        }
    }

    /// The full-size render keeps the photo's fine detail: on a photo with real detail above
    /// the working resolution (the honey bee, 1620×1280, at twice its size as a camera's photo
    /// is about 4000 px), the luminance above a 4-px Gaussian blur correlates with the photo's,
    /// well above a plain upscale of the working render. Measured 0.36 and 0.43 against 0.07
    /// and 0.10; bounds 0.3 and +0.15.
    func testFullSizeKeepsThePhotosFineDetail() throws {
        let (stylizer, styles) = try model()
        let bee = try ImageIO.read(path: Self.root + "/docs/images/honey_bee.jpg")
        let full = bee.resized(width: 2 * bee.width, height: 2 * bee.height, filter: .lanczos3)
        let size = StrokeScale.standard.workingSize(width: full.width, height: full.height)!
        let working = full.resized(width: size.width, height: size.height)
        for (i, style) in styles.enumerated() {
            let painted = stylizer.stylize(working, embedding: style, strokeScale: .native)
            let new = stylizer.stylize(full, embedding: style, strokeScale: .standard)
            let plain = painted.resized(width: full.width, height: full.height, filter: .lanczos3)
            let detail = Self.detailCorrelation(new, full), plainDetail = Self.detailCorrelation(plain, full)
            print(String(format: "style %d: fine-detail correlation %.3f (plain upscale %.3f)", i, detail, plainDetail))
            XCTAssertGreaterThan(detail, 0.3)
            XCTAssertGreaterThan(detail, plainDetail + 0.15)
        }
    }

    /// Masks are resized with the photo: a two-style render at 2048 px shrunk to 512 matches
    /// the 512-px render with the same masks (measured 0.6 levels; bound 3).
    func testMasksFollowTheWorkingSize() throws {
        let (stylizer, styles) = try model()
        let preview = try photo(side: 512), full = try photo(side: 2048)
        func halves(_ w: Int, _ h: Int) throws -> StyleMasks {
            var left = RGBImage(width: w, height: h)
            for y in 0..<h { for x in 0..<(w / 2) { for c in 0..<3 { left.pixels[c * w * h + y * w + x] = 1 } } }
            var right = RGBImage(width: w, height: h, fill: 1)
            for y in 0..<h { for x in 0..<(w / 2) { for c in 0..<3 { right.pixels[c * w * h + y * w + x] = 0 } } }
            var options = StyleMasks.Options()
            options.feather = Double(w) / 64
            return try StyleMasks(masks: [left, right], width: w, height: h, options: options)
        }
        let small = stylizer.stylize(preview, styles: styles, masks: try halves(preview.width, preview.height), strokeScale: .standard)
        let big = stylizer.stylize(full, styles: styles, masks: try halves(full.width, full.height), strokeScale: .standard)
        let d = meanDifference(big.resized(width: preview.width, height: preview.height), small)
        print(String(format: "masked, 2048 → 512 against the 512 render: %.2f levels", d * 255))
        XCTAssertLessThan(d, 3.0 / 255)
    }

    /// Correlation of the luminance detail (minus a σ = 4 px Gaussian blur) of two images.
    static func detailCorrelation(_ a: RGBImage, _ b: RGBImage) -> Double {
        let x = highPass(StyleMasks.luminance(a), a.width, a.height), y = highPass(StyleMasks.luminance(b), b.width, b.height)
        let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in x.indices { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my) }
        return sxy / (sxx * syy).squareRoot()
    }

    static func highPass(_ plane: [Float], _ w: Int, _ h: Int, sigma: Double = 4) -> [Double] {
        let r = Int((3 * sigma).rounded(.up))
        let taps = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let total = taps.reduce(0, +)
        var rows = [Double](repeating: 0, count: w * h), blurred = rows
        for y in 0..<h { for x in 0..<w {
            var s = 0.0
            for (k, t) in taps.enumerated() { s += t * Double(plane[y * w + min(w - 1, max(0, x + k - r))]) }
            rows[y * w + x] = s / total
        } }
        for y in 0..<h { for x in 0..<w {
            var s = 0.0
            for (k, t) in taps.enumerated() { s += t * rows[min(h - 1, max(0, y + k - r)) * w + x] }
            blurred[y * w + x] = s / total
        } }
        return (0..<(w * h)).map { Double(plane[$0]) - blurred[$0] }
    }
}
