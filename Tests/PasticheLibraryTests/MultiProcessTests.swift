import XCTest
@testable import PasticheLibrary
import PasticheTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Several processes on one library. Swift cannot fork, so each test re-runs this test bundle
/// as child processes that execute only `testChildWorker`, steered by environment variables.
final class MultiProcessTests: XCTestCase {
    static let storeVar = "PASTICHE_CHILD_STORE"

    /// The child's body. In a normal run (no PASTICHE_CHILD_STORE) it is skipped.
    func testChildWorker() throws {
        let env = ProcessInfo.processInfo.environment
        guard let path = env[Self.storeVar], let id = env["PASTICHE_CHILD_ID"].flatMap(Int.init) else {
            throw XCTSkip("only runs inside a child process started by the multi-process tests")
        }
        // Start together so the inserts really overlap.
        if let start = env["PASTICHE_CHILD_START"].flatMap(Double.init) {
            while Date().timeIntervalSince1970 < start { usleep(1000) }
        }
        // A tiny map so every process has to grow it, or adopt a size another one recorded.
        let store = try StyleStore(path: path, initialMapSize: 64 << 10)
        switch env["PASTICHE_CHILD_MODE"] {
        case "insert":
            let count = Int(env["PASTICHE_CHILD_COUNT"] ?? "") ?? 25
            for i in 0..<count {
                let r = makeRecord("p\(id)-\(i)", seed: UInt64(id * 10_000 + i), thumbnailBytes: 4000)
                XCTAssertFalse(try store.insert(r, uniquifyName: false).reused)
            }
        case "loop":
            // Insert until killed, renaming every 7th style (a multi-key transaction) and
            // reporting each committed step in a progress file.
            let progress = path + "/../progress-\(id)"
            for i in 0... {
                let name = "c\(id)-\(i)"
                try store.insert(makeRecord(name, seed: UInt64(id * 1_000_000 + i), thumbnailBytes: 20_000),
                                 uniquifyName: false)
                if i % 7 == 0 { try store.rename(name, to: "r\(id)-\(i)") }
                try Data("\(i + 1)".utf8).write(to: URL(fileURLWithPath: progress), options: .atomic)
            }
        default:
            XCTFail("unknown PASTICHE_CHILD_MODE")
        }
    }

    /// This test bundle again, running only `testChildWorker`, its stdout and stderr in one log.
    private func spawnChild(_ environment: [String: String]) throws -> RunningProcess {
        #if os(Linux)
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let arguments = ["PasticheLibraryTests.MultiProcessTests/testChildWorker"]
        #else
        // On macOS the bundle is loaded by the xctest tool.
        let executable = CommandLine.arguments[0]
        let arguments = ["-XCTest", "PasticheLibraryTests.MultiProcessTests/testChildWorker", Bundle(for: Self.self).bundlePath]
        #endif
        return try ProcessRunner.start(executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                                       combineOutput: true)
    }

    func testEightProcessesInsertConcurrently() throws {
        let path = try temporaryDirectory("pastiche-lib") + "/lib"
        let start = Date().timeIntervalSince1970 + 2
        let children = try (0..<8).map { id in
            try spawnChild([Self.storeVar: path, "PASTICHE_CHILD_MODE": "insert", "PASTICHE_CHILD_ID": "\(id)",
                            "PASTICHE_CHILD_COUNT": "25", "PASTICHE_CHILD_START": "\(start)"])
        }
        for c in children {
            let r = try c.wait()
            XCTAssertEqual(r.status, 0, "child failed:\n\(r.stdoutText.suffix(3000))")
        }
        let store = try StyleStore(path: path, readOnly: true)
        let names = Set(try store.names())
        XCTAssertEqual(names.count, 200)
        for id in 0..<8 {
            for i in 0..<25 {
                XCTAssertEqual(try store.get("p\(id)-\(i)"),
                               makeRecord("p\(id)-\(i)", seed: UInt64(id * 10_000 + i), thumbnailBytes: 4000))
            }
        }
        XCTAssertEqual(try store.verify(), [])
    }

    /// SIGKILL a writer mid-stream, twice (the second child starts on the survivor of the
    /// first kill, so a stale reader slot or writer lock would show up): every committed step
    /// survives, nothing half-written is visible, and the index is consistent.
    func testKilledWriterLeavesConsistentLibrary() throws {
        let dir = try temporaryDirectory("pastiche-lib")
        let path = dir + "/lib"
        for round in 0..<2 {
            let child = try spawnChild([Self.storeVar: path, "PASTICHE_CHILD_MODE": "loop", "PASTICHE_CHILD_ID": "\(round)"])
            let progressFile = dir + "/progress-\(round)"
            let deadline = Date().addingTimeInterval(60)
            var committed = 0
            while committed < 15 + round * 10, child.isRunning, Date() < deadline {
                usleep(2000)
                committed = (try? String(contentsOfFile: progressFile, encoding: .utf8)).flatMap { Int($0) } ?? 0
            }
            XCTAssertTrue(child.isRunning, "child exited early:\n\(child.stdoutSoFar().suffix(3000))")
            usleep(UInt32.random(in: 0..<20_000))  // land somewhere inside a transaction
            kill(child.pid, SIGKILL)
            XCTAssertTrue(try child.wait().signaled)
            committed = (try? String(contentsOfFile: progressFile, encoding: .utf8)).flatMap { Int($0) } ?? 0
            XCTAssertGreaterThanOrEqual(committed, 15)

            let store = try StyleStore(path: path)  // a writer: also clears the dead reader slot
            XCTAssertEqual(try store.verify(), [])
            let records = try store.list()  // decodes every record fully
            for i in 0..<committed {
                let name = i % 7 == 0 ? "r\(round)-\(i)" : "c\(round)-\(i)"
                XCTAssertTrue(try store.contains(name), "committed style \(name) lost")
            }
            for r in records where r.name.dropFirst().hasPrefix("\(round)-") {
                XCTAssertEqual(r.thumbnail.count, 20_000)
                XCTAssertEqual(try store.lookup(pixelHash: r.pixelHash, modelID: r.modelID)?.name, r.name)
            }
            // The library is still writable after the crash.
            try store.insert(makeRecord("after-\(round)", seed: 777 + UInt64(round)), uniquifyName: false)
        }
    }
}
