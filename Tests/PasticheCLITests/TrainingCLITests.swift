import Foundation
import XCTest
import PasticheImage
import PasticheModels

/// `train predictor`, `train distill`, `train report` and `eval` through the CLI on small real
/// images: runs finish, their models work with stylize/eval, resume continues a run, and bad
/// settings fail with one line before any work.
final class TrainingCLITests: CLITestCase {
    /// Folders with two small style images and one small photo (copies of repository images).
    func trainingFolders() throws -> (styles: String, content: String) {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let styles = scratch + "/styles", content = scratch + "/content"
        for d in [styles, content] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try FileManager.default.moveItem(atPath: vangogh, toPath: styles + "/vangogh.png")
        try FileManager.default.moveItem(atPath: hokusai, toPath: styles + "/hokusai.png")
        try FileManager.default.moveItem(atPath: photo, toPath: content + "/cat.png")
        return (styles, content)
    }

    func jsonLines(_ r: CLIResult) -> [[String: Any]] {
        r.stdoutText.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func testDistillWritesAStudentThatStylizesAndEvaluates() throws {
        let (styles, content) = try trainingFolders()
        let student = scratch + "/student.safetensors"
        let r = try ok(["train", "distill", "--styles", styles, "--width", "0.5", "--steps", "3", "--batch", "2",
                        "--size", "64", "-o", student, "--json"], withLibrary: false)
        let steps = jsonLines(r)
        XCTAssertEqual(steps.map { ($0["step"] as? NSNumber)?.intValue ?? -1 }, [1, 2, 3])
        XCTAssert(steps.allSatisfy { (($0["embedding"] as? NSNumber)?.doubleValue ?? -1) > 0 }, r.stdoutText)

        let weights = try ModelWeights.load(path: student)
        XCTAssertEqual(weights.metadata["predictor_width"], "0.5")
        XCTAssertEqual(weights.predictorArchitecture.firstChannels, 16)

        let out = scratch + "/cat.student.png"
        try ok(["stylize", content + "/cat.png", "--style-image", styles + "/vangogh.png", "--model", student, "-o", out],
               withLibrary: false)
        let photo = try decode(content + "/cat.png"), painted = try decode(out)
        XCTAssertEqual([painted.width, painted.height], [photo.width, photo.height])

        // eval --teacher: the student is some distance from the teacher; the teacher is at zero.
        func embeddingMSE(_ model: String) throws -> Double {
            let e = try ok(["eval", "--model", model, "--teacher", CLI.modelPath, "--content", content, "--styles", styles,
                            "--size", "64", "--json"], withLibrary: false)
            let object = try json(e) as? [String: Any] ?? [:]
            XCTAssertNotNil(object["total"], e.stdoutText)
            return (object["embedding_mse"] as? NSNumber)?.doubleValue ?? -1
        }
        XCTAssertGreaterThan(try embeddingMSE(student), 0)
        XCTAssertEqual(try embeddingMSE(CLI.modelPath), 0)
    }

    func testTrainPredictorResumesAndReports() throws {
        let (styles, content) = try trainingFolders()
        let ckpt = scratch + "/ckpt", model = scratch + "/trained.safetensors"
        try ok(["train", "predictor", "--content", content, "--styles", styles, "--steps", "2", "--batch", "1",
                "--size", "32", "-o", model, "--checkpoint-dir", ckpt, "--checkpoint-every", "1"], withLibrary: false)
        let resumed = try ok(["train", "predictor", "--resume", ckpt + "/checkpoint-00000002.safetensors", "--steps", "3",
                              "--json"], withLibrary: false)
        XCTAssertEqual(jsonLines(resumed).map { ($0["step"] as? NSNumber)?.intValue ?? -1 }, [3])
        XCTAssertEqual(try ModelWeights.load(path: model).metadata["trained_steps"], "3")
        let curves = scratch + "/curves.png"
        try ok(["train", "report", ckpt + "/train.jsonl", "-o", curves], withLibrary: false)
        XCTAssertGreaterThan(try decode(curves).width, 100)
    }

    func testBadTrainingSettingsFailWithOneLine() throws {
        let (styles, content) = try trainingFolders()
        let out = scratch + "/never.safetensors"
        let cases: [([String], String)] = [
            (["train", "distill", "--styles", styles, "--width", "0.6", "-o", out], "--width"),
            (["train", "distill", "--styles", styles], "-o"),
            (["train", "distill", "--styles", styles, "--perceptual", "-o", out], "--content"),
            (["train", "distill", "--styles", styles, "--width", "0.5", "--init", "pretrained", "-o", out], "scratch"),
            (["train", "distill", "--styles", styles, "--content", content, "-o", out], "--perceptual"),
            (["train", "distill", "--resume", scratch + "/missing.safetensors"], "no such file"),
            (["train", "predictor", "--content", content, "--styles", styles, "--size", "30", "-o", out], "--size"),
            (["eval", "--content", content, "--styles", styles, "--teacher", scratch + "/none.safetensors"], "none.safetensors"),
        ]
        for (args, mention) in cases {
            let line = try fails(args, withLibrary: false)
            XCTAssert(line.contains(mention), "`pastiche \(args.joined(separator: " "))`: \(line)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
