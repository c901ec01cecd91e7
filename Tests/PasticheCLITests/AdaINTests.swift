import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTestSupport
import XCTest

/// AdaIN (issue 33): the authors' weight files imported natively, and the forward against an
/// independent float64 numpy one (scripts/adain-torch-files.py), which builds files in both
/// PyTorch formats from the formats' specification (no torch).
final class AdaINTests: CLITestCase {
    var script: String { CLI.repoRoot + "/scripts/adain-torch-files.py" }

    func python(_ args: [String]) throws {
        let r = try ProcessRunner.run("/usr/bin/env", ["python3", script] + args, outputDirectory: scratch)
        XCTAssertEqual(r.status, 0, "python3 \(args.joined(separator: " ")): \(r.stderr)")
    }

    func requireNumpy() throws {
        let probe = try ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import numpy"], outputDirectory: scratch)
        if probe.status != 0 { try skipOrRequire("numpy missing for python3 (scripts/test.sh installs it)") }
    }

    /// Random AdaIN weights in the authors' zip format (the script's seed), imported: the
    /// model's path; the script's files and reference stay in `scratch/model-SEED`.
    func importedModel(seed: Int) throws -> String {
        try requireNumpy()
        let dir = scratch + "/model-\(seed)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try python(["write", dir, "--seed", "\(seed)"])
        let model = dir + "/adain.safetensors"
        try ok(["model", "import", "--adain-encoder", dir + "/vgg_normalised.pth", "--adain-decoder", dir + "/decoder.pth", "-o", model],
               withLibrary: false)
        return model
    }

    /// Both PyTorch formats import to exactly the arrays written into them, under Pastiche's
    /// names, and files of another shape or format are one line with nothing written.
    func testAuthorsFilesImportBitForBitInBothFormats() throws {
        try requireNumpy()
        for format in ["zip", "legacy"] {
            let dir = scratch + "/" + format
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try python(["write", dir, "--format", format, "--seed", "3"])
            let out = dir + "/adain.safetensors"
            try ok(["model", "import", "--adain-encoder", dir + "/vgg_normalised.pth", "--adain-decoder", dir + "/decoder.pth", "-o", out],
                   withLibrary: false)
            let imported = try ModelWeights.load(path: out)
            let reference = try Safetensors.read(path: dir + "/reference.safetensors").tensors
            XCTAssertEqual(Set(imported.tensors.keys), Set(reference.keys), format)
            for (name, t) in reference {
                XCTAssertEqual(imported[name].shape, t.shape, name)
                XCTAssert(imported[name].array.map(\.bitPattern) == t.array.map(\.bitPattern), "\(format) \(name)")
            }
            XCTAssertEqual(imported.kind, .adain)
        }
        let zip = scratch + "/zip", never = scratch + "/never.safetensors"
        try Data(try Data(contentsOf: URL(fileURLWithPath: zip + "/decoder.pth")).prefix(5000)).write(to: URL(fileURLWithPath: scratch + "/cut.pth"))
        let cases: [([String], String)] = [
            (["--adain-encoder", zip + "/decoder.pth", "--adain-decoder", zip + "/decoder.pth"], "no '0.weight'"),
            (["--adain-encoder", zip + "/vgg_normalised.pth", "--adain-decoder", zip + "/vgg_normalised.pth"], "decoder"),
            (["--adain-encoder", zip + "/vgg_normalised.pth", "--adain-decoder", scratch + "/cut.pth"], "zip"),
            (["--adain-encoder", zip + "/vgg_normalised.pth", "--adain-decoder", zip + "/reference.safetensors"], "torch"),
            (["--adain-encoder", zip + "/vgg_normalised.pth"], "--adain-decoder"),
        ]
        try assertEachFails(cases.map { (["model", "import"] + $0.0 + ["-o", never], $0.1) }, withLibrary: { _ in false })
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
    }

