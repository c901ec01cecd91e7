import XCTest
import PasticheTestSupport
@testable import PasticheLibrary

final class StyleStoreTests: XCTestCase {
    private func openStore(_ mapSize: Int = 1 << 20) throws -> (StyleStore, String) {
        let path = try temporaryDirectory("pastiche-lib") + "/lib"
        return (try StyleStore(path: path, initialMapSize: mapSize), path)
    }

    func testInsertGetRoundTripIsBitExact() throws {
        let (store, _) = try openStore()
        let r = makeRecord("starry", seed: 42, thumbnailBytes: 5000, tags: ["night", "blue"],
                           recipe: [.init(name: "a", weight: 0.7), .init(name: "b", weight: 0.3)])
        let result = try store.insert(r, uniquifyName: false)
        XCTAssertFalse(result.reused)
        XCTAssertEqual(result.record, r)
        let got = try store.get("starry")
        XCTAssertEqual(got.encoded(), r.encoded())
        XCTAssertEqual(got.embedding.map(\.bitPattern), r.embedding.map(\.bitPattern))
        XCTAssertEqual(got.thumbnail, r.thumbnail)
        XCTAssertEqual(got.tags, ["blue", "night"])
        XCTAssertEqual(try store.count, 1)
    }

    func testUniqueNaming() throws {
        let (store, _) = try openStore()
        try store.insert(makeRecord("wave", seed: 1), uniquifyName: false)
        assertThrows(StyleStoreError.nameTaken("wave")) { try store.insert(makeRecord("wave", seed: 2), uniquifyName: false) }
        XCTAssertEqual(try store.insert(makeRecord("wave", seed: 3), uniquifyName: true).record.name, "wave-2")
        XCTAssertEqual(try store.insert(makeRecord("wave", seed: 4), uniquifyName: true).record.name, "wave-3")
        let long = String(repeating: "z", count: 128)
        try store.insert(makeRecord(long, seed: 5), uniquifyName: false)
        let renamed = try store.insert(makeRecord(long, seed: 6), uniquifyName: true).record.name
        XCTAssertEqual(renamed, String(repeating: "z", count: 126) + "-2", "suffix fits in 128 chars")
        XCTAssertEqual(try store.names(), ["wave", "wave-2", "wave-3", long, renamed].sorted())
    }

    func testReuseByPixelHashAndModel() throws {
        let (store, _) = try openStore()
        let first = makeRecord("cubist", seed: 1, pixelHash: "ab12")
        try store.insert(first, uniquifyName: false)
        XCTAssertEqual(try store.lookup(pixelHash: "ab12", modelID: "model-a"), first)
        XCTAssertNil(try store.lookup(pixelHash: "ab12", modelID: "model-b"))

        // Same image, same model: the cached record comes back under its original name.
        let again = try store.insert(makeRecord("other-name", seed: 2, pixelHash: "ab12"), uniquifyName: true)
        XCTAssertTrue(again.reused)
        XCTAssertEqual(again.record, first)
        XCTAssertEqual(try store.count, 1)

        // Same image, another predictor: a new record.
        let other = try store.insert(makeRecord("cubist", seed: 3, modelID: "model-b", pixelHash: "ab12"), uniquifyName: true)
        XCTAssertFalse(other.reused)
        XCTAssertEqual(other.record.name, "cubist-2")
        XCTAssertEqual(try store.lookup(pixelHash: "ab12", modelID: "model-b")?.name, "cubist-2")

        // Blends have no pixel hash and are never deduplicated.
        let blend = makeRecord("mix", seed: 4, pixelHash: "", recipe: [.init(name: "cubist", weight: 1)])
        XCTAssertFalse(try store.insert(blend, uniquifyName: true).reused)
        XCTAssertFalse(try store.insert(blend, uniquifyName: true).reused)
        XCTAssertNil(try store.lookup(pixelHash: "", modelID: "model-a"))
        XCTAssertEqual(try store.verify(), [])
    }

