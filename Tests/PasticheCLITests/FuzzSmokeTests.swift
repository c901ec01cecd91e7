import Foundation
import XCTest
import PasticheTestSupport

/// The fuzz targets' smoke run (issue 16): every seed of Tests/Fuzz/corpus, and 300 bit-flipped
/// and truncated copies of each, through the same entry points libFuzzer drives
/// (scripts/fuzz.sh), in a child process so that a crash fails the test instead of the runner.
final class FuzzSmokeTests: XCTestCase {
    func testEveryTargetSurvivesItsSeedsAndMutationsOfThem() throws {
        let binary = (CLI.binaryPath as NSString).deletingLastPathComponent + "/pastiche-fuzz"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            XCTFail("no pastiche-fuzz at \(binary); build it: swift build -c release --product pastiche-fuzz")
            return
        }
        let corpus = CLI.repoRoot + "/Tests/Fuzz/corpus"
        for target in ["png", "jpeg", "record", "safetensors", "json", "library"] {
            let dir = corpus + "/" + target
            let seeds = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
            XCTAssertFalse(seeds.isEmpty, "no seeds for \(target)")
            let r = try ProcessRunner.run(binary, [target, "--mutations", "300"] + seeds, combineOutput: true)
            let text = r.stdoutText
            XCTAssertFalse(r.signaled, "\(target) crashed: \(text)")
            XCTAssertEqual(r.status, 0, "\(target): \(text)")
            print(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
