import Foundation
import XCTest
import PasticheImage
import PasticheModels

/// The CLI's foundation: version and help, model info and model errors, stylize to stdout,
/// and the image commands on the repository's sample photos.
final class EngineCLITests: CLITestCase {

    // MARK: 8. Version, help, model

    func testVersionAndHelp() throws {
        let version = try ok(["--version"], withLibrary: false)
        XCTAssertEqual(version.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
        let help = try ok(["--help"], withLibrary: false)
        for sub in ["stylize", "blend", "interpolate", "embed", "model", "image", "bench"] {
            XCTAssertTrue(help.stdoutText.contains("  \(sub) "), "--help should list \(sub):\n\(help.stdoutText)")
        }
        let embedHelp = try ok(["embed", "--help"], withLibrary: false)
        for sub in ["add", "list", "show", "rm", "rename", "tag", "nearest", "export", "import"] {
            XCTAssertTrue(embedHelp.stdoutText.contains("  \(sub) "), "embed --help should list \(sub)")
        }
    }

    /// `bench --json` with onnxruntime in turns (test.sh installs it): both sides' medians, the
    /// ratio between them and GFLOP/s for the predictor case. Timing values are not checked,
    /// only that they are measured and consistent.
    func testBenchJSONHasBothSides() throws {
        let r = try ok(["bench", "--only", "predictor", "--runs", "3", "--json"], withLibrary: false)
        let object = try json(r) as? [String: Double] ?? [:]
        let ours = try XCTUnwrap(object["predict_256_ms"]), theirs = try XCTUnwrap(object["ort_predict_256_ms"])
        XCTAssertGreaterThan(ours, 0)
        XCTAssertGreaterThan(theirs, 0)
        XCTAssertEqual(try XCTUnwrap(object["predict_256_ratio"]), ours / theirs, accuracy: 1e-9)
        let gflop = PredictorArchitecture.standard.flops(h: 256, w: 256) / 1e9
        XCTAssertEqual(try XCTUnwrap(object["predict_256_gflops"]), gflop / (ours / 1000), accuracy: 1e-6)
        XCTAssertNil(object["transfer_384_ms"], "--only predictor times no transfer case")
    }

    func testModelInfoJSON() throws {
        let r = try ok(["model", "info", "--json"], withLibrary: false)
        let info = try json(r) as? [String: Any] ?? [:]
        let tensors = info["tensors"] as? [[String: Any]] ?? []
        XCTAssertEqual(tensors.count, 190)
        XCTAssertEqual(tensors.count, ModelWeights.expectedParameters.count)
        XCTAssertEqual(info["path"] as? String, CLI.modelPath)
        let weights = try ModelWeights.load(path: CLI.modelPath)
        XCTAssertEqual(info["predictor_id"] as? String, weights.predictorID)
        XCTAssertEqual((info["parameters"] as? NSNumber)?.intValue, weights.parameterCount)
        let bias = tensors.first { $0["name"] as? String == "predictor.bottleneck.bias" }
        XCTAssertEqual((bias?["shape"] as? [NSNumber])?.map(\.intValue), [100])
        let names = tensors.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, names.sorted())
    }

    func testMissingAndTruncatedModelFailWithOneLine() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let out = scratch + "/out.png"

        let missing = "/nonexistent.safetensors"
        var line = try fails(["model", "info", "--model", missing], withLibrary: false)
        XCTAssertTrue(line.contains(missing), line)
        line = try fails(["stylize", "--style-image", vangogh, "--model", missing, photo, "-o", out])
        XCTAssertTrue(line.contains(missing), line)
        line = try fails(["embed", "add", vangogh, "--model", missing])
        XCTAssertTrue(line.contains(missing), line)