    func testRenameRemoveAndTags() throws {
        let (store, _) = try openStore()
        for (i, name) in ["alpha", "beta", "gamma"].enumerated() {
            try store.insert(makeRecord(name, seed: UInt64(i)), uniquifyName: false)
        }
        try store.insert(makeRecord("blend", seed: 9, pixelHash: "", recipe: [.init(name: "alpha", weight: 0.5),
                                                                          .init(name: "beta", weight: 0.5)]),
                         uniquifyName: false)
        let hash = try store.get("alpha").pixelHash

        try store.rename("alpha", to: "omega")
        XCTAssertEqual(try store.lookup(pixelHash: hash, modelID: "model-a")?.name, "omega", "index follows the rename")
        XCTAssertEqual(try store.get("blend").recipe?.map(\.name), ["omega", "beta"], "recipes follow the rename")
        XCTAssertFalse(try store.contains("alpha"))
        assertThrows(StyleStoreError.nameTaken("beta")) { try store.rename("omega", to: "beta") }
        XCTAssertThrowsError(try store.rename("omega", to: "bad name"))

        XCTAssertEqual(try store.addTags("beta", ["warm", "abstract", "warm"]).tags, ["abstract", "test", "warm"])
        XCTAssertEqual(try store.removeTags("beta", ["test", "absent"]).tags, ["abstract", "warm"])
        XCTAssertEqual(try store.list(tag: "warm").map(\.name), ["beta"])
        XCTAssertEqual(try store.list(tag: "test").map(\.name), ["blend", "gamma", "omega"])
        XCTAssertThrowsError(try store.addTags("beta", ["no spaces"]))

        // All or nothing: one unknown name and nothing is removed.
        let before = try store.list().map { $0.encoded() }
        XCTAssertThrowsError(try store.remove(["beta", "nope"])) { error in
            guard case .notFound("nope", _) = error as? StyleStoreError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try store.list().map { $0.encoded() }, before)

        try store.remove(["beta", "omega"])
        XCTAssertEqual(try store.names(), ["blend", "gamma"])
        XCTAssertNil(try store.lookup(pixelHash: hash, modelID: "model-a"), "index entry removed with the record")
        XCTAssertEqual(try store.verify(), [])
    }

    func testUnknownNameSuggestsClosest() throws {
        let (store, _) = try openStore()
        for (i, name) in ["starry", "starry-2", "scream", "Wave", "mosaic"].enumerated() {
            try store.insert(makeRecord(name, seed: UInt64(i)), uniquifyName: false)
        }
        XCTAssertThrowsError(try store.get("stary")) { error in
            XCTAssertEqual("\(error)", "no style named 'stary' (did you mean 'starry'?)")
        }
        XCTAssertThrowsError(try store.get("starry2")) { error in
            XCTAssertEqual("\(error)", "no style named 'starry2' (did you mean 'starry' or 'starry-2'?)")
        }
        XCTAssertThrowsError(try store.get("wave")) { error in
            XCTAssertEqual("\(error)", "no style named 'wave' (did you mean 'Wave'?)")
        }
        XCTAssertThrowsError(try store.get("xylophone")) { error in
            XCTAssertEqual("\(error)", "no style named 'xylophone'")
        }
        XCTAssertThrowsError(try store.remove(["mosiac"])) { error in
            XCTAssertEqual("\(error)", "no style named 'mosiac' (did you mean 'mosaic'?)")
        }
    }