    /// Encoder, AdaIN and decoder on real images, at sizes that are not multiples of 8 (ceil
    /// pooling, the crop back) and at α = 1 and 0.6, against the float64 reference: within 1e-4
    /// of the output's scale.
    func testForwardMatchesAnIndependentFloat64Reference() throws {
        let model = try importedModel(seed: 5)
        let dir = (model as NSString).deletingLastPathComponent
        let network = AdaINNetwork(weights: try ModelWeights.load(path: model))
        let content = try ImageIO.read(path: CLI.repoRoot + "/docs/images/chelsea_cat.png").resized(width: 45, height: 30).tensor
        let style = try ImageIO.read(path: CLI.repoRoot + "/styles/s03_hokusai_great_wave.png").resized(width: 40, height: 28).tensor
        try Numpy.npy(content.array, shape: content.shape).write(to: URL(fileURLWithPath: scratch + "/content.npy"))
        try Numpy.npy(style.array, shape: style.shape).write(to: URL(fileURLWithPath: scratch + "/style.npy"))
        let (mean, std) = network.style(style)
        for alpha in [Float(1), 0.6] {
            let out = scratch + "/reference-\(alpha).npy"
            try python(["forward", dir, scratch + "/content.npy", scratch + "/style.npy", out, "--alpha", "\(alpha)"])
            let reference = try Numpy.readFloats(try Data(contentsOf: URL(fileURLWithPath: out)))
            let ours = network.stylize(content, styleMean: mean, styleStd: std, alpha: alpha)
            XCTAssertEqual(reference.shape, ours.shape)
            let scale = reference.values.map(abs).max() ?? 0
            let d = maxAbsDifference(ours.array, reference.values)
            print("AdaIN forward α \(alpha), 45×30: max|Δ| \(d) against the float64 reference (max|ref| \(scale))")
            XCTAssertGreaterThan(scale, 0.1, "the reference is not degenerate")
            // Nor spatially constant: the weights carry the photo through every layer.
            let plane = reference.shape[2] * reference.shape[3]
            for c in 0..<3 {
                let v = reference.values[(c * plane)..<((c + 1) * plane)]
                let mean = v.reduce(0, +) / Float(plane)
                let spread = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(plane)).squareRoot()
                XCTAssertGreaterThan(spread, 0.02, "channel \(c) varies over the image")
            }
            XCTAssertLessThan(d, 1e-4 * max(1, scale))
        }
    }
}

extension AdaINTests {
    /// An AdaIN model paints through the one painting pipeline: `--style-image`, library styles
    /// it embedded itself (1024 values, its encoder's id), blends (the authors' interpolation:
    /// the mixed statistics), `--strength` as α, `--preserve-color`, masks with per-region
    /// statistics. A Ghiasi model with one of its styles, and `bench` (which times Ghiasi's
    /// networks), are one line each.
    func testAnAdaINModelPaintsThroughThePipeline() throws {
        let model = try importedModel(seed: 7)
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", "--model", model, vangogh, hokusai])
        let record = try show("vangogh")
        XCTAssertEqual(try vector("vangogh").count, 1024)
        XCTAssertEqual(record["model_id"] as? String, try ModelWeights.load(path: model).predictorID)

        func painted(_ args: [String], library: Bool = true) throws -> [Float] {
            let out = scratch + "/out-\(UUID().uuidString.prefix(6)).png"
            try ok(["stylize", "--model", model] + args + [photo, "-o", out], withLibrary: library)
            return try decode(out).pixels
        }
        let byName = try painted(["--style", "vangogh"])
        XCTAssertTrue(byName == (try painted(["--style-image", vangogh], library: false)), "a stored style paints as its image")
        let photoPixels = try decode(photo).pixels
        XCTAssertTrue(byName != photoPixels, "it paints")
        let spread = (byName.max() ?? 0) - (byName.min() ?? 0)
        XCTAssertGreaterThan(spread, 0.2, "the painting is not flat")
        XCTAssertTrue(try painted(["--style", "vangogh", "--strength", "0.3"]) != byName, "strength is α")
        // A blend is the authors' interpolation: the weighted statistics, exactly as a stored blend.
        try ok(["blend", "--model", model, "--styles", "vangogh,hokusai", "--weights", "1,3", photo, "-o", scratch + "/mix.png",
                "--save-as", "mix"])
        XCTAssertTrue(try decode(scratch + "/mix.png").pixels == (try painted(["--style", "mix"])), "a stored blend paints as the blend")
        // The banded path: every layer in bands of --tile rows over the whole image, statistics
        // over the whole image, so the band height changes nothing but summation order.
        let banded = try painted(["--style", "vangogh", "--tile", "3", "--stroke-scale", "native"])
        let whole = try painted(["--style", "vangogh", "--stroke-scale", "native"])
        XCTAssertLessThanOrEqual(zip(banded, whole).map { abs($0 - $1) }.max()!, 1.0 / 255, "--tile 3 paints as one band per layer")
        let preserved = try painted(["--style", "vangogh", "--preserve-color"])
        XCTAssertTrue(preserved != byName, "colour preservation changes the painting")

        let mask = scratch + "/mask.png"
        var half = RGBImage(width: 96, height: 64)
        for y in 0..<64 { for x in 0..<48 { half.setPixel(x: x, y: y, (1, 1, 1)) } }
        try ImageIO.write(half, to: mask)
        // Masks: a style per region, each with its own statistics; a white mask is plain stylize.
        let inverse = scratch + "/inverse.png"
        var other = RGBImage(width: 96, height: 64, fill: (1, 1, 1))
        for y in 0..<64 { for x in 0..<48 { other.setPixel(x: x, y: y, (0, 0, 0)) } }
        try ImageIO.write(other, to: inverse)
        let masked = try painted(["--styles", "vangogh,hokusai", "--masks", mask + "," + inverse])
        let hokusaiOnly = try painted(["--style", "hokusai"])
        XCTAssertTrue(masked != byName && masked != hokusaiOnly, "two regions, two styles")
        let white = scratch + "/white.png"
        try ImageIO.write(RGBImage(width: 8, height: 8, fill: (1, 1, 1)), to: white)
        XCTAssertTrue(try painted(["--style", "vangogh", "--mask", white]) == byName, "a white mask is plain stylize")
        let cases: [([String], String)] = [
            (["stylize", "--style", "vangogh", photo, "-o", scratch + "/x.png"], "embed its image again"),
            (["bench", "--model", model], "AdaIN"),
        ]
        try assertEachFails(cases, withLibrary: { $0[0] == "stylize" })
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/x.png"))
    }
}

