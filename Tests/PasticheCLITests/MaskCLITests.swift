import Foundation
import PasticheImage
import XCTest
import PasticheTestSupport

/// `--mask`, `--masks`, `--invert-mask` and `--feather` on `stylize` and `blend`: the flags
/// mean the same on both, uniform masks are the plain commands, bad masks are one line.
final class MaskCLITests: CLITestCase {
    /// A grey mask PNG of w×h with `value(x, y)` in [0, 1], in the scratch folder.
    private func maskFile(_ name: String, width: Int, height: Int, _ value: (Int, Int) -> Float) throws -> String {
        var m = RGBImage(width: width, height: height)
        for y in 0..<height { for x in 0..<width {
            for c in 0..<3 { m.pixels[c * width * height + y * width + x] = value(x, y) }
        } }
        let path = scratch + "/" + name
        try ImageIO.write(m, to: path)
        return path
    }

    func testUniformMasksAreThePlainCommands() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        // Masks of another size than the 96×64 photo: resized to it.
        let white = try maskFile("white.png", width: 40, height: 30) { _, _ in 1 }
        let black = try maskFile("black.png", width: 200, height: 100) { _, _ in 0 }
        try ok(["stylize", "--style-image", vangogh, photo, "-o", scratch + "/plain.png"])
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", white, "-o", scratch + "/white.out.png"])
        XCTAssertEqual(try decode(scratch + "/white.out.png").pixels, try decode(scratch + "/plain.png").pixels,
                       "a white mask is plain stylize")
        try ok(["stylize", "--style-image", vangogh, photo, "--strength", "0", "-o", scratch + "/zero.png"])
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", black, "-o", scratch + "/black.out.png"])
        XCTAssertEqual(try decode(scratch + "/black.out.png").pixels, try decode(scratch + "/zero.png").pixels,
                       "a black mask is strength 0")