        let truncated = scratch + "/truncated.safetensors"
        let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: CLI.modelPath)).readData(ofLength: 1000)
        XCTAssertEqual(head.count, 1000)
        try head.write(to: URL(fileURLWithPath: truncated))
        line = try fails(["model", "info", "--model", truncated], withLibrary: false)
        XCTAssertTrue(line.contains(truncated), line)
        line = try fails(["stylize", "--style-image", vangogh, "--model", truncated, photo, "-o", out])
        XCTAssertTrue(line.contains(truncated), line)
        line = try fails(["embed", "add", vangogh, "--model", truncated])
        XCTAssertTrue(line.contains(truncated), line)

        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // A failed `embed add` may create the library directory, but must store nothing.
        if FileManager.default.fileExists(atPath: library + "/data.mdb") {
            XCTAssertEqual(try names(), [])
        }
    }

    func testStylizeToStdoutWritesThePNG() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let toStdout = try ok(["stylize", "--style-image", vangogh, photo, "-o", "-"])
        XCTAssertEqual(Array(toStdout.stdout.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "stdout should be a PNG")
        XCTAssertFalse(toStdout.stderr.contains("wrote"), "nothing but the image: \(toStdout.stderr)")
        let image = try ImageIO.decode([UInt8](toStdout.stdout), name: "<stdout>")
        let input = try ImageIO.read(path: photo)
        XCTAssertEqual(image.width, input.width)
        XCTAssertEqual(image.height, input.height)

        let file = scratch + "/file.png"
        let toFile = try ok(["stylize", "--style-image", vangogh, photo, "-o", file])
        XCTAssertEqual(toFile.stderrLines, ["wrote \(file)"])
        XCTAssertTrue(try decode(file).interleavedRGB8() == image.interleavedRGB8(), "-o - and -o FILE should hold the same pixels")
        XCTAssertFalse(FileManager.default.fileExists(atPath: library + "/data.mdb"), "--style-image must not write the library")
    }

    // MARK: 9. Image commands

    func testImageInfoOnRepositoryImages() throws {
        let png = CLI.repoRoot + "/docs/images/chelsea_cat.png"
        let jpg = CLI.repoRoot + "/docs/images/summer_palace.jpg"
        let r = try ok(["image", "info", "--json", png, jpg], withLibrary: false)
        let entries = try json(r) as? [[String: Any]] ?? []
        XCTAssertEqual(entries.count, 2)
        for (entry, path, format) in zip(zip(entries, [png, jpg]), ["png", "jpeg"]).map({ ($0.0, $0.1, $1) }) {
            let info = try ImageIO.info(path: path)
            XCTAssertEqual(entry["file"] as? String, path)
            XCTAssertEqual((entry["format"] as? String)?.lowercased(), format)
            XCTAssertEqual((entry["width"] as? NSNumber)?.intValue, info.width)
            XCTAssertEqual((entry["height"] as? NSNumber)?.intValue, info.height)
            XCTAssertEqual((entry["channels"] as? NSNumber)?.intValue, info.channels)
            let decoded = try ImageIO.read(path: path)
            XCTAssertEqual(decoded.width, info.orientedSize.width)
        }
        let text = try ok(["image", "info", png], withLibrary: false)
        let info = try ImageIO.info(path: png)
        XCTAssertTrue(text.stdoutText.hasPrefix("\(png): PNG \(info.width)×\(info.height)"), text.stdoutText)
        XCTAssertEqual(text.stdoutText.split(separator: "\n").count, 1)

        // One bad file among good ones: the good ones print, the bad one is the one stderr line.
        let bad = scratch + "/bad.png"
        try Data("nope".utf8).write(to: URL(fileURLWithPath: bad))
        let mixed = try pastiche(["image", "info", png, bad], withLibrary: false)
        XCTAssertNotEqual(mixed.status, 0)
        XCTAssertEqual(mixed.stderrLines.count, 1, mixed.summary)
        XCTAssertTrue(mixed.stderr.contains("bad.png"), mixed.summary)
        XCTAssertTrue(mixed.stdoutText.hasPrefix(png), mixed.stdoutText)
    }

    func testImageConvertMaxSize() throws {
        for source in ["docs/images/chelsea_cat.png", "docs/images/summer_palace.jpg"] {
            let input = try ImageIO.read(path: CLI.repoRoot + "/" + source)
            for ext in ["png", "jpg"] {
                let out = scratch + "/small.\(ext)"
                try ok(["image", "convert", "--max-size", "100", CLI.repoRoot + "/" + source, out], withLibrary: false)
                let info = try ImageIO.info(path: out)
                XCTAssertEqual(info.format, ext == "png" ? .png : .jpeg)
                let small = try decode(out)
                XCTAssertEqual(max(small.width, small.height), 100, "\(source) → \(ext)")
                let longIn = max(input.width, input.height), shortIn = min(input.width, input.height)
                let expectedShort = Double(shortIn) * 100 / Double(longIn)
                XCTAssertEqual(Double(min(small.width, small.height)), expectedShort, accuracy: 1, "\(source) → \(ext) aspect")
                XCTAssertEqual(small.width >= small.height, input.width >= input.height)
            }
        }
        let line = try fails(["image", "convert", "--max-size", "100", scratch + "/missing.png", scratch + "/x.png"], withLibrary: false)
        XCTAssertTrue(line.contains("missing.png"), line)
    }
}
