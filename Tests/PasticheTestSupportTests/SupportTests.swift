import Foundation
import XCTest
import PasticheCore
import PasticheImage
import PasticheTestSupport

/// The shared test plumbing itself: every other target's tests lean on it.
final class SupportTests: XCTestCase {
    func testMaxAbsDifference() {
        XCTAssertEqual(maxAbsDifference([1, 2, 3], [1, 2.5, 1]), 2)
        XCTAssertEqual(maxAbsDifference([Float](), []), 0)
        XCTAssertEqual(maxAbsDifference([1, 2], [1, 2, 3]), .infinity, "lengths differ")
        XCTAssertTrue(maxAbsDifference([1, .nan, 3], [1, 2, 3]).isNaN, "a NaN is never within tolerance")
        let a = Tensor(shape: [1, 2, 1, 2], values: [0, 1, 2, 3]), b = Tensor(shape: [1, 2, 1, 2], values: [0, 1, 2, 3.5])
        XCTAssertEqual(maxAbsDifference(a, b), 0.5)
        XCTAssertEqual(maxAbsDifference(a, Tensor(shape: [1, 1, 2, 2], values: [0, 1, 2, 3])), .infinity, "shapes differ")
        let black = RGBImage(width: 2, height: 2, fill: 0), grey = RGBImage(width: 2, height: 2, fill: 0.25)
        XCTAssertEqual(maxAbsDifference(black, grey), 0.25)
        XCTAssertEqual(maxLevelDifference(black, grey), 64)
        XCTAssertEqual(maxLevelDifference(black, RGBImage(width: 2, height: 1)), Int.max)
    }

    func testTemporaryDirectoriesAreFreshAndRemovedEvenWhenReadOnly() throws {
        let a = try makeTemporaryDirectory("pastiche-support"), b = try makeTemporaryDirectory("pastiche-support")
        XCTAssertNotEqual(a, b)
        XCTAssertTrue(((a as NSString).lastPathComponent).hasPrefix("pastiche-support-"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: a), [])
        try FileManager.default.createDirectory(atPath: a + "/locked/inner", withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: a + "/locked/inner/file", contents: Data([1])))
        chmod(a + "/locked/inner", 0o555)
        chmod(a + "/locked", 0o555)
        removeTemporaryDirectory(a)
        removeTemporaryDirectory(b)
        XCTAssertFalse(FileManager.default.fileExists(atPath: a))
        XCTAssertFalse(FileManager.default.fileExists(atPath: b))
    }

    /// More output than a pipe holds (64 KiB) on both streams: no deadlock, nothing lost.
    func testRunCapturesLargeOutputOnBothStreams() throws {
        let r = try ProcessRunner.run("/bin/sh", ["-c", #"head -c 300000 /dev/zero | tr '\0' a; head -c 200000 /dev/zero | tr '\0' b >&2; exit 3"#])
        XCTAssertEqual(r.status, 3)
        XCTAssertFalse(r.signaled)
        XCTAssertEqual(r.stdout.count, 300_000)
        XCTAssertTrue(r.stdout.allSatisfy { $0 == UInt8(ascii: "a") })
        XCTAssertEqual(r.stderr, String(repeating: "b", count: 200_000))
        XCTAssertEqual(r.command, "sh -c " + r.arguments[1])
    }

    func testEnvironmentDirectoryStdinAndCombinedOutput() throws {
        let dir = try temporaryDirectory("pastiche-support")
        try Data("from a file\n".utf8).write(to: URL(fileURLWithPath: dir + "/in.txt"))
        let r = try ProcessRunner.run("/bin/sh", ["-c", "pwd; echo $ONLY_THIS; cat; echo oops >&2"],
                                      environment: ["ONLY_THIS": "set", "PATH": "/usr/bin:/bin"],
                                      stdin: dir + "/in.txt", directory: dir, outputDirectory: dir, combineOutput: true)
        XCTAssertEqual(r.stdoutText, "\(dir)\nset\nfrom a file\noops\n")
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["in.txt"], "the output files are removed")
        XCTAssertEqual(try ProcessRunner.run("/bin/cat", []).stdout, Data(), "stdin is /dev/null by default")
    }

    func testStartSignalAndWait() throws {
        let p = try ProcessRunner.start("/bin/sh", ["-c", "echo ready; exec sleep 30"])
        let deadline = Date().addingTimeInterval(10)
        while p.stdoutSoFar().isEmpty && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(p.stdoutSoFar(), "ready\n")
        XCTAssertTrue(p.isRunning)
        XCTAssertGreaterThan(p.pid, 0)
        p.signal(SIGTERM)
        let r = try p.wait()
        XCTAssertTrue(r.signaled)
        XCTAssertEqual(r.status, SIGTERM)
        XCTAssertLessThan(r.seconds, 10)
        XCTAssertEqual(try p.wait().stdout, r.stdout, "waiting again gives the same result")
        XCTAssertThrowsError(try ProcessRunner.start("/nonexistent/tool", []))
    }

    func testSkipOrRequire() throws {
        try withEnvironment(["PASTICHE_TEST_SUPPORT_REQUIRE": nil]) {
            XCTAssertFalse(isRequired("PASTICHE_TEST_SUPPORT_REQUIRE"))
            XCTAssertThrowsError(try skipOrRequire("not here", variable: "PASTICHE_TEST_SUPPORT_REQUIRE")) { error in
                XCTAssertTrue(error is XCTSkip, "\(error)")
            }
        }
        withEnvironment(["PASTICHE_TEST_SUPPORT_REQUIRE": "1"]) {
            XCTAssertTrue(isRequired("PASTICHE_TEST_SUPPORT_REQUIRE"))
        }
        withEnvironment(["PASTICHE_TEST_SUPPORT_REQUIRE": "0"]) {
            XCTAssertFalse(isRequired("PASTICHE_TEST_SUPPORT_REQUIRE"))
        }
        XCTAssertNil(getenv("PASTICHE_TEST_SUPPORT_REQUIRE"), "withEnvironment puts the variable back")
    }
}
