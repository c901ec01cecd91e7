import Foundation
import PasticheImage
import PasticheModels
import XCTest

/// `train transfer`: a per-style network (Johnson et al. 2016) that keeps its style.
final class TransferTrainingTests: CLITestCase {
    var content: String { CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures/content" }

    /// The objects of a `--json` run, one per line.
    func stepLines(_ r: CLIResult) -> [[String: Any]] {
        String(decoding: r.stdout, as: UTF8.self).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Fine-tuning starts at the pretrained network with the style's predicted embedding fixed, so
    /// its step 0 is `stylize --style-image` bit for bit; after steps it paints differently, still
    /// with no style flag, and says what it is.
    func testStepZeroIsStylizeAndTheModelKeepsItsStyle() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let untrained = scratch + "/step0.safetensors"
        try ok(["train", "transfer", "--style-image", vangogh, "--content", content, "--steps", "0", "-o", untrained],
               withLibrary: false)
        let reference = scratch + "/reference.png", own = scratch + "/own.png"
        try ok(["stylize", "--style-image", vangogh, photo, "-o", reference], withLibrary: false)
        try ok(["stylize", "--model", untrained, photo, "-o", own], withLibrary: false)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: own)), try Data(contentsOf: URL(fileURLWithPath: reference)),
                       "step 0 paints as stylize --style-image")

        let trained = scratch + "/vangogh.safetensors"
        let run = try ok(["train", "transfer", "--style-image", vangogh, "--content", content, "--steps", "2", "--batch", "2",
                          "--size", "64", "--json", "-o", trained], withLibrary: false)
        let losses = stepLines(run).compactMap { ($0["total"] as? NSNumber)?.doubleValue }
        XCTAssertEqual(losses.count, 2)
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        let painted = scratch + "/trained.png"
        try ok(["stylize", "--model", trained, photo, "-o", painted], withLibrary: false)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: painted)), try Data(contentsOf: URL(fileURLWithPath: reference)),
                          "two steps of training change the painting")
        let weights = try ModelWeights.load(path: trained)
        XCTAssertEqual(weights.kind, .perStyle)
        XCTAssertEqual(weights.ownStyle?.name, "vangogh")
        XCTAssertEqual(weights.predictorID, try ModelWeights.load(path: CLI.modelPath).predictorID, "the predictor is unchanged")
        let info = try ok(["model", "info", "--model", trained], withLibrary: false)
        XCTAssertTrue(String(decoding: info.stdout, as: UTF8.self).contains("per-style model (style 'vangogh')"))
        // --strength still mixes in the photo's own embedding.
        try ok(["stylize", "--model", trained, "--strength", "0.5", photo, "-o", scratch + "/half.png"], withLibrary: false)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: scratch + "/half.png")),
                          try Data(contentsOf: URL(fileURLWithPath: painted)))
        let doctor = try pastiche(["doctor", "--model", trained, "--json"], withLibrary: false)
        let report = try JSONSerialization.jsonObject(with: doctor.stdout) as? [String: Any]
        XCTAssertEqual(report?["model_kind"] as? String, "per-style", doctor.summary)
        XCTAssertEqual(report?["model_style"] as? String, "vangogh")
        // Its ONNX export is one single-input graph with its own style baked in.
        let onnx = scratch + "/vangogh.onnx"
        let export = try ok(["model", "export", "--model", trained, "-o", onnx, "--json"], withLibrary: false)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: export.stdout) as? [String: Any])?["style"] as? String, "vangogh")
        XCTAssertGreaterThan((try FileManager.default.attributesOfItem(atPath: onnx)[.size] as? Int) ?? 0, 100_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: onnx + "/predictor.onnx"))
        // An arbitrary-style model needs a style.
        let line = try fails(["stylize", photo, "-o", scratch + "/none.png"], withLibrary: false)
        XCTAssertTrue(line.contains("--style-image") && line.contains("train transfer"), line)
    }

    func testRandomInitTrainsAndBadInputIsOneLine() throws {
        let (vangogh, hokusai, _) = try styleAndPhoto()
        let out = scratch + "/random.safetensors"
        let run = try ok(["train", "transfer", "--style-image", vangogh, "--content", content, "--init", "random", "--steps", "2",
                          "--batch", "1", "--size", "32", "--json", "-o", out], withLibrary: false)
        XCTAssertEqual(stepLines(run).count, 2)
        XCTAssertEqual(try ModelWeights.load(path: out).kind, .perStyle)

        // A predictor checkpoint resumed as a per-style run, and other bad input: one line, nothing written.
        let ckpt = scratch + "/ckpt"
        try ok(["train", "predictor", "--content", content, "--styles", scratch, "--steps", "1", "--batch", "1", "--size", "32",
                "-o", scratch + "/p.safetensors", "--checkpoint-dir", ckpt, "--checkpoint-every", "1"], withLibrary: false)
        let never = scratch + "/never.safetensors"
        let cases: [([String], String)] = [
            (["train", "transfer", "--resume", ckpt + "/checkpoint-00000001.safetensors"], "train predictor"),
            (["train", "transfer", "--content", content, "-o", never], "--style-image"),
            (["train", "transfer", "--style-image", vangogh, "-o", never], "--content"),
            (["train", "transfer", "--style-image", scratch, "--content", content, "-o", never], "no such image file"),
            (["train", "transfer", "--styles", scratch, "--style-image", vangogh, "--content", content, "-o", never], "--style-image"),
            (["train", "transfer", "--style-image", vangogh, "--content", content, "--init", "bogus", "-o", never], "bogus"),
            (["train", "transfer", "--style-image", vangogh, "--content", content, "-o", vangogh], "is the input"),
        ]
        for (args, expected) in cases {
            let line = try fails(args, withLibrary: false)
            XCTAssertTrue(line.contains(expected), "\(args.joined(separator: " ")): \(line)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
        XCTAssertEqual(try decode(hokusai).width, 300)
    }
}
