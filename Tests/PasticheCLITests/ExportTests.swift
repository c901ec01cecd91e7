import Foundation
import XCTest
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTestSupport

/// `pastiche model export` and `embed export --format npz` against the reference runtime:
/// onnx.checker and onnxruntime (PyPI, installed by scripts/test.sh) run the exported graphs on
/// the inputs Pastiche's own networks get, through Tests/onnx/ort_run.py.
final class ExportTests: CLITestCase {
    /// Embeddings: max abs, divided by the largest |e| where that is above 1. Images in [0, 1]: max abs.
    static let embeddingTolerance: Float = 1e-5
    static let imageTolerance: Float = 1e-4

    override func setUpWithError() throws {
        try super.setUpWithError()
        let probe = try python(["-c", "import onnx, onnxruntime, numpy"], check: false)
        if probe.status != 0 {
            try skipOrRequire("onnx/onnxruntime/numpy missing for python3 (scripts/test.sh installs them)")
        }
    }

    // MARK: Reference side

    @discardableResult
    func python(_ args: [String], check: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessResult {
        let r = try ProcessRunner.run("/usr/bin/env", ["python3"] + args, outputDirectory: scratch)
        if check { XCTAssertEqual(r.status, 0, "python3 \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line) }
        return r
    }

    var helper: String { CLI.repoRoot + "/Tests/onnx/ort_run.py" }

    /// onnx.checker (full check, with shape inference) on a graph; its description.
    func checked(_ model: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let r = try python([helper, "check", model], file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], file: file, line: line)
    }

    /// onnxruntime on `model` with NHWC float32 inputs; its first output and that output's shape.
    func onnxruntime(_ model: String, _ feeds: [String: (values: [Float], shape: [Int])]) throws -> (values: [Float], shape: [Int]) {
        var args = [helper, "run", model, scratch + "/ort-out.npy"]
        for (name, feed) in feeds {
            let path = scratch + "/in-\(name).npy"
            try Numpy.npy(feed.values, shape: feed.shape).write(to: URL(fileURLWithPath: path))
            args.append("\(name)=\(path)")
        }
        try python(args)
        let (shape, values) = try Numpy.readFloats(Data(contentsOf: URL(fileURLWithPath: scratch + "/ort-out.npy")))
        return (values, shape)
    }

    // MARK: Pastiche side

    /// A real image at exactly w×h, as NCHW (Pastiche) and NHWC (Magenta's layout) batches of `count`
    /// (image k is shifted k pixels, so the batch rows differ).
    func images(_ repoPath: String, width w: Int, height h: Int, count: Int = 1) throws -> (nchw: Tensor, nhwc: [Float]) {
        let source = try ImageIO.read(path: CLI.repoRoot + "/" + repoPath).resized(width: w + count, height: h + count)
        let nchw = Tensor(count, 3, h, w)
        var nhwc = [Float](repeating: 0, count: count * h * w * 3)
        for k in 0..<count {
            let t = source.cropped(x: k, y: k, width: w, height: h).tensor
            for c in 0..<3 {
                for i in 0..<(h * w) {
                    nchw.data[(k * 3 + c) * h * w + i] = t.data[c * h * w + i]
                    nhwc[(k * h * w + i) * 3 + c] = t.data[c * h * w + i]
                }
            }
        }
        return (nchw, nhwc)
    }

    func nchwToNHWC(_ t: Tensor) -> [Float] {
        var out = [Float](repeating: 0, count: t.count)
        for n in 0..<t.n { for c in 0..<t.c { for i in 0..<t.plane { out[(n * t.plane + i) * t.c + c] = t.data[(n * t.c + c) * t.plane + i] } } }
        return out
    }

    /// Exports `modelPath` and runs both graphs in onnxruntime against Pastiche's networks: the
    /// predictor at 256², non-square and not-multiple-of-4 sizes, the transfer network on a
    /// batch of two at each, with Pastiche's embeddings. Returns the worst differences.
    @discardableResult
    func checkExport(model modelPath: String, expectedWidth: String) throws -> (embedding: Float, image: Float) {
        let dir = scratch + "/export-\(UUID().uuidString.prefix(8))"
        let r = try ok(["model", "export", "--model", modelPath, "-o", dir, "--json"], withLibrary: false)
        let summary = try XCTUnwrap(try json(r) as? [String: Any])
        XCTAssertEqual(summary["opset"] as? Int, 17)
        let weights = try ModelWeights.load(path: modelPath)
        let predictorPath = dir + "/predictor.onnx", transferPath = dir + "/transfer.onnx"

        for (path, inputs, output) in [(predictorPath, ["style_image"], "style_embedding"),
                                       (transferPath, ["content_image", "style_embedding"], "stylized_image")] {
            let info = try checked(path)
            XCTAssertEqual(info["opset"] as? [Int], [17], path)
            XCTAssertEqual((info["inputs"] as? [String: Any]).map { Set($0.keys) }, Set(inputs), path)
            XCTAssertNotNil((info["outputs"] as? [String: Any])?[output], path)
            let metadata = info["metadata"] as? [String: String] ?? [:]
            XCTAssertEqual(metadata["predictor_id"], weights.predictorID, path)
            XCTAssertEqual(metadata["predictor_width"], expectedWidth, path)
            XCTAssertNotNil(metadata["pastiche_version"], path)
        }
        let contentDims = (try checked(transferPath)["inputs"] as? [String: [Any]])?["content_image"]
        XCTAssertEqual(contentDims?.compactMap { $0 as? String }, ["N", "H", "W"], "dynamic batch, height and width")

        let predictor = StylePredictor(weights: weights), transfer = TransferNetwork(weights: weights)
        var worst: (embedding: Float, image: Float) = (0, 0)
        for (w, h) in [(256, 256), (200, 296), (131, 97)] {
            let style = try images("styles/s03_hokusai_great_wave.png", width: w, height: h, count: 2)
            let ours = predictor(style.nchw)
            let theirs = try onnxruntime(predictorPath, ["style_image": (style.nhwc, [2, h, w, 3])])
            XCTAssertEqual(theirs.shape, [2, 100])
            // Float32 rounding grows with the values: a student a few steps from its random start
            // has embeddings far larger than the pretrained model's (|e| < 1), so the bound is
            // 1e-5 absolute up to |e| = 1 and relative to the largest |e| above it.
            let scale = max(1, ours.array.map(abs).max() ?? 1)
            let dEmbedding = maxAbsDifference(ours.array, theirs.values) / scale
            XCTAssertLessThanOrEqual(dEmbedding, Self.embeddingTolerance,
                                     "predictor \(w)×\(h), width \(expectedWidth), largest |e| \(scale)")

            let content = try images("docs/images/chelsea_cat.png", width: w, height: h, count: 2)
            let stylized = transfer(content.nchw, embedding: ours)
            let ortImage = try onnxruntime(transferPath, ["content_image": (content.nhwc, [2, h, w, 3]),
                                                          "style_embedding": (ours.array, [2, 100])])
            XCTAssertEqual(ortImage.shape, [2, h, w, 3])
            let dImage = maxAbsDifference(nchwToNHWC(stylized), ortImage.values)
            XCTAssertLessThanOrEqual(dImage, Self.imageTolerance, "transfer \(w)×\(h), width \(expectedWidth)")
            worst = (max(worst.embedding, dEmbedding), max(worst.image, dImage))
        }
        print("export parity, predictor width \(expectedWidth): embeddings max abs (scaled) \(worst.embedding), images max abs \(worst.image)")
        return worst
    }

    // MARK: Tests

    func testPretrainedExportMatchesOnnxruntime() throws {
        try checkExport(model: CLI.modelPath, expectedWidth: "1")
    }

    /// A width-0.5 student from a few distillation steps: its export has the student's width.
    func testDistilledStudentExportMatchesOnnxruntime() throws {
        let (vangogh, hokusai, _) = try styleAndPhoto()
        let styles = scratch + "/styles"
        try FileManager.default.createDirectory(atPath: styles, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: vangogh, toPath: styles + "/vangogh.png")
        try FileManager.default.moveItem(atPath: hokusai, toPath: styles + "/hokusai.png")
        let student = scratch + "/student.safetensors"
        try ok(["train", "distill", "--styles", styles, "--width", "0.5", "--steps", "2", "--batch", "2", "--size", "64",
                "-o", student], withLibrary: false)
        try checkExport(model: student, expectedWidth: "0.5")

        // The student's graphs import back to the student, bit for bit, width included.
        let dir = scratch + "/student-onnx"
        try ok(["model", "export", "--model", student, "-o", dir], withLibrary: false)
        let back = scratch + "/student-back.safetensors"
        try ok(["model", "import", dir + "/predictor.onnx", dir + "/transfer.onnx", "-o", back], withLibrary: false)
        try assertSameTensors(student, back)
        XCTAssertEqual(try ModelWeights.load(path: back).metadata["predictor_width"], "0.5")

        // The student's predictor with the pretrained model's transfer graph: the pair's recorded
        // predictor ids disagree, so the import refuses it (embeddings would not fit), in one line.
        let pretrained = scratch + "/pretrained-onnx"
        try ok(["model", "export", "-o", pretrained], withLibrary: false)
        let line = try fails(["model", "import", dir + "/predictor.onnx", pretrained + "/transfer.onnx", "-o", scratch + "/mixed.safetensors"],
                             withLibrary: false)
        XCTAssertTrue(line.contains("exported from the predictor"), line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/mixed.safetensors"))
    }

    /// A narrower transfer network (`train transfer --width 0.5`) exports at its width, runs in
    /// onnxruntime as in Pastiche, and imports back bit for bit; a per-style model's export is
    /// one graph with its style baked in, which paints what `stylize --model` paints.
    func testNarrowAndPerStyleTransferExportsMatchOnnxruntime() throws {
        let (vangogh, hokusai, _) = try styleAndPhoto()
        let styles = scratch + "/styles", content = CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures/content"
        try FileManager.default.createDirectory(atPath: styles, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: vangogh, toPath: styles + "/vangogh.png")
        try FileManager.default.copyItem(atPath: hokusai, toPath: styles + "/hokusai.png")
        let narrow = scratch + "/narrow.safetensors"
        try ok(["train", "transfer", "--width", "0.5", "--styles", styles, "--content", content, "--steps", "1", "--batch", "2",
                "--size", "64", "-o", narrow], withLibrary: false)
        XCTAssertEqual(try ModelWeights.load(path: narrow).transferArchitecture, TransferArchitecture(width: 0.5))
        try checkExport(model: narrow, expectedWidth: "1")
        let dir = scratch + "/narrow-onnx"
        try ok(["model", "export", "--model", narrow, "-o", dir], withLibrary: false)
        XCTAssertEqual((try checked(dir + "/transfer.onnx")["metadata"] as? [String: String])?["transfer_width"], "0.5")
        let back = scratch + "/narrow-back.safetensors"
        try ok(["model", "import", dir + "/predictor.onnx", dir + "/transfer.onnx", "-o", back], withLibrary: false)
        try assertSameTensors(narrow, back)

        let perStyle = scratch + "/vangogh.safetensors"
        try ok(["train", "transfer", "--style-image", vangogh, "--content", content, "--steps", "1", "--batch", "1", "--size", "64",
                "-o", perStyle], withLibrary: false)
        let graph = scratch + "/vangogh.onnx"
        try ok(["model", "export", "--model", perStyle, "-o", graph], withLibrary: false)
        XCTAssertEqual((try checked(graph)["inputs"] as? [String: Any]).map { Array($0.keys) }, ["content_image"])
        let (w, h) = (150, 113)
        let photo = scratch + "/photo.png"
        try ImageIO.write(try ImageIO.read(path: CLI.repoRoot + "/docs/images/chelsea_cat.png").resized(width: w, height: h), to: photo)
        let ort = try onnxruntime(graph, ["content_image": (nchwToNHWC(try ImageIO.read(path: photo).tensor), [1, h, w, 3])])
        let out = scratch + "/painted.png"
        try ok(["stylize", "--model", perStyle, photo, "-o", out], withLibrary: false)
        let cli = try decode(out).interleavedRGB8()
        let ortBytes = ort.values.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) }
        XCTAssertLessThanOrEqual(zip(cli, ortBytes).map { abs(Int($0) - Int($1)) }.max() ?? 99, 1, "the per-style graph paints as stylize --model")
    }

    /// An AdaIN model (the authors' format, random weights: scripts/adain-torch-files.py)
    /// exports the same pair of graphs with 1024-value styles; onnxruntime on them gives
    /// Pastiche's style statistics and painting, at sizes that are not multiples of 8.
    func testAdaINExportMatchesOnnxruntime() throws {
        let dir = scratch + "/adain"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try python([CLI.repoRoot + "/scripts/adain-torch-files.py", "write", dir, "--seed", "9"])
        let model = dir + "/adain.safetensors"
        try ok(["model", "import", "--adain-encoder", dir + "/vgg_normalised.pth", "--adain-decoder", dir + "/decoder.pth", "-o", model],
               withLibrary: false)
        let onnx = scratch + "/adain-onnx"
        try ok(["model", "export", "--model", model, "-o", onnx], withLibrary: false)
        let stylizer = try Stylizer(modelPath: model)
        guard case .adain(let network) = stylizer.engine else { return XCTFail("not an AdaIN model") }
        for (w, h) in [(48, 40), (45, 30)] {
            let style = try images("styles/s03_hokusai_great_wave.png", width: w, height: h)
            let (mean, std) = network.style(style.nchw)
            let theirs = try onnxruntime(onnx + "/predictor.onnx", ["style_image": (style.nhwc, [1, h, w, 3])])
            XCTAssertEqual(theirs.shape, [1, 1024])
            let ours = mean.array + std.array
            let dStyle = maxAbsDifference(ours, theirs.values) / max(1, ours.map(abs).max() ?? 1)
            let content = try images("docs/images/chelsea_cat.png", width: w, height: h)
            var painted = network.stylize(content.nchw, styleMean: mean, styleStd: std)
            for i in 0..<painted.count { painted.data[i] = min(max(painted.data[i], 0), 1) }
            let image = try onnxruntime(onnx + "/transfer.onnx", ["content_image": (content.nhwc, [1, h, w, 3]),
                                                                 "style_embedding": (ours, [1, 1024])])
            XCTAssertEqual(image.shape, [1, h, w, 3])
            let dImage = maxAbsDifference(nchwToNHWC(painted), image.values)
            print("AdaIN export parity \(w)×\(h): style statistics max abs (scaled) \(dStyle), images max abs \(dImage)")
            XCTAssertLessThanOrEqual(dStyle, 1e-5)
            XCTAssertLessThanOrEqual(dImage, 1e-4)
            XCTAssertGreaterThan((painted.array.max() ?? 0) - (painted.array.min() ?? 0), 0.2, "not a flat picture")
        }
        let line = try fails(["model", "export", "--model", model, "--style", "x", "-o", scratch + "/x.onnx"])
        XCTAssertTrue(line.contains("AdaIN"), line)
    }

    func assertSameTensors(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try ModelWeights.load(path: a), y = try ModelWeights.load(path: b)
        XCTAssertEqual(Set(x.tensors.keys), Set(y.tensors.keys), file: file, line: line)
        for (name, t) in x.tensors {
            guard let u = y.tensors[name] else { continue }
            XCTAssertEqual(t.shape, u.shape, name, file: file, line: line)
            XCTAssert(t.array.map(\.bitPattern) == u.array.map(\.bitPattern), "\(name) differs", file: file, line: line)
        }
        XCTAssertEqual(x.predictorID, y.predictorID, file: file, line: line)
    }

    func testExportImportRoundTripIsBitExact() throws {
        let dir = scratch + "/onnx"
        try ok(["model", "export", "-o", dir], withLibrary: false)
        let back = scratch + "/back.safetensors"
        let r = try ok(["model", "import", dir + "/predictor.onnx", dir + "/transfer.onnx", "-o", back], withLibrary: false)
        try assertSameTensors(CLI.modelPath, back)
        XCTAssert(r.stdoutText.contains(try ModelWeights.load(path: CLI.modelPath).predictorID), r.stdoutText)
        // Provenance survives: the source the pretrained weights were imported from.
        XCTAssertEqual(try ModelWeights.load(path: back).metadata["source"], try ModelWeights.load(path: CLI.modelPath).metadata["source"])
    }

    /// `model export --style` bakes a library style in: one input, the stylize result.
    func testBakedStyleGraphIsStylizeWithThatStyle() throws {
        let (_, hokusai, _) = try styleAndPhoto()
        try ok(["embed", "add", hokusai, "--name", "wave"])
        let graph = scratch + "/wave.onnx"
        try ok(["model", "export", "--style", "wave", "-o", graph])
        let info = try checked(graph)
        XCTAssertEqual((info["inputs"] as? [String: Any]).map { Array($0.keys) }, ["content_image"])
        XCTAssertEqual((info["metadata"] as? [String: String])?["style_name"], "wave")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: graph)[.size] as? Int)
        XCTAssertLessThan(size, 2_000_000, "a one-style graph is small")

