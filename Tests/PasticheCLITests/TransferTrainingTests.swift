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
        try assertEachFails(cases, withLibrary: { _ in false })
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
        XCTAssertEqual(try decode(hokusai).width, 300)
    }

    /// `train transfer --styles`: the learned styles land in the library, tagged `learned`, as
    /// styles of the new model; they paint (alone, blended, by their image) with that model, and
    /// with any other model they are one line.
    func testNStyleStylesLandInTheLibraryAndPaintOnlyWithTheirModel() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let styles = scratch + "/styles"
        try FileManager.default.createDirectory(atPath: styles, withIntermediateDirectories: true)
        for file in [vangogh, hokusai] { try FileManager.default.copyItem(atPath: file, toPath: styles + "/" + (file as NSString).lastPathComponent) }
        // A name the library already holds stays with its style: the learned one gets another.
        try ok(["embed", "add", vangogh, "--name", "vangogh"])
        let before = try vector("vangogh")
        let model = scratch + "/house.safetensors"
        let run = try ok(["train", "transfer", "--styles", styles, "--content", content, "--steps", "3", "--batch", "2",
                          "--size", "64", "--json", "-o", model])
        XCTAssertEqual(stepLines(run).count, 3)
        let learned = try names(tag: "learned")
        XCTAssertEqual(learned.sorted(), ["hokusai", "vangogh-2"], run.summary)
        XCTAssertEqual(try vector("vangogh"), before, "the predicted style keeps its name")
        let weights = try ModelWeights.load(path: model)
        XCTAssertEqual(weights.kind, .nStyle)
        XCTAssertEqual(try vector("hokusai").map(\.bitPattern), weights.learnedStyles.first { $0.name == "hokusai" }?.embedding.map(\.bitPattern))
        XCTAssertEqual(try show("hokusai")["model_id"] as? String, weights.transferID)

        // With its model: by name, by its image (the learned embedding), blended, and as a saved blend.
        let byName = scratch + "/by-name.png", byImage = scratch + "/by-image.png"
        try ok(["stylize", "--model", model, "--style", "hokusai", photo, "-o", byName])
        try ok(["stylize", "--model", model, "--style-image", hokusai, photo, "-o", byImage], withLibrary: false)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: byName)), try Data(contentsOf: URL(fileURLWithPath: byImage)))
        let arbitrary = scratch + "/arbitrary.png"
        try ok(["stylize", "--style-image", hokusai, photo, "-o", arbitrary], withLibrary: false)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: byName)), try Data(contentsOf: URL(fileURLWithPath: arbitrary)))
        try ok(["blend", "--model", model, "--styles", "hokusai,vangogh-2", photo, "-o", scratch + "/blend.png", "--save-as", "house-mix"])
        try ok(["stylize", "--model", model, "--style", "house-mix", photo, "-o", scratch + "/mix.png"])
        // A predicted style of the same predictor still paints with the N-style model.
        try ok(["stylize", "--model", model, "--style", "vangogh", photo, "-o", scratch + "/predicted.png"])

        // Without it: one line each, naming what to do.
        let wrong = try fails(["stylize", "--style", "hokusai", photo, "-o", scratch + "/wrong.png"])
        XCTAssertTrue(wrong.contains("learned") && wrong.contains(weights.transferID), wrong)
        let wrongBlend = try fails(["stylize", "--style", "house-mix", photo, "-o", scratch + "/wrong.png"])
        XCTAssertTrue(wrongBlend.contains("blended with model"), wrongBlend)
        let noStyle = try fails(["stylize", "--model", model, photo, "-o", scratch + "/none.png"])
        XCTAssertTrue(noStyle.contains("hokusai") && noStyle.contains("--style"), noStyle)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/wrong.png"))
        let info = try ok(["model", "info", "--model", model], withLibrary: false)
        XCTAssertTrue(info.stdoutText.contains("n-style model (2 learned styles: hokusai, vangogh)"), info.stdoutText)

        // Storing again (a resume that is already done) adds nothing.
        let count = try names().count
        let ckpt = scratch + "/ckpt"
        try ok(["train", "transfer", "--styles", styles, "--content", content, "--steps", "1", "--batch", "2", "--size", "32",
                "-o", scratch + "/again.safetensors", "--checkpoint-dir", ckpt])
        try ok(["train", "transfer", "--resume", ckpt + "/checkpoint-00000001.safetensors"])
        XCTAssertEqual(try names().count, count + 2, "one run's two styles, stored once")

        // Bad input: one line, nothing written.
        let one = scratch + "/one"
        try FileManager.default.createDirectory(atPath: one, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: vangogh, toPath: one + "/v.png")
        let never = scratch + "/never.safetensors"
        let cases: [([String], String)] = [
            (["train", "transfer", "--styles", one, "--content", content, "-o", never], "--style-image"),
            (["train", "transfer", "--styles", vangogh, "--content", content, "-o", never], "no such folder"),
            (["train", "transfer", "--styles", styles, "--width", "2", "--content", content, "-o", never], "--width"),
            (["train", "transfer", "--styles", styles, "--width", "0.3", "--content", content, "-o", never], "--width"),
            (["train", "transfer", "--style-image", vangogh, "--width", "0.5", "--content", content, "-o", never], "--width"),
            (["train", "transfer", "--styles", styles, "--teacher-weight", "5", "--content", content, "-o", never], "--width"),
            (["train", "predictor", "--resume", ckpt + "/checkpoint-00000001.safetensors"], "train transfer"),
        ]
        try assertEachFails(cases, withLibrary: { $0[1] == "transfer" })
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
    }

    /// A width run distils on the content photos as styles too, after --styles: bit for bit the
    /// run whose --styles folder holds both (styles first) with --no-content-as-styles, and not
    /// the run on --styles alone. The flag goes with --width only and cannot change a resume.
    func testDistillationTakesTheContentPhotosAsStylesToo() throws {
        let styles = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures/styles"
        let both = scratch + "/both"
        try FileManager.default.createDirectory(atPath: both, withIntermediateDirectories: true)
        for (prefix, folder) in [("0-", styles), ("1-", content)] {
            for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
                try FileManager.default.createSymbolicLink(atPath: both + "/" + prefix + name, withDestinationPath: folder + "/" + name)
            }
        }
        let common = ["--width", "0.5", "--content", content, "--steps", "3", "--batch", "2", "--size", "32", "--seed", "5"]
        let ckpt = scratch + "/ckpt"
        try ok(["train", "transfer", "--styles", styles, "-o", scratch + "/default.safetensors", "--checkpoint-dir", ckpt] + common, withLibrary: false)
        try ok(["train", "transfer", "--styles", both, "--no-content-as-styles", "-o", scratch + "/both.safetensors"] + common, withLibrary: false)
        try ok(["train", "transfer", "--styles", styles, "--no-content-as-styles", "-o", scratch + "/alone.safetensors"] + common, withLibrary: false)
        let (byDefault, byFolder, alone) = try (ModelWeights.load(path: scratch + "/default.safetensors"),
                                                ModelWeights.load(path: scratch + "/both.safetensors"),
                                                ModelWeights.load(path: scratch + "/alone.safetensors"))
        let names = TransferArchitecture(width: 0.5).parameters.map(\.0)
        XCTAssertFalse(names.isEmpty)
        for name in names { XCTAssertTrue(byDefault[name].array == byFolder[name].array, "\(name): the default is the photos after the styles") }
        XCTAssertFalse(names.allSatisfy { byDefault[$0].array == alone[$0].array }, "--no-content-as-styles distils on --styles alone")
        let never = scratch + "/never.safetensors"
        try assertEachFails([
            (["train", "transfer", "--styles", styles, "--content", content, "--content-as-styles", "-o", never], "--content-as-styles goes with --width"),
            (["train", "transfer", "--styles", styles, "--content", content, "--no-content-as-styles", "-o", never], "--no-content-as-styles goes with --width"),
            (["train", "transfer", "--resume", ckpt + "/checkpoint-00000003.safetensors", "--no-content-as-styles"], "--no-content-as-styles cannot change a resumed run"),
        ], withLibrary: { _ in false })
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
    }

    /// `serve --model` with a per-style model lists its own style (tagged `model`, with a
    /// painted thumbnail) and renders it exactly as `stylize --model` paints; with an N-style
    /// model its learned styles render, and a render of them served by another model is a 4xx.
    func testTheStudioServesPerStyleAndNStyleModels() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let perStyle = scratch + "/vangogh.safetensors"
        try ok(["train", "transfer", "--style-image", vangogh, "--content", content, "--steps", "1", "--batch", "1", "--size", "32",
                "-o", perStyle], withLibrary: false)
        let studio = try StudioProcess(["--library", library, "--model", perStyle], scratch: scratch)
        let upload = try studio.request("POST", "/api/photos", body: Array(try Data(contentsOf: URL(fileURLWithPath: photo))))
        let photoID = upload.object["photo"] as? String ?? ""
        let listed = (try studio.get("/api/styles").object["styles"] as? [[String: Any]]) ?? []
        XCTAssertEqual(listed.first?["name"] as? String, "vangogh")
        XCTAssertEqual(listed.first?["tags"] as? [String], ["model"])
        XCTAssertEqual(try studio.get("/api/styles/vangogh/thumbnail").status, 200)
        let r = try studio.request("POST", "/api/render", json: ["photo": photoID, "styles": [["name": "vangogh", "weight": 1]], "max_size": 64])
        XCTAssertEqual(r.status, 200, r.text)
        try ok(["stylize", "--model", perStyle, "--max-size", "64", photo, "-o", scratch + "/own.png"], withLibrary: false)
        XCTAssertEqual(try ImageIO.decode(r.body, name: "render").pixels, try decode(scratch + "/own.png").pixels)
        XCTAssertEqual(try studio.stop().status, 0)
        XCTAssertEqual(try names(), [], "serving a per-style model stores nothing")

        let styles = scratch + "/styles"
        try FileManager.default.createDirectory(atPath: styles, withIntermediateDirectories: true)
        for file in [vangogh, hokusai] { try FileManager.default.copyItem(atPath: file, toPath: styles + "/" + (file as NSString).lastPathComponent) }
        let house = scratch + "/house.safetensors"
        try ok(["train", "transfer", "--styles", styles, "--content", content, "--steps", "1", "--batch", "2", "--size", "32", "-o", house])
        for (model, status) in [(house, 200), (CLI.modelPath, 400)] {
            let served = try StudioProcess(["--library", library, "--model", model], scratch: scratch)
            let id = try served.request("POST", "/api/photos", body: Array(try Data(contentsOf: URL(fileURLWithPath: photo)))).object["photo"] as? String ?? ""
            let render = try served.request("POST", "/api/render", json: ["photo": id, "styles": [["name": "hokusai", "weight": 1]], "max_size": 48])
            XCTAssertEqual(render.status / 100, status / 100, render.text)
            if status != 200 { XCTAssertTrue(render.text.contains("learned"), render.text) }
            XCTAssertEqual(try served.stop().status, 0)
        }
    }
}
