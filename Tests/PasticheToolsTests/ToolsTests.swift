import Foundation
import XCTest
import PasticheModels
import PasticheTestSupport
@testable import PasticheTools

/// Where Pastiche keeps its files, what the model fetcher checks before it trusts a file, and
/// the benchmark's arithmetic.
final class PasticheHomeTests: XCTestCase {
    func testPathsUnderAGivenHome() {
        let home = PasticheHome(path: "/data/pastiche")
        XCTAssertEqual(home.path, "/data/pastiche")
        XCTAssertEqual(home.modelsDirectory, "/data/pastiche/models")
        XCTAssertEqual(home.defaultModel, "/data/pastiche/models/pastiche-v1-256.safetensors")
        XCTAssertEqual(home.defaultLibrary, "/data/pastiche/library")
        XCTAssertEqual(home.vgg19Model, "/data/pastiche/models/vgg19.safetensors")
        XCTAssertEqual(home.predictONNX, "/data/pastiche/models/arbitrary_predict.onnx")
        XCTAssertEqual(home.transformONNX, "/data/pastiche/models/arbitrary_transform.onnx")
    }

    func testOverridesWinOverTheDefaults() {
        let home = PasticheHome(path: "/h")
        XCTAssertEqual(home.model(nil), "/h/models/pastiche-v1-256.safetensors")
        XCTAssertEqual(home.model("/elsewhere/m.safetensors"), "/elsewhere/m.safetensors")
        XCTAssertEqual(home.library(nil), "/h/library")
        XCTAssertEqual(home.library("/tmp/lib"), "/tmp/lib")
    }

    func testPasticheHomeVariable() {
        withEnvironment(["PASTICHE_HOME": "/from/env"]) {
            XCTAssertEqual(PasticheHome().path, "/from/env")
            XCTAssertEqual(PasticheHome().defaultLibrary, "/from/env/library")
            XCTAssertEqual(PasticheHome(path: "/given").path, "/given", "a given path beats $PASTICHE_HOME")
        }
        withEnvironment(["PASTICHE_HOME": ""]) {
            XCTAssertEqual(PasticheHome().path, NSHomeDirectory() + "/.pastiche", "an empty $PASTICHE_HOME is unset")
        }
        withEnvironment(["PASTICHE_HOME": nil]) {
            XCTAssertEqual(PasticheHome().path, NSHomeDirectory() + "/.pastiche")
        }
    }
}

final class ModelFetcherTests: XCTestCase {
    func testSHA256OfAFile() throws {
        let dir = try temporaryDirectory("pastiche-tools")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: dir + "/abc"))
        XCTAssertEqual(ModelFetcher.sha256(file: dir + "/abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertNil(ModelFetcher.sha256(file: dir + "/missing"))
    }

    /// Files that are missing, or present with other bytes, are never taken for the pinned ones.
    func testOnlyThePinnedFilesAreTrusted() throws {
        let home = PasticheHome(path: try temporaryDirectory("pastiche-tools"))
        XCTAssertFalse(ModelFetcher.onnxVerified(in: home))
        try FileManager.default.createDirectory(atPath: home.modelsDirectory, withIntermediateDirectories: true)
        for name in ModelFetcher.onnxSHA256.keys {
            try Data("not the model".utf8).write(to: URL(fileURLWithPath: home.modelsDirectory + "/" + name))
        }
        XCTAssertFalse(ModelFetcher.onnxVerified(in: home))
        XCTAssertFalse(ModelFetcher.modelVerified(home.defaultModel), "no file")
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: home.defaultModel))
        XCTAssertFalse(ModelFetcher.modelVerified(home.defaultModel), "not a weights file")
        XCTAssertEqual(Set(ModelFetcher.onnxSHA256.keys), ["arbitrary_predict.onnx", "arbitrary_transform.onnx"])
        XCTAssertTrue((Array(ModelFetcher.onnxSHA256.values) + [ModelFetcher.wheelSHA256]).allSatisfy {
            $0.count == 64 && $0.allSatisfy(\.isHexDigit)
        })
    }

    func testReportUsesSnakeCaseKeys() throws {
        let report = ModelFetcher.Report(modelPath: "/m", downloaded: true, imported: false, predictorID: "abc", vgg19: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        XCTAssertEqual(String(decoding: try encoder.encode(report), as: UTF8.self),
                       #"{"downloaded":true,"imported":false,"model_path":"\/m","predictor_id":"abc"}"#)
    }

    /// A failing helper is one line: the failure, then the last line the helper wrote to stderr.
    func testAFailingHelperIsOneLineEndingInItsLastWords() {
        XCTAssertThrowsError(try ModelFetcher.run(["sh", "-c", "echo first >&2; echo last words >&2; exit 3"], failure: "pip failed")) {
            XCTAssertEqual("\($0)", "pip failed: last words")
        }
        XCTAssertThrowsError(try ModelFetcher.run(["false"], failure: "nothing said")) {
            XCTAssertEqual("\($0)", "nothing said")
        }
        XCTAssertNoThrow(try ModelFetcher.run(["true"], failure: "never"))
    }
}

final class BenchmarkTests: XCTestCase {
    func testMedian() {
        XCTAssertEqual(Benchmark.median([3, 1, 2]), 2)
        XCTAssertEqual(Benchmark.median([4, 1, 3, 2]), 2.5)
        XCTAssertEqual(Benchmark.median([7]), 7)
    }

    func testRandomInputsAreReproducibleAndInTheUnitInterval() {
        let a = Benchmark.randomTensor([1, 3, 8, 8], seed: 5), b = Benchmark.randomTensor([1, 3, 8, 8], seed: 5)
        let c = Benchmark.randomTensor([1, 3, 8, 8], seed: 6)
        XCTAssertEqual(a.shape, [1, 3, 8, 8])
        XCTAssertEqual(a.array, b.array)
        XCTAssertNotEqual(a.array, c.array)
        XCTAssertTrue(a.array.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertGreaterThan(Set(a.array).count, 150, "not constant")
    }

    func testRatioAndThroughput() {
        var c = Benchmark.Case(name: "transfer_384", network: "transfer", size: 384, gflop: 2, pasticheMs: 500, ortMs: 1000)
        XCTAssertEqual(c.ratio, 0.5)
        XCTAssertEqual(c.gflops, 4)
        c.ortMs = nil
        XCTAssertNil(c.ratio, "no onnxruntime, no ratio")
    }
}