    func testNearestByCosineDistance() throws {
        let (store, _) = try openStore()
        // Directions in the first three of the embedding's 100 dimensions.
        func direction(_ v: [Float]) -> [Float] { v + [Float](repeating: 0, count: 100 - v.count) }
        func record(_ name: String, _ e: [Float]) -> StyleRecord {
            StyleRecord(name: name, embedding: direction(e), modelID: "m", pixelHash: name)
        }
        try store.insert(record("east", [1, 0, 0]), uniquifyName: false)
        try store.insert(record("north", [0, 1, 0]), uniquifyName: false)
        try store.insert(record("northeast", [1, 1, 0]), uniquifyName: false)
        try store.insert(record("west", [-2, 0, 0]), uniquifyName: false)
        // Every style has the predictor's 100 values: another length is refused, not stored.
        XCTAssertThrowsError(try store.insert(StyleRecord(name: "other-model", embedding: [1, 0, 0, 0], modelID: "m2"),
                                              uniquifyName: false))
        let hits = try store.nearest(to: direction([3, 0.1, 0]), k: 3, excluding: "east")
        XCTAssertEqual(hits.map(\.record.name), ["northeast", "north", "west"])
        XCTAssertEqual(hits[2].cosineDistance, 2, accuracy: 1e-3)
        XCTAssertEqual(try store.nearest(to: direction([1, 0, 0]), k: 1).first?.cosineDistance ?? -1, 0, accuracy: 1e-6)
    }

    func testInvalidRecordsAreRejected() throws {
        let (store, _) = try openStore()
        XCTAssertThrowsError(try store.insert(makeRecord("bad/name", seed: 1), uniquifyName: true))
        XCTAssertThrowsError(try store.insert(makeRecord("ok", seed: 1, tags: ["bad tag"]), uniquifyName: true))
        var nan = makeRecord("nan", seed: 1)
        nan.embedding[3] = .nan
        XCTAssertThrowsError(try store.insert(nan, uniquifyName: true))
        XCTAssertThrowsError(try store.insert(StyleRecord(name: "empty", embedding: [], modelID: "m"), uniquifyName: true))
        XCTAssertEqual(try store.count, 0)
    }