extension AdaINTests {
    /// `train adain` through the binary: steps with --json, a resumed run continues, the model
    /// paints; bad input is one line with nothing written.
    func testTrainAdaINRunsResumesAndRefusesBadInput() throws {
        let model = try importedModel(seed: 11)
        let content = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures/content"
        let styles = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures/styles"
        let out = scratch + "/trained.safetensors", ckpt = scratch + "/ckpt"
        let run = try ok(["train", "adain", "--model", model, "--content", content, "--styles", styles, "--steps", "2", "--batch", "2",
                          "--size", "32", "--json", "-o", out, "--checkpoint-dir", ckpt, "--checkpoint-every", "1"], withLibrary: false)
        XCTAssertEqual(run.stdoutText.split(separator: "\n").count, 2)
        // `train export`: a checkpoint's model is what -o got at that step, bit for bit, and the
        // run's log and checkpoints are left as they are.
        let log = try String(contentsOfFile: ckpt + "/train.jsonl", encoding: .utf8)
        try ok(["train", "export", ckpt + "/checkpoint-00000002.safetensors", "-o", scratch + "/step2.safetensors"], withLibrary: false)
        try ok(["train", "export", ckpt + "/checkpoint-00000001.safetensors", "-o", scratch + "/step1.safetensors"], withLibrary: false)
        let written = try ModelWeights.load(path: out), exported = try ModelWeights.load(path: scratch + "/step2.safetensors")
        XCTAssertEqual(Set(written.tensors.keys), Set(exported.tensors.keys))
        for (name, t) in written.tensors { XCTAssertTrue(t.array.map(\.bitPattern) == exported[name].array.map(\.bitPattern), name) }
        XCTAssertEqual(exported.metadata["trained_steps"], "2")
        XCTAssertEqual(try ModelWeights.load(path: scratch + "/step1.safetensors").metadata["trained_steps"], "1")
        XCTAssertEqual(try String(contentsOfFile: ckpt + "/train.jsonl", encoding: .utf8), log, "the log is not cut back")
        try ok(["train", "adain", "--resume", ckpt + "/checkpoint-00000002.safetensors", "--steps", "3"], withLibrary: false)
        XCTAssertEqual(try ModelWeights.load(path: out).metadata["trained_steps"], "3")
        let (vangogh, _, photo) = try styleAndPhoto()
        try ok(["stylize", "--model", out, "--style-image", vangogh, photo, "-o", scratch + "/painted.png"], withLibrary: false)

        let never = scratch + "/never.safetensors"
        let cases: [([String], String)] = [
            (["train", "adain", "--content", content, "--styles", styles, "-o", never], "--model"),
            (["train", "adain", "--model", CLI.modelPath, "--content", content, "--styles", styles, "-o", never], "not an AdaIN model"),
            (["train", "adain", "--model", model, "--styles", styles, "-o", never], "--content"),
            (["train", "adain", "--model", model, "--content", content, "--styles", styles, "--style-weight", "-1", "-o", never], "--style-weight"),
            (["train", "transfer", "--resume", ckpt + "/checkpoint-00000002.safetensors"], "train adain"),
            (["train", "adain", "--model", model, "--content", content, "--styles", styles, "-o", model], "is the input"),
            (["train", "export", model, "-o", never], "not a Pastiche training checkpoint"),
            (["train", "export", scratch + "/nothing", "-o", never], "no such file"),
            (["train", "export", ckpt + "/checkpoint-00000001.safetensors", "-o", ckpt + "/checkpoint-00000001.safetensors"], "is the input"),
            (["train", "adain", "--resume", ckpt + "/checkpoint-00000002.safetensors", "--lr-decay", "0"], "cannot change a resumed run"),
            (["train", "transfer", "--style-image", styles, "--content", content, "--lr-decay", "-1", "-o", never], "--lr-decay"),
        ]
        try assertEachFails(cases, withLibrary: { _ in false })
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
    }
}

