import Foundation
import PasticheCore
import PasticheImage
@testable import PasticheLibrary
import XCTest

/// What a new user runs into (issue 16, "usability and data safety"): names that are ignored,
/// checks made after the work, partial files, logs that jump back, and flags one command has
/// and its sibling lacks.
final class UsabilityTests: CLITestCase {
    /// The same pixels added with a new name are stored under that name too (issue 29): the
    /// old name is not taken away.
    func testAddingStoredPixelsWithANewNameKeepsTheOldName() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        try ok(["embed", "add", vangogh])
        XCTAssertEqual(try names(), ["vangogh"])
        let r = try ok(["embed", "add", vangogh, "--name", "wave", "--tag", "japanese"])
        XCTAssertTrue(r.stdoutText.hasPrefix("wave\treused"), r.stdoutText)
        // The old name stays (an add takes no name away); the new one has the same embedding.
        XCTAssertEqual(try names().sorted(), ["vangogh", "wave"])
        XCTAssertEqual(try names(tag: "japanese"), ["wave"])
        let show = { (name: String) throws -> [Double] in
            let json = try JSONSerialization.jsonObject(with: try self.ok(["embed", "show", name, "--json", "--vector"]).stdout) as! [String: Any]
            return json["embedding"] as! [Double]
        }
        XCTAssertEqual(try show("wave"), try show("vangogh"))
        try ok(["embed", "add", vangogh, "--name", "wave"])
        XCTAssertEqual(try names().sorted(), ["vangogh", "wave"], "the same name again is that record")
        try ok(["embed", "add", try smallCopy(of: "styles/s03_hokusai_great_wave.png", as: "other.png", maxSide: 200), "--name", "other"])
        XCTAssertTrue(try fails(["embed", "add", vangogh, "--name", "other"]).contains("other"), "a name held by other pixels is taken")
        XCTAssertEqual(try names().sorted(), ["other", "vangogh", "wave"])
    }

    func testKeepGoingSkipsBadFilesAndStoresTheRest() throws {
        let folder = scratch + "/mixed"
        try noiseImages(count: 3, in: folder, prefix: "good", seed: 9)
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: folder + "/m-bad.jpg"))
        let r = try pastiche(["embed", "add", folder, "--keep-going"])
        XCTAssertNotEqual(r.status, 0, r.summary)
        XCTAssertFalse(r.signaled)
        XCTAssertEqual(try names().count, 3)
        XCTAssertTrue(r.stderrLines.contains { $0.contains("skipped") && $0.contains("m-bad.jpg") }, r.summary)
        XCTAssertTrue(r.stderrLines.last?.contains("1 of 4") ?? false, r.summary)
    }

    func testBlendSaveAsATakenNameFailsBeforePainting() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, hokusai])
        try ok(["blend", "--styles", "vangogh,hokusai", "--save-as", "mix"])
        let out = scratch + "/never.png"
        let line = try fails(["blend", "--styles", "vangogh,hokusai", photo, "-o", out, "--save-as", "mix"])
        XCTAssertTrue(line.contains("mix"), line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // Negative weights are a clear error, not "missing value".
        let negative = try fails(["blend", "--styles", "vangogh,hokusai", "--weights", "-1,2", photo, "-o", out])
        XCTAssertTrue(negative.contains("non-negative"), negative)
    }

    func testMissingLibraryIsAnEmptyListAndIsNotCreated() throws {
        let missing = scratch + "/no-library"
        let list = try ok(["embed", "list", "--json"], library: missing)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: list.stdout) as? [Any])?.count, 0)
        for args in [["embed", "rm", "x"], ["embed", "export", scratch + "/e.json"], ["embed", "tag", "x", "t"],
                     ["embed", "rename", "x", "y"]] {
            _ = try fails(args, library: missing)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
    }

    func testTrainingOutputAndPackAreCheckedBeforeTheWork() throws {
        let fixtures = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures"
        let dir = scratch + "/existing-dir"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let line = try fails(["train", "predictor", "--content", fixtures + "/content", "--styles", fixtures + "/styles",
                              "--steps", "1", "--batch", "1", "--size", "32", "-o", dir], withLibrary: false)
        XCTAssertTrue(line.contains("directory"), line)

        // data pack on a folder with a bad image: no partial pack left, and a rerun after the
        // fix is not told the pack "already exists".
        let folder = scratch + "/pack-in"
        try noiseImages(count: 2, in: folder, prefix: "ok", seed: 3)
        let bad = folder + "/z-bad.png"
        try Data("broken".utf8).write(to: URL(fileURLWithPath: bad))
        let pack = scratch + "/images.lmdb"
        _ = try fails(["data", "pack", folder, "-o", pack], withLibrary: false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pack))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.contains("partial") }, [])
        try FileManager.default.removeItem(atPath: bad)
        try ok(["data", "pack", folder, "-o", pack], withLibrary: false)
    }

    func testResumedLogDropsTheKilledRunsLaterSteps() throws {
        let fixtures = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures"
        let ckpt = scratch + "/ckpt"
        try ok(["train", "predictor", "--content", fixtures + "/content", "--styles", fixtures + "/styles", "--steps", "4",
                "--batch", "1", "--size", "32", "-o", scratch + "/m.safetensors", "--checkpoint-dir", ckpt,
                "--checkpoint-every", "2"], withLibrary: false)
        // As if killed after step 4 with its last checkpoint at 2, leaving a checkpoint write behind.
        let stale = ckpt + "/.checkpoint-00000003.safetensors.tmp.999999"
        try Data("partial".utf8).write(to: URL(fileURLWithPath: stale))
        try ok(["train", "predictor", "--resume", ckpt + "/checkpoint-00000002.safetensors", "--steps", "4"], withLibrary: false)
        let steps = try String(contentsOfFile: ckpt + "/train.jsonl", encoding: .utf8).split(separator: "\n").map { line in
            ((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? NSNumber)?.intValue ?? -1
        }
        XCTAssertEqual(steps, [1, 2, 3, 4])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
    }

    func testPreserveColorAndStrengthOnStylizeAndInterpolate() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let kept = scratch + "/kept.png", plain = scratch + "/plain.png"
        try ok(["stylize", "--style-image", vangogh, photo, "-o", kept, "--preserve-color"], withLibrary: false)
        try ok(["stylize", "--style-image", vangogh, photo, "-o", plain], withLibrary: false)
        let source = try decode(photo)
        /// Mean |ΔCb| + |ΔCr| (BT.601) between the photo and a result.
        func chromaChange(_ path: String) throws -> Float {
            let result = try decode(path)
            func cbcr(_ p: (r: Float, g: Float, b: Float)) -> (Float, Float) {
                (-0.168736 * p.r - 0.331264 * p.g + 0.5 * p.b, 0.5 * p.r - 0.418688 * p.g - 0.081312 * p.b)
            }
            var sum: Float = 0
            for y in 0..<source.height {
                for x in 0..<source.width {
                    let a = cbcr(source.pixel(x: x, y: y)), b = cbcr(result.pixel(x: x, y: y))
                    sum += abs(a.0 - b.0) + abs(a.1 - b.1)
                }
            }
            return sum / Float(source.width * source.height)
        }
        let keptChange = try chromaChange(kept), plainChange = try chromaChange(plain)
        print("chroma change: --preserve-color \(keptChange), plain \(plainChange)")
        XCTAssertLessThan(keptChange, 0.02)
        XCTAssertGreaterThan(plainChange, 3 * keptChange)
        // At strength 0 the photo's own embedding is used at every step: every frame the same.
        let frames = scratch + "/frames"
        try ok(["interpolate", "--from", vangogh, "--to", hokusai, "--steps", "3", "--strength", "0", photo,
                "--frames", frames])
        let first = try Data(contentsOf: URL(fileURLWithPath: frames + "/frame-000.png"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: frames + "/frame-002.png")), first)
        try ok(["interpolate", "--from", vangogh, "--to", hokusai, "--steps", "3", photo, "--frames", frames,
                "--preserve-color"])
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: frames + "/frame-002.png")),
                          try Data(contentsOf: URL(fileURLWithPath: frames + "/frame-000.png")))
    }

    func testMisspeltOptionIsReportedAsSuch() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let line = try fails(["stylize", "--styel", vangogh, photo])
        XCTAssertTrue(line.contains("Unknown option '--styel'") && line.contains("--style"), line)
        let blend = try fails(["blend", "--stylez", "a", photo])
        XCTAssertTrue(blend.contains("Unknown option '--stylez'"), blend)
    }

    func testContactSheetPagesAndSurvivesABadThumbnail() throws {
        let folder = scratch + "/styles"
        try noiseImages(count: 5, in: folder, prefix: "s", seed: 21)
        try ok(["embed", "add", folder])
        // One record's thumbnail replaced by bytes that are no image.
        let store = try StyleStore(path: library)
        var r = try store.list()[2]
        r.thumbnail = Array("not a jpeg".utf8)
        _ = try store.writing { txn in try txn.put(store.styles, StyleStore.key(r.name), r.encoded()) }
        let out = scratch + "/sheet.png"
        try ok(["embed", "sheet", "-o", out, "--per-page", "2"])
        for k in 1...3 { XCTAssertGreaterThan(try decode(scratch + "/sheet-\(k).png").width, 100) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/sheet-4.png"))
        let pipe = try fails(["embed", "sheet", "-o", "-", "--per-page", "2"])
        XCTAssertTrue(pipe.contains("3 pages"), pipe)
    }

    /// Foundation's file errors reach the user as "PATH: reason", never as an error-domain dump.
    func testFileSystemErrorsAreOneReadableLine() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let file = scratch + "/plain-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        let line = try fails(["stylize", "--style-image", vangogh, photo, hokusai, "-o", file + "/out"], withLibrary: false)
        XCTAssertFalse(line.contains("Domain") || line.contains("Code="), line)
        XCTAssertTrue(line.contains(file) && line.contains("Not a directory"), line)
    }

    /// Issue 29's rough edges: a mistyped command names the closest one, a blend's record does
    /// not show a 0×0 source image, and only `image convert` mentions --max-pixels.
    func testMistypedCommandsBlendSourcesAndPixelLimits() throws {
        for (args, expected) in [(["stylze", "x.jpg"], "Did you mean 'stylize'?"), (["embed", "lst"], "Did you mean 'list'?"),
                                 (["optimise", "x.jpg"], "Did you mean 'optimize'?"), (["modle", "fetch"], "Did you mean 'model'?"),
                                 (["frobnicate"], "is not a command of pastiche.")] {
            let line = try fails(args, withLibrary: false)
            XCTAssertTrue(line.contains(expected), "\(args): \(line)")
            XCTAssertTrue(line.contains("Commands: "), line)
        }
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, hokusai])
        try ok(["blend", "--styles", "vangogh,hokusai", "--save-as", "mix"])
        let show = try ok(["embed", "show", "mix"])
        XCTAssertFalse(show.stdoutText.contains("0×0"), show.stdoutText)
        XCTAssertTrue(show.stdoutText.contains("source:    a blend of library styles"), show.stdoutText)
        XCTAssertTrue(try ok(["embed", "show", "vangogh"]).stdoutText.contains("×"), "an image style still shows its size")
        // The decompression-bomb limit: the flag is named only where it exists.
        let convert = try fails(["image", "convert", photo, scratch + "/o.png", "--max-pixels", "100"], withLibrary: false)
        XCTAssertTrue(convert.contains("exceeds the limit of 100 pixels; --max-pixels raises the limit"), convert)
    }

    /// `-o` names the output on every command: the three whose output was a trailing argument
    /// (`embed export`, `embed salvage`, `image convert`) take `-o` too, with the same result;
    /// both forms at once, or neither, is one line.
    func testDashOWritesTheOutputWhereATrailingArgumentDid() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, hokusai])
        try ok(["embed", "export", scratch + "/arg.json"])
        try ok(["embed", "export", "-o", scratch + "/opt.json"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch + "/arg.json")),
                       try Data(contentsOf: URL(fileURLWithPath: scratch + "/opt.json")))
        XCTAssertEqual(try ok(["embed", "export", "-o", "-"]).stdout, try Data(contentsOf: URL(fileURLWithPath: scratch + "/arg.json")))
        try ok(["embed", "export", "-o", scratch + "/opt.npz"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch + "/opt.npz")).prefix(2), Data("PK".utf8), "a .npz name gives the NumPy zip")
        try ok(["embed", "salvage", "-o", scratch + "/salvaged"])
        XCTAssertEqual(try names(library: scratch + "/salvaged"), try names())
        try ok(["image", "convert", photo, scratch + "/arg.png"], withLibrary: false)
        try ok(["image", "convert", photo, "-o", scratch + "/opt.png"], withLibrary: false)
        XCTAssertTrue(try decode(scratch + "/arg.png").interleavedRGB8() == decode(scratch + "/opt.png").interleavedRGB8())
        try assertEachFails([
            (["embed", "export", scratch + "/a.json", "-o", scratch + "/b.json"], "given twice"),
            (["embed", "export"], "missing FILE"),
            (["embed", "salvage", scratch + "/s1", "-o", scratch + "/s2"], "given twice"),
            (["image", "convert", photo], "missing OUT"),
        ], withLibrary: { $0[0] == "embed" })
        for never in ["/a.json", "/b.json", "/s1", "/s2"] { XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + never), never) }
    }

    /// `--stroke-scale` means the same on every painting command: by default a photo above the
    /// working side is painted at it and brought back to full size; `native` is the network at
    /// full size; out-of-range and unknown values are one line.
    func testStrokeScaleOnEveryPaintingCommand() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        let photo = try smallCopy(of: "docs/images/summer_palace.jpg", as: "palace.png", maxSide: 640)
        try ok(["stylize", photo, "--style-image", vangogh, "-o", scratch + "/default.png"], withLibrary: false)
        try ok(["stylize", photo, "--style-image", vangogh, "--stroke-scale", "1", "-o", scratch + "/one.png"], withLibrary: false)
        try ok(["stylize", photo, "--style-image", vangogh, "--stroke-scale", "native", "-o", scratch + "/native.png"], withLibrary: false)
        try ok(["stylize", photo, "--style-image", vangogh, "--stroke-scale", "2", "-o", scratch + "/two.png"], withLibrary: false)
        let images = try ["default", "one", "native", "two"].map { try decode(scratch + "/\($0).png") }
        for image in images { XCTAssertEqual([image.width, image.height], [640, 427]) }
        XCTAssertEqual(images[0].pixels, images[1].pixels, "the default is 1")
        XCTAssertNotEqual(images[0].pixels, images[2].pixels, "a 640-px photo is painted at 512 by default")
        XCTAssertNotEqual(images[0].pixels, images[3].pixels, "2 paints larger strokes")
        for bad in ["0.1", "9", "fine", "nan"] {
            let line = try fails(["stylize", photo, "--style-image", vangogh, "--stroke-scale", bad, "-o", scratch + "/x.png"], withLibrary: false)
            XCTAssertTrue(line.contains("--stroke-scale"), line)
            XCTAssertFalse(line.contains("\n"), line)
        }
        for command in ["stylize", "blend", "interpolate", "video"] {
            XCTAssertTrue(try ok([command, "--help"], withLibrary: false).stdoutText.contains("--stroke-scale"), command)
        }
        try ok(["interpolate", photo, "--from", vangogh, "--to", vangogh, "--steps", "2", "--stroke-scale", "2",
                "--frames", scratch + "/frames"], withLibrary: false)
        XCTAssertEqual(try decode(scratch + "/frames/frame-000.png").pixels, images[3].pixels,
                       "interpolate at t = 0 is stylize at the same stroke scale")
    }

    /// One JSON dialect (docs/json.md): every key of every `--json` answer is snake_case, and
    /// dates are ISO 8601.
    func testEveryJSONOutputIsSnakeCase() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, hokusai])
        var keys: [String: String] = [:]  // key → the command it came from
        func collect(_ value: Any, _ command: String) {
            if let object = value as? [String: Any] {
                for (k, v) in object { keys[k] = command; collect(v, command) }
            } else if let array = value as? [Any] {
                for v in array { collect(v, command) }
            }
        }
        let commands: [([String], Bool)] = [
            (["doctor", "--json"], true), (["embed", "list", "--json"], true), (["embed", "show", "vangogh", "--json", "--vector"], true),
            (["embed", "nearest", "vangogh", "--json"], true), (["image", "info", photo, "--json"], false),
            (["model", "info", "--json"], false), (["model", "info", "--vgg", "--json"], false),
        ]
        for (args, withLibrary) in commands {
            let r = try ok(args, withLibrary: withLibrary)
            collect(try json(r), args.filter { !$0.hasPrefix("--") }.prefix(2).joined(separator: " "))
        }
        XCTAssertGreaterThan(keys.count, 20, "enough keys to mean something: \(keys.keys.sorted())")
        for (key, command) in keys {
            XCTAssertNotNil(key.range(of: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$", options: .regularExpression), "`\(command) --json` has the key \(key)")
        }
        let shown = try json(try ok(["embed", "show", "vangogh", "--json"])) as? [String: Any]
        let added = shown?["added"] as? String ?? ""
        XCTAssertNotNil(ISO8601DateFormatter().date(from: added), "added is ISO 8601: \(added)")
    }
}