        let (w, h) = (150, 113)
        let photo = scratch + "/photo.png"
        try ImageIO.write(try ImageIO.read(path: CLI.repoRoot + "/docs/images/chelsea_cat.png").resized(width: w, height: h), to: photo)
        let content = try ImageIO.read(path: photo)
        let ort = try onnxruntime(graph, ["content_image": (nchwToNHWC(content.tensor), [1, h, w, 3])])

        // Against the engine with the library's embedding of "wave": within the image tolerance.
        let embedding = try vector("wave")
        let stylizer = try Stylizer(modelPath: CLI.modelPath)
        let ours = stylizer.stylize(content, embedding: embedding)
        XCTAssertLessThanOrEqual(maxAbsDifference(nchwToNHWC(ours.tensor), ort.values), Self.imageTolerance)

        // Against `stylize --style wave` itself (8-bit PNG): the same pixels after rounding,
        // give or take one level where a value sits on a rounding boundary.
        let out = scratch + "/painted.png"
        try ok(["stylize", photo, "--style", "wave", "-o", out])
        let cli = try decode(out).interleavedRGB8()
        let ortBytes = ort.values.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) }
        let levels = zip(cli, ortBytes).map { abs(Int($0) - Int($1)) }
        XCTAssertLessThanOrEqual(levels.max() ?? 99, 1)
        XCTAssertGreaterThan(Double(levels.filter { $0 == 0 }.count) / Double(levels.count), 0.999)
    }

    /// `image convert --style-input` writes what the predictor sees, so another runtime fed
    /// that file gets Pastiche's embedding up to the file's 8-bit rounding (docs/export.md).
    func testStyleInputIsWhatThePredictorSees() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        let input = scratch + "/style-input.png"
        try ok(["image", "convert", vangogh, input, "--style-input"], withLibrary: false)
        let image = try decode(input)
        XCTAssertEqual([image.width, image.height], [256, 256])
        try ok(["embed", "add", vangogh, "--name", "original"])
        try ok(["embed", "add", input, "--name", "prepared"])
        let a = try vector("original"), b = try vector("prepared")
        let diff = zip(a, b).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
        let norm = a.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        XCTAssertLessThan(diff / norm, 1e-3, "the prepared file embeds as the original does (8-bit rounding only)")
        XCTAssertGreaterThan(diff, 0, "two different files: the comparison is real")
        let line = try fails(["image", "convert", vangogh, scratch + "/x.png", "--style-input", "--max-size", "64"], withLibrary: false)
        XCTAssertTrue(line.contains("--style-input"), line)
    }

    func testNPZExportHasTheLibrarysEmbeddings() throws {
        let (vangogh, hokusai, _) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, "--name", "starry", "--tag", "post-impressionism"])
        try ok(["embed", "add", hokusai, "--name", "wave"])
        let npz = scratch + "/styles.npz"
        try ok(["embed", "export", npz])
        let arrays = try XCTUnwrap(JSONSerialization.jsonObject(with: try python([helper, "npz", npz]).stdout) as? [String: [String: Any]])
        XCTAssertEqual(arrays["names"]?["values"] as? [String], ["starry", "wave"])
        XCTAssertEqual(arrays["embeddings"]?["dtype"] as? String, "float32")
        XCTAssertEqual(arrays["embeddings"]?["shape"] as? [Int], [2, 100])
        XCTAssertEqual(arrays["tags"]?["values"] as? [String], ["post-impressionism", ""])
        let ids = arrays["predictor_ids"]?["values"] as? [String]
        XCTAssertEqual(ids, [String](repeating: try ModelWeights.load(path: CLI.modelPath).predictorID, count: 2))
        let rows = (arrays["embeddings"]?["values"] as? [[NSNumber]])?.map { $0.map(\.floatValue) }
        XCTAssertEqual(rows?[0].map(\.bitPattern), try vector("starry").map(\.bitPattern))
        XCTAssertEqual(rows?[1].map(\.bitPattern), try vector("wave").map(\.bitPattern))
        // `-` with --format npz writes the same bytes to stdout.
        let stdout = try ok(["embed", "export", "-", "--format", "npz"]).stdout
        XCTAssertEqual(stdout, try Data(contentsOf: URL(fileURLWithPath: npz)))
    }

    func testBadExportsFailWithOneLine() throws {
        let (_, hokusai, _) = try styleAndPhoto()
        try ok(["embed", "add", hokusai, "--name", "wave"])
        let notAModel = scratch + "/not-a-model.safetensors"
        try Data("this is not a safetensors file".utf8).write(to: URL(fileURLWithPath: notAModel))
        let aFile = scratch + "/plain.txt"
        try Data("x".utf8).write(to: URL(fileURLWithPath: aFile))
        let dir = scratch + "/onnx"
        try ok(["model", "export", "-o", dir], withLibrary: false)
        try ok(["model", "export", "--style", "wave", "-o", scratch + "/wave.onnx"])

        let cases: [([String], String)] = [
            (["model", "export", "--style", "nosuch", "-o", scratch + "/x.onnx"], "nosuch"),
            (["model", "export", "-o", aFile + "/sub"], aFile),
            (["model", "export", "-o", aFile], "is a file"),
            (["model", "export", "-o", "-"], "--style"),
            (["model", "export", "--style", "wave", "-o", scratch], "folder"),
            (["model", "export", "--model", notAModel, "-o", scratch + "/o"], notAModel),
            (["model", "export", "--model", scratch + "/missing.safetensors", "-o", scratch + "/o"], "missing.safetensors"),
            (["model", "import", aFile, dir + "/transfer.onnx", "-o", scratch + "/w.safetensors"], "not an ONNX model"),
            (["model", "import", dir + "/predictor.onnx", scratch + "/wave.onnx", "-o", scratch + "/w.safetensors"], "baked"),
        ]
        for (args, needle) in cases {
            let line = try fails(args, withLibrary: args.contains("--style"))
            XCTAssert(line.contains(needle), "`\(args.joined(separator: " "))`: \(line)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/x.onnx"), "a failed export writes nothing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/w.safetensors"), "a failed import writes nothing")
    }
}
