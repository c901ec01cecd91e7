import Foundation
import PasticheCore
import XCTest

/// Inputs a careless or hostile user gives (issue 16, cases 3–6): sizes that would allocate
/// gigabytes, a resume that goes backwards, and outputs that would replace an input or each
/// other. Each must fail before any work with one line, and leave every file as it was.
final class HostileInputTests: CLITestCase {
    func trainingFolders() throws -> (content: String, styles: String) {
        let fixtures = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures"
        return (fixtures + "/content", fixtures + "/styles")
    }

    func sha(_ path: String) throws -> String { SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func testAllocationDrivingFlagsAreBoundedBeforeAnyWork() throws {
        let (content, styles) = try trainingFolders()
        let out = scratch + "/never.safetensors"
        let photo = CLI.repoRoot + "/docs/images/chelsea_cat.png"
        let cases: [([String], String)] = [
            (["train", "predictor", "--content", content, "--styles", styles, "--size", "100000", "-o", out], "--size"),
            (["train", "distill", "--styles", styles, "--size", "100000", "-o", out], "--size"),
            (["eval", "--content", content, "--styles", styles, "--size", "100000"], "--size"),
            (["train", "predictor", "--content", content, "--styles", styles, "--batch", "100000", "-o", out], "--batch"),
            (["train", "distill", "--styles", styles, "--batch", "1000", "--size", "2048", "-o", out], "memory"),
            (["train", "predictor", "--content", content, "--styles", styles, "--steps", "-1", "-o", out], "--steps"),
            (["train", "predictor", "--content", content, "--styles", styles, "--steps", "1000000000", "-o", out], "--steps"),
            (["stylize", "--style-image", photo, photo, "--max-size", "100000000", "-o", scratch + "/x.png"], "--max-size"),
            (["stylize", "--style-image", photo, photo, "--tile", "100000000", "-o", scratch + "/x.png"], "--tile"),
            (["interpolate", "--from", photo, "--to", photo, "--steps", "100000", photo, "-o", scratch + "/x.png"], "--steps"),
        ]
        for (args, mention) in cases {
            let line = try fails(args, withLibrary: false)
            XCTAssert(line.contains(mention), "`pastiche \(args.joined(separator: " "))`: \(line)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/x.png"))
    }

    func testResumeWithFewerStepsThanDoneIsRejected() throws {
        let (content, styles) = try trainingFolders()
        let ckpt = scratch + "/ckpt"
        try ok(["train", "predictor", "--content", content, "--styles", styles, "--steps", "2", "--batch", "1",
                "--size", "32", "-o", scratch + "/m.safetensors", "--checkpoint-dir", ckpt, "--checkpoint-every", "2"],
               withLibrary: false)
        let checkpoint = ckpt + "/checkpoint-00000002.safetensors"
        let before = try sha(checkpoint)
        let line = try fails(["train", "predictor", "--resume", checkpoint, "--steps", "1"], withLibrary: false)
        XCTAssert(line.contains("2 steps") && line.contains("--steps"), line)
        XCTAssertEqual(try sha(checkpoint), before)
    }

    func testNoOutputReplacesAnInputOrAnotherOutput() throws {
        let a = scratch + "/a", b = scratch + "/b"
        try FileManager.default.createDirectory(atPath: a, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: b, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.repoRoot + "/docs/images/chelsea_cat.png", toPath: a + "/cat.png")
        try FileManager.default.copyItem(atPath: CLI.repoRoot + "/Tests/PasticheImageTests/Fixtures/real_brick_gray.png",
                                         toPath: b + "/cat.png")
        try FileManager.default.createSymbolicLink(atPath: scratch + "/link.png", withDestinationPath: a + "/cat.png")
        let style = CLI.repoRoot + "/styles/s03_hokusai_great_wave.png"
        let hashes = [try sha(a + "/cat.png"), try sha(b + "/cat.png")]

        // Two photos named cat.png from two folders: two outputs, the second numbered.
        let outDir = scratch + "/out"
        let r = try ok(["stylize", "--style-image", style, a + "/cat.png", b + "/cat.png", "-o", outDir, "--max-size", "96"],
                       withLibrary: false)
        let written = try FileManager.default.contentsOfDirectory(atPath: outDir).sorted()
        XCTAssertEqual(written, ["cat-2.png", "cat.png"], r.stderr)
        XCTAssertNotEqual(try sha(outDir + "/cat.png"), try sha(outDir + "/cat-2.png"))

        // -o naming an input, directly, through ./.., through a symlink; image convert; model import.
        let refused: [[String]] = [
            ["stylize", "--style-image", style, a + "/cat.png", "-o", a + "/cat.png"],
            ["stylize", "--style-image", style, a + "/cat.png", "-o", a + "/../a/cat.png"],
            ["stylize", "--style-image", style, a + "/cat.png", "-o", scratch + "/link.png"],
            ["stylize", "--style-image", style, a + "/cat.png", b + "/cat.png", "-o", b],
            ["blend", "--styles", style, a + "/cat.png", "-o", a + "/cat.png"],
            ["image", "convert", a + "/cat.png", a + "/cat.png"],
            ["image", "convert", a + "/cat.png", scratch + "/link.png"],
        ]
        for args in refused {
            let line = try fails(args, withLibrary: args[0] == "blend")
            XCTAssert(line.contains("is the input"), "`pastiche \(args.joined(separator: " "))`: \(line)")
        }
        XCTAssertEqual([try sha(a + "/cat.png"), try sha(b + "/cat.png")], hashes)

        // Several photos to -o NAME.png: refused, no folder of that name made.
        let line = try fails(["stylize", "--style-image", style, a + "/cat.png", b + "/cat.png", "-o", scratch + "/two.png"],
                             withLibrary: false)
        XCTAssert(line.contains("two.png"), line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/two.png"))

        // model import -o one of the ONNX files.
        let onnx = CLI.home.predictONNX
        if FileManager.default.fileExists(atPath: onnx) {
            let copy = scratch + "/predict.onnx"
            try FileManager.default.copyItem(atPath: onnx, toPath: copy)
            let before = try sha(copy)
            let l = try fails(["model", "import", copy, CLI.home.transformONNX, "-o", copy], withLibrary: false)
            XCTAssert(l.contains("is the input"), l)
            XCTAssertEqual(try sha(copy), before)
        }
    }
}
