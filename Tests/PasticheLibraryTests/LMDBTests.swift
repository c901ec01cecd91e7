import CLMDB
import XCTest
import PasticheTestSupport
@testable import PasticheLibrary

final class LMDBTests: XCTestCase {
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testPutGetDeleteAndCursor() throws {
        let env = try LMDBEnvironment(path: try temporaryDirectory("pastiche-lib") + "/env", mapSize: 1 << 20, maxDatabases: 2)
        let db = try env.openDatabase("things")
        try env.write { txn in
            for k in ["b", "a", "c", "ab"] { try txn.put(db, bytes(k), bytes("v" + k)) }
            XCTAssertFalse(try txn.put(db, bytes("a"), bytes("other"), noOverwrite: true), "NOOVERWRITE keeps the old value")
            XCTAssertTrue(try txn.put(db, bytes("d"), [], noOverwrite: true))
        }
        try env.read { txn in
            XCTAssertEqual(try txn.get(db, bytes("a")), bytes("va"))
            XCTAssertEqual(try txn.get(db, bytes("d")), [])
            XCTAssertNil(try txn.get(db, bytes("zz")))
            var seen = [String]()
            try txn.forEach(db, from: bytes("ab")) { k, _ in seen.append(String(decoding: k, as: UTF8.self)); return seen.count < 2 }
            XCTAssertEqual(seen, ["ab", "b"], "starts at the first key ≥ from, stops when asked")
            XCTAssertThrowsError(try txn.put(db, bytes("x"), bytes("y")), "read transactions cannot write")
        }
        try env.write { txn in
            XCTAssertTrue(try txn.delete(db, bytes("a")))
            XCTAssertFalse(try txn.delete(db, bytes("a")))
        }
        // A thrown error aborts: nothing of the failed transaction remains.
        struct Boom: Error {}
        XCTAssertThrowsError(try env.write { txn in try txn.put(db, bytes("ghost"), bytes("x")); throw Boom() })
        XCTAssertNil(try env.read { try $0.get(db, bytes("ghost")) })
        // Committing early inside the closure is allowed; the helper does not commit twice.
        try env.write { txn in
            try txn.put(db, bytes("early"), bytes("x"))
            try txn.commit()
            XCTAssertTrue(txn.isFinished)
            XCTAssertThrowsError(try txn.get(db, bytes("early")), "a finished transaction refuses work")
        }
        XCTAssertEqual(try env.read { try $0.count(db) }, 5)
    }

    /// A body that swallows MDB_MAP_FULL still gets a grown map and a clean retry.
    func testMapFullIsRetriedEvenWhenSwallowed() throws {
        let env = try LMDBEnvironment(path: try temporaryDirectory("pastiche-lib") + "/env", mapSize: 64 << 10, maxDatabases: 1)
        let db = try env.openDatabase("blobs")
        var attempts = 0
        try env.write { txn in
            attempts += 1
            for i in 0..<50 { _ = try? txn.put(db, bytes("k\(i)"), [UInt8](repeating: UInt8(i), count: 10_000)) }
        }
        XCTAssertGreaterThan(attempts, 1)
        XCTAssertGreaterThanOrEqual(env.mapSize, 500_000)
        try env.read { txn in
            for i in 0..<50 { XCTAssertEqual(try txn.get(db, bytes("k\(i)"))?.count, 10_000) }
        }
    }

    func testErrorIsOneDescriptiveLine() throws {
        let env = try LMDBEnvironment(path: try temporaryDirectory("pastiche-lib") + "/env", mapSize: 1 << 20, maxDatabases: 1)
        let db = try env.openDatabase("d")
        XCTAssertThrowsError(try env.write { txn in try txn.put(db, [], bytes("empty key")) }) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(env.path + ": mdb_put failed: "), text)
            XCTAssertTrue(text.contains("(code "), text)
            XCTAssertFalse(text.contains("\n"))
        }
        let missing = try temporaryDirectory("pastiche-lib") + "/missing"
        XCTAssertThrowsError(try LMDBEnvironment(path: missing, mapSize: 1 << 20, maxDatabases: 1, readOnly: true)) {
            XCTAssertEqual("\($0)", "\(missing): mdb_env_open failed: No such file or directory (code 2)")
        }
        XCTAssertEqual(LMDBError(MDB_MAP_FULL, "x", path: "p").isMapFull, true)
    }
}