        // Two constant masks 0.3 : 0.7 are that blend (γ/β mixing rounds differently: ≤ 1 level).
        let a = try maskFile("a.png", width: 96, height: 64) { _, _ in 51.0 / 255 }
        let b = try maskFile("b.png", width: 96, height: 64) { _, _ in 119.0 / 255 }
        try ok(["blend", "--styles", "\(vangogh),\(hokusai)", "--weights", "51,119", photo, "-o", scratch + "/blend.png"])
        try ok(["blend", "--styles", "\(vangogh),\(hokusai)", "--masks", "\(a),\(b)", photo, "-o", scratch + "/masked-blend.png"])
        XCTAssertLessThanOrEqual(maxLevelDifference(try decode(scratch + "/masked-blend.png"), try decode(scratch + "/blend.png")), 1)
        // stylize --styles … --masks is the same command as blend --styles … --masks.
        try ok(["stylize", "--styles", "\(vangogh),\(hokusai)", "--masks", "\(a),\(b)", photo, "-o", scratch + "/masked-stylize.png"])
        XCTAssertEqual(try decode(scratch + "/masked-stylize.png").pixels, try decode(scratch + "/masked-blend.png").pixels)
    }

    func testHalfMasksInvertSixteenBitAndTiles() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let left = try maskFile("left.png", width: 96, height: 64) { x, _ in x < 48 ? 1 : 0 }
        let right = try maskFile("right.png", width: 96, height: 64) { x, _ in x < 48 ? 0 : 1 }
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", left, "-o", scratch + "/left.out.png"])
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", right, "--invert-mask", "-o", scratch + "/inv.out.png"])
        let masked = try decode(scratch + "/left.out.png")
        XCTAssertEqual(masked.pixels, try decode(scratch + "/inv.out.png").pixels, "--invert-mask of the right half is the left half")
        try ok(["stylize", "--style-image", vangogh, photo, "-o", scratch + "/plain.png"])
        try ok(["stylize", "--style-image", vangogh, photo, "--strength", "0", "-o", scratch + "/zero.png"])
        let plain = try decode(scratch + "/plain.png"), zero = try decode(scratch + "/zero.png")
        // The styled half looks like the style, the other like strength 0 (sharing statistics).
        func mean(_ x: RGBImage, _ y: RGBImage, _ columns: Range<Int>) -> Double {
            var s = 0.0, n = 0
            for c in 0..<3 { for row in 0..<64 { for col in columns {
                s += Double(abs(x.pixels[c * 96 * 64 + row * 96 + col] - y.pixels[c * 96 * 64 + row * 96 + col])); n += 1
            } } }
            return s / Double(n)
        }
        XCTAssertLessThan(mean(masked, plain, 0..<12), mean(masked, zero, 0..<12))
        XCTAssertLessThan(mean(masked, zero, 84..<96), mean(masked, plain, 84..<96))

        // A 16-bit grey mask (the decoder's fixture) gives what its 8-bit copy gives, within a level.
        let sixteen = CLI.repoRoot + "/Tests/PasticheImageTests/Fixtures/png_grey16.png"
        let eight = scratch + "/grey8.png"
        try ImageIO.write(try ImageIO.read(path: sixteen), to: eight)
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", sixteen, "--feather", "6", "-o", scratch + "/m16.png"])
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", eight, "--feather", "6", "-o", scratch + "/m8.png"])
        XCTAssertLessThanOrEqual(maxLevelDifference(try decode(scratch + "/m16.png"), try decode(scratch + "/m8.png")), 1)

        // --tile with masks: the banded network, within a level of the untiled one.
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", left, "--feather", "10", "-o", scratch + "/untiled.png"])
        try ok(["stylize", "--style-image", vangogh, photo, "--mask", left, "--feather", "10", "--tile", "3", "-o", scratch + "/tiled.png"])
        XCTAssertLessThanOrEqual(maxLevelDifference(try decode(scratch + "/tiled.png"), try decode(scratch + "/untiled.png")), 1)
    }

    func testBadMasksAreOneLineAndTouchNothing() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, "--name", "v"])
        let before = try export()
        let m = try maskFile("m.png", width: 96, height: 64) { x, _ in x < 48 ? 1 : 0 }
        let black = try maskFile("black.png", width: 96, height: 64) { _, _ in 0 }
        let text = scratch + "/notes.png"
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: text))
        let two = "\(vangogh),\(hokusai)"
        let cases: [([String], String)] = [
            (["blend", "--styles", two, "--masks", m, photo], "1 mask for 2 styles"),
            (["stylize", "--styles", two, "--masks", "\(m),\(m),\(m)", photo], "3 masks for 2 styles"),
            (["stylize", "--style", "v", "--mask", text, photo, "-o", scratch + "/o.png"], "notes.png"),
            (["stylize", "--style", "v", "--mask", scratch + "/missing.png", photo, "-o", scratch + "/o.png"], "missing.png"),
            (["blend", "--styles", two, "--masks", "\(black),\(black)", photo, "-o", scratch + "/o.png"], "every mask is black"),
            (["blend", "--styles", two, "--mask", m, photo], "--mask takes one style"),
            (["blend", "--styles", two, "--masks", "\(m),\(m)", "--weights", "1,2", photo], "--weights and --masks"),
            (["blend", "--styles", two, "--masks", "\(m),\(m)", "--save-as", "x", photo], "--save-as"),
            (["blend", "--styles", two, "--masks", "\(m),\(m)", "--invert-mask", photo], "--invert-mask takes one mask"),
            (["stylize", "--style", "v", "--mask", m, "--feather", "-3", photo], "--feather"),
            (["stylize", "--style", "v", "--mask", m, "--feather", "nan", photo], "--feather"),
            (["stylize", "--style", "v", "--feather", "4", photo], "--feather needs"),
            (["stylize", "--style", "v", "--invert-mask", photo], "--invert-mask needs"),
            (["stylize", "--style", "v", "--weights", "1", photo], "--weights goes with --styles"),
            (["stylize", "--style", "v", "--mask", m, "--masks", m, photo], "not both"),
            (["stylize", "--style", "v", "--masks", "\(m),", photo], "comma-separated"),
            (["stylize", "--style", "v", "--mask", m, photo, "-o", m], "is the input"),
        ]
        try assertEachFails(cases)
        XCTAssertEqual(try export(), before, "bad masks leave the library as it was")
        XCTAssertEqual(try decode(m).width, 96, "the mask named as -o is untouched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/o.png"))
    }
}