extension AdaINTests {
    /// An AdaIN model for training from scratch: the encoder is Pastiche's VGG-19 behind the
    /// Caffe-input 1×1 conv, normalised on --calibration photos as the authors'
    /// vgg_normalised.pth was (every filter's mean activation 1 on them, every feature map the
    /// original one times a positive per-channel factor); the decoder untrained. It paints.
    func testAnEncoderFromPastichesVGG19() throws {
        let vgg = CLI.home.vgg19Model
        guard FileManager.default.fileExists(atPath: vgg) else { try skipOrRequire("no VGG-19 at \(vgg); run `pastiche model fetch`"); return }
        let calibration = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures/content"
        let model = scratch + "/scratch.safetensors"
        try ok(["model", "import", "--adain-encoder", vgg, "--calibration", calibration, "-o", model], withLibrary: false)
        let weights = try ModelWeights.load(path: model), source = try Safetensors.read(path: vgg).tensors
        XCTAssertEqual(weights.kind, .adain)
        XCTAssertNotNil(weights.metadata["encoder_normalisation"])
        XCTAssertEqual(weights["adain.encoder.preprocess.weight"].array, [0, 0, 255, 0, 255, 0, 255, 0, 0], "RGB → BGR × 255")

        // Mean activation 1 per filter over the calibration photos (filters that never fire stay 0).
        let batch = try ModelWeights.adainCalibrationBatch(paths: ImageFolder.scan(calibration))
        var checked = 0
        AdaINNetwork(weights: weights).encode(batch) { name, x in
            guard name != "adain.encoder.preprocess" else { return }
            for c in 0..<x.c {
                var sum = 0.0
                for n in 0..<x.n { for i in 0..<x.plane { sum += Double(x.data[(n * x.c + c) * x.plane + i]) } }
                let mean = sum / Double(x.n * x.plane)
                if mean > 0 { XCTAssertEqual(mean, 1, accuracy: 1e-3, "\(name) channel \(c)"); checked += 1 }
            }
        }
        let filters = AdaINArchitecture.encoder.dropFirst().reduce(0) { $0 + $1.outChannels }
        XCTAssertGreaterThanOrEqual(checked, filters * 95 / 100, "nearly all of the \(filters) filters fire on four photos (all do here)")

        // On another image, relu4_1 is VGG-19's own times a positive factor per channel.
        let (vangogh, _, photo) = try styleAndPhoto()
        let image = try ImageIO.read(path: vangogh).resizedShortestSide(to: 96).tensor
        let raw = AdaINNetwork(weights: try ModelWeights.adainFromVGG19(source)).encode(image)
        let normalised = AdaINNetwork(weights: weights).encode(image)
        var worst: Float = 0
        for c in 0..<raw.c {
            var ab = 0.0, aa = 0.0
            for i in 0..<raw.plane { ab += Double(raw.data[c * raw.plane + i] * normalised.data[c * raw.plane + i]); aa += Double(raw.data[c * raw.plane + i] * raw.data[c * raw.plane + i]) }
            guard aa > 0 else { continue }
            let ratio = Float(ab / aa)
            XCTAssertGreaterThan(ratio, 0)
            let peak = (0..<raw.plane).map { abs(normalised.data[c * raw.plane + $0]) }.max()!
            for i in 0..<raw.plane { worst = max(worst, abs(normalised.data[c * raw.plane + i] - ratio * raw.data[c * raw.plane + i]) / peak) }
        }
        XCTAssertLessThan(worst, 1e-3, "relu4_1 = VGG-19's × a per-channel factor (worst deviation relative to the channel's peak)")

        try ok(["stylize", "--model", model, "--style-image", vangogh, photo, "-o", scratch + "/untrained.png"], withLibrary: false)
        let never = scratch + "/never.safetensors", empty = scratch + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let cases: [([String], String)] = [
            (["model", "import", "--adain-encoder", vgg, "--adain-decoder", vgg, "-o", never], "vgg_normalised"),
            (["model", "import", "--adain-encoder", vgg, "-o", never], "--calibration"),
            (["model", "import", "--adain-encoder", vgg, "--calibration", scratch + "/none", "-o", never], "no such file"),
            (["model", "import", "--adain-encoder", vgg, "--calibration", empty, "-o", never], "no JPEG or PNG"),
        ]
        try assertEachFails(cases, withLibrary: { _ in false })
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
    }
}