    /// A file written by the version-1 export (camelCase keys, `addedAtMilliseconds`; the fuzz
    /// corpus keeps one) still imports, bit for bit, and exports again as version 2.
    func testVersion1ExportsStillImport() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/json/export.json")
        let old = try Data(contentsOf: path)
        let oldObject = try XCTUnwrap(try JSONSerialization.jsonObject(with: old) as? [String: Any])
        XCTAssertEqual(oldObject["version"] as? Int, 1)
        let oldStyles = try XCTUnwrap(oldObject["styles"] as? [[String: Any]])
        let records = try StyleStore.parseExport(old)
        XCTAssertEqual(records.count, oldStyles.count)
        for (r, o) in zip(records, oldStyles) {
            XCTAssertEqual(r.name, o["name"] as? String)
            XCTAssertEqual(r.modelID, o["modelID"] as? String)
            XCTAssertEqual(r.addedAtMilliseconds, (o["addedAtMilliseconds"] as? NSNumber)?.int64Value)
            let bytes = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(o["embeddingBase64"] as? String)))
            XCTAssertEqual(r.embedding.map(\.bitPattern), (0..<r.embedding.count).map { i in
                bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            })
        }
        let new = try StyleStore.exportJSON(records)
        let newObject = try XCTUnwrap(try JSONSerialization.jsonObject(with: new) as? [String: Any])
        XCTAssertEqual(newObject["version"] as? Int, 2)
        let first = try XCTUnwrap((newObject["styles"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(first.keys).subtracting(["recipe"]), ["name", "model_id", "pixel_hash", "source_file", "source_width", "source_height",
                                         "added", "tags", "embedding_count", "embedding_base64", "embedding", "thumbnail_base64"])
        XCTAssertTrue((first["added"] as? String)?.hasSuffix("Z") ?? false)
        XCTAssertEqual(try StyleStore.parseExport(new).map { $0.encoded() }, records.map { $0.encoded() })
    }

    func testExportDatesCarryMillisecondsExactly() {
        for ms: Int64 in [0, 1, 999, 1000, 1_796_176_244_160, 1_796_176_244_018, -1, -1001, 253_402_300_799_999] {
            let text = ISOMilliseconds.format(ms)
            XCTAssertEqual(ISOMilliseconds.parse(text), ms, text)
        }
        XCTAssertEqual(ISOMilliseconds.format(1_796_176_244_160).suffix(5), ".160Z")
        XCTAssertEqual(ISOMilliseconds.parse("2026-12-06T13:52:59Z"), ISOMilliseconds.parse("2026-12-06T13:52:59.000Z"))
        XCTAssertEqual(ISOMilliseconds.parse("2026-12-06T13:52:59.5Z").map { $0 % 1000 }, 500)
        for bad in ["", "yesterday", "2026-12-06T13:52:59", "2026-12-06T13:52:59.1234Z", "2026-12-06T13:52:59.-1Z"] {
            XCTAssertNil(ISOMilliseconds.parse(bad), bad)
        }
    }

    func testExportImportRoundTripIsBitExact() throws {
        let (source, _) = try openStore()
        var records = (0..<12).map { makeRecord("style-\($0)", seed: UInt64($0), thumbnailBytes: $0 * 100, tags: $0 % 2 == 0 ? ["even"] : []) }
        records[3].embedding[0] = -0.0
        records[4].embedding[0] = .leastNonzeroMagnitude
        records.append(makeRecord("blend", seed: 99, pixelHash: "", thumbnailBytes: 0,
                                  recipe: [.init(name: "style-1", weight: 1.0 / 3), .init(name: "style-2", weight: 2.0 / 3)]))
        for r in records { try source.insert(r, uniquifyName: false) }
        let json = try source.exportJSON().data

        let (target, _) = try openStore()
        XCTAssertEqual(try target.importJSON(json, overwrite: false), ImportSummary(added: 13, replaced: 0, skipped: 0))
        XCTAssertEqual(try target.list().map { $0.encoded() }, try source.list().map { $0.encoded() })
        XCTAssertEqual(try target.verify(), [])
        XCTAssertEqual(try target.lookup(pixelHash: records[5].pixelHash, modelID: "model-a")?.name, "style-5")

        // Again: names exist, so everything is skipped, or replaced with overwrite.
        XCTAssertEqual(try target.importJSON(json, overwrite: false), ImportSummary(added: 0, replaced: 0, skipped: 13))
        XCTAssertEqual(try target.importJSON(json, overwrite: true), ImportSummary(added: 0, replaced: 13, skipped: 0))
        XCTAssertEqual(try target.list().map { $0.encoded() }, try source.list().map { $0.encoded() })

        // The same image+model under another name is already in the library: skipped.
        try target.rename("style-0", to: "renamed")
        XCTAssertEqual(try target.importJSON(json, overwrite: false).skipped, 13)
        XCTAssertFalse(try target.contains("style-0"))

        // Bad files change nothing.
        let newer = String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"version\" : 2", with: "\"version\" : 3")
        XCTAssertThrowsError(try target.importJSON(Data(newer.utf8), overwrite: true)) { error in
            XCTAssertTrue("\(error)".contains("newer than this build supports"), "\(error)")
        }
        XCTAssertThrowsError(try target.importJSON(Data("{}".utf8), overwrite: true))
    }

    /// Starts with a 64 KiB map and writes ~2 MB: every MDB_MAP_FULL must grow the map and retry.
    func testMapGrowsFromTinyMap() throws {
        let path = try temporaryDirectory("pastiche-lib") + "/lib"
        var expected = [String: [UInt8]]()
        do {
            let store = try StyleStore(path: path, initialMapSize: 64 << 10)
            let initial = store.env.mapSize
            for i in 0..<100 {
                let r = makeRecord("big-\(i)", seed: UInt64(i), thumbnailBytes: 20_000)
                try store.insert(r, uniquifyName: false)
                expected[r.name] = r.encoded()
            }
            XCTAssertGreaterThan(store.env.mapSize, initial * 16)
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: try store.list().map { ($0.name, $0.encoded()) }), expected)
            XCTAssertEqual(try store.verify(), [])
        }
        // A fresh handle asking for a tiny map adopts the larger size recorded on disk.
        let again = try StyleStore(path: path, readOnly: true, initialMapSize: 64 << 10)
        XCTAssertGreaterThan(again.env.mapSize, 2 << 20)
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: try again.list().map { ($0.name, $0.encoded()) }), expected)
    }

    /// Threads of one process writing and reading at once while the map keeps growing:
    /// exercises the lock that keeps remapping away from live transactions.
    func testConcurrentThreadsWithMapGrowth() throws {
        let (store, _) = try openStore(64 << 10)
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 6) { worker in
            do {
                if worker < 4 {
                    for i in 0..<25 {
                        try store.insert(makeRecord("t\(worker)-\(i)", seed: UInt64(worker * 1000 + i), thumbnailBytes: 8000),
                                         uniquifyName: false)
                    }
                } else {
                    for _ in 0..<40 { _ = try store.list() }
                }
            } catch {
                failures.add("\(error)")
            }
        }
        XCTAssertEqual(failures.messages, [])
        XCTAssertEqual(try store.count, 100)
        XCTAssertEqual(try store.verify(), [])
    }

    func testPathThatIsAFile() throws {
        let file = try temporaryDirectory("pastiche-lib") + "/plain.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        for readOnly in [false, true] {
            XCTAssertThrowsError(try StyleStore(path: file, readOnly: readOnly)) { error in
                XCTAssertEqual("\(error)", "\(file) is a file, not a library directory")
            }
        }
        XCTAssertThrowsError(try StyleStore(path: file + "/sub/lib")) { error in
            XCTAssertEqual("\(error)", "\(file) is a file, not a library directory", "names the component that is a file")
        }
    }

    func testReadOnlyOpen() throws {
        let path = try temporaryDirectory("pastiche-lib") + "/lib"
        XCTAssertThrowsError(try StyleStore(path: path, readOnly: true)) { error in
            XCTAssertEqual("\(error)", "no style library at \(path)")
        }
        try StyleStore(path: path).insert(makeRecord("kept", seed: 1), uniquifyName: false)
        let store = try StyleStore(path: path, readOnly: true)
        XCTAssertEqual(try store.get("kept").name, "kept")
        assertThrows(StyleStoreError.openedReadOnly(path: path)) { try store.insert(makeRecord("new", seed: 2), uniquifyName: true) }
        assertThrows(StyleStoreError.openedReadOnly(path: path)) { try store.remove(["kept"]) }
        XCTAssertEqual(try store.names(), ["kept"])
    }

    func testReadOnlyDirectoryIsReportedBeforeWriting() throws {
        let dir = try temporaryDirectory("pastiche-lib") + "/locked"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        chmod(dir, 0o555)
        guard access(dir, W_OK) != 0 else {
            throw XCTSkip("running as root: access() ignores mode bits, so a 0555 directory is still writable")
        }
        XCTAssertThrowsError(try StyleStore(path: dir)) { error in
            XCTAssertEqual("\(error)", "cannot write the style library at \(dir): Permission denied")
        }
        XCTAssertThrowsError(try StyleStore(path: dir + "/lib")) { error in
            XCTAssertEqual("\(error)", "cannot write the style library at \(dir)/lib: Permission denied")
        }
    }

    func testNewerSchemaIsRefused() throws {
        let path = try temporaryDirectory("pastiche-lib") + "/lib"
        do {
            let store = try StyleStore(path: path)
            try store.env.write { txn in try txn.put(store.meta, Array("schema".utf8), [2, 0, 0, 0]) }
        }
        XCTAssertThrowsError(try StyleStore(path: path, readOnly: true)) { error in
            XCTAssertTrue("\(error)".contains("schema version 2, newer than this build supports (1)"), "\(error)")
        }
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var list = [String]()
    func add(_ m: String) { lock.lock(); list.append(m); lock.unlock() }
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