extension AdaINTests {
    /// AdaIN styles beside a Ghiasi style in one library: `interpolate` walks between two
    /// AdaIN styles, `embed nearest` compares only styles of the same model, `embed sheet
    /// --photo` paints the model's own styles and says what it left out, the NPZ export keeps
    /// both kinds, and the studio served with the AdaIN model renders its styles exactly as
    /// `stylize` and refuses the Ghiasi one in a 4xx naming the mismatch.
    func testAdaINStylesInTheSheetTheStudioAndInterpolate() throws {
        let model = try importedModel(seed: 5)
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", "--model", model, vangogh, hokusai])
        // A Ghiasi style of other pixels (the same image embedded by both would stand in for each other).
        let ghiasiStyle = try noiseImages(count: 1, in: scratch + "/noise", prefix: "ghiasi", seed: 4)[0]
        try ok(["embed", "add", "--name", "ghiasi", ghiasiStyle])

        let strip = scratch + "/strip.png"
        try ok(["interpolate", "--model", model, "--from", "vangogh", "--to", "hokusai", "--steps", "3", "--max-size", "48", photo, "-o", strip])
        let frames = try decode(strip)
        try ok(["stylize", "--model", model, "--style", "vangogh", "--max-size", "48", photo, "-o", scratch + "/v.png"])
        let v = try decode(scratch + "/v.png")
        XCTAssertEqual(frames.width, 3 * v.width + 2 * 4, "three frames side by side, 4 px apart")
        XCTAssertTrue(frames.cropped(x: 0, y: 0, width: v.width, height: v.height).pixels == v.pixels, "the first frame is the 'from' style")

        let nearest = try ok(["embed", "nearest", "vangogh"]).stdoutText
        XCTAssertTrue(nearest.contains("hokusai") && !nearest.contains("ghiasi"), nearest)

        let sheet = scratch + "/sheet.png"
        let made = try ok(["embed", "sheet", "--model", model, "--photo", photo, "-o", sheet])
        XCTAssertTrue(made.stderr.contains("left out 1 style of other models"), made.stderr)
        XCTAssertGreaterThan(try decode(sheet).width, 100)
        let none = try fails(["embed", "sheet", "--model", model, "--photo", photo, "--tag", "nothing", "-o", scratch + "/none.png"])
        XCTAssertTrue(none.contains("no styles tagged 'nothing'"), none)

        let npz = scratch + "/styles.npz"
        try ok(["embed", "export", "--format", "npz", npz])
        XCTAssertGreaterThan((try FileManager.default.attributesOfItem(atPath: npz)[.size] as? Int) ?? 0, 2 * 1024 * 4)

        let studio = try StudioProcess(["--library", library, "--model", model], scratch: scratch)
        let upload = try studio.request("POST", "/api/photos", body: Array(try Data(contentsOf: URL(fileURLWithPath: photo))))
        let photoID = upload.object["photo"] as? String ?? ""
        let listed = ((try studio.get("/api/styles").object["styles"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
        XCTAssertEqual(Set(listed), ["vangogh", "hokusai", "ghiasi"])
        XCTAssertEqual(try studio.get("/api/map").status, 200)
        let render = try studio.request("POST", "/api/render", json: ["photo": photoID, "styles": [["name": "hokusai", "weight": 1]], "max_size": 48])
        XCTAssertEqual(render.status, 200, render.text)
        try ok(["stylize", "--model", model, "--style", "hokusai", "--max-size", "48", photo, "-o", scratch + "/h.png"])
        XCTAssertTrue(try ImageIO.decode(render.body, name: "render").pixels == (try decode(scratch + "/h.png")).pixels, "render = stylize")
        let refused = try studio.request("POST", "/api/render", json: ["photo": photoID, "styles": [["name": "ghiasi", "weight": 1]], "max_size": 48])
        XCTAssertEqual(refused.status / 100, 4, refused.text)
        XCTAssertTrue(refused.text.contains("not by this model"), refused.text)
        XCTAssertEqual(try studio.stop().status, 0)
    }
}
