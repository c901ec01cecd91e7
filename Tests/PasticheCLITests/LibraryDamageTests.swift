import Foundation
import PasticheCore
@testable import PasticheLibrary
import XCTest

/// A damaged library (issue 16): truncated files, overwritten pages, flipped bytes and records
/// that do not decode. Every command must end with one line and a non-zero status, never by a
/// signal; the readable records stay listable, exportable and removable; `doctor` finds the
/// damage; `embed salvage` recovers every record whose pages are intact.
final class LibraryDamageTests: CLITestCase {
    /// The commands that open a library, each of which once died of SIGBUS on a damaged file.
    func commands(_ lib: String) -> [[String]] {
        [["embed", "list", "--library", lib], ["embed", "export", "-", "--library", lib],
         ["doctor", "--library", lib], ["embed", "show", "style-07", "--vector", "--library", lib],
         ["embed", "nearest", "style-03", "-k", "2", "--library", lib]]
    }

    /// 24 styles; thumbnails from none to three pages, so records live on leaf pages and on
    /// overflow runs, and the tree has branch pages. Every fourth is an AdaIN style (1024
    /// values, another model's), so salvage and verify see both record lengths.
    func makeLibrary(_ path: String, seed: UInt64 = 1) throws -> [String] {
        var rng = SplitMix64(seed: seed)
        let store = try StyleStore(path: path)
        var names: [String] = []
        for i in 0..<24 {
            let thumbnail = (0..<(i * 523 % 12_000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let name = String(format: "style-%02d", i)
            let adain = i % 4 == 1
            let r = StyleRecord(name: name, embedding: (0..<(adain ? 1024 : 100)).map { _ in rng.normal() }, modelID: adain ? "model-adain" : "model-a",
                                pixelHash: String(format: "%016llx", rng.next()), sourceFile: "s\(i).png",
                                tags: i % 3 == 0 ? ["third"] : [], thumbnail: thumbnail)
            try store.insert(r, uniquifyName: false)
            names.append(name)
        }
        return names
    }

    func copyLibrary(_ from: String, _ to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: from + "/data.mdb", toPath: to + "/data.mdb")
    }

    func assertCleanExit(_ r: CLIResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.signaled, r.summary, file: file, line: line)
        XCTAssertTrue(r.status >= 0 && r.status < 128, r.summary, file: file, line: line)
        if r.status != 0 {
            XCTAssertEqual(r.stderrLines.count, 1, r.summary, file: file, line: line)
            XCTAssertTrue(r.stderrLines.first?.hasPrefix("pastiche: error: ") ?? false, r.summary, file: file, line: line)
        }
    }

    func testTruncatedAndOverwrittenFilesEndCleanlyAndSalvageKeepsIntactRecords() throws {
        let original = scratch + "/original"
        let names = try makeLibrary(original)
        let dataFile = original + "/data.mdb"
        let size = try FileManager.default.attributesOfItem(atPath: dataFile)[.size] as! Int
        let pages = try LMDBFile.recordPages(path: dataFile, database: "styles")
        XCTAssertEqual(Set(pages.keys), Set(names))
        XCTAssertGreaterThan(size, 20 * 4096, "the library spans many pages")
        let pageSize = 4096
        // The cases (8192, 12288, half) and a cut at every fourth page, plus odd sizes.
        var cuts = Set([0, 100, 4096, 8192, 12288, size / 2, size - 1, size - pageSize])
        for p in stride(from: 2, to: size / pageSize, by: 4) { cuts.insert(p * pageSize) }
        var salvagedAny = false, salvagedAdaIN = false
        for cut in cuts.sorted() {
            let damaged = scratch + "/cut-\(cut)"
            try copyLibrary(original, damaged)
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: damaged + "/data.mdb"))
            try h.truncate(atOffset: UInt64(cut))
            try h.close()
            for c in commands(damaged) {
                let r = try pastiche(c, withLibrary: false)
                assertCleanExit(r)
                XCTAssertNotEqual(r.status, 0, "a truncated library is reported: \(r.summary)")
            }
            // Salvage: exactly the records whose every page lies before the cut.
            let out = scratch + "/salvaged-\(cut)"
            let s = try pastiche(["embed", "salvage", out, "--json", "--library", damaged], withLibrary: false)
            assertCleanExit(s)
            let intact = Set(pages.filter { $0.value.allSatisfy { ($0 + 1) * UInt64(pageSize) <= UInt64(cut) } }.keys)
            if s.status == 0 {
                let listed = try pastiche(["embed", "list", "--json", "--library", out], withLibrary: false)
                XCTAssertEqual(listed.status, 0, listed.summary)
                let got = Set(try (JSONSerialization.jsonObject(with: listed.stdout) as! [[String: Any]]).map { $0["name"] as! String })
                XCTAssertEqual(got, intact, "cut at \(cut)")
                salvagedAny = salvagedAny || !got.isEmpty
                // Each salvaged record is the original, embedding length and values included.
                let before = try StyleStore(path: original, readOnly: true), after = try StyleStore(path: out, readOnly: true)
                for name in got {
                    let a = try before.get(name), b = try after.get(name)
                    XCTAssertTrue(a.embedding.map(\.bitPattern) == b.embedding.map(\.bitPattern) && a.modelID == b.modelID, "cut at \(cut): \(name)")
                }
                salvagedAdaIN = salvagedAdaIN || got.contains { (try? after.get($0).embedding.count) == 1024 }
            } else {
                XCTAssertTrue(intact.isEmpty, "cut at \(cut): salvage failed but \(intact.count) records were intact")
            }
        }
        XCTAssertTrue(salvagedAny, "some cut leaves records to salvage")
        XCTAssertTrue(salvagedAdaIN, "some cut leaves an AdaIN record (1024 values) to salvage")

        // Everything after the meta pages overwritten with 0xFF.
        let ff = scratch + "/ff"
        try copyLibrary(original, ff)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: ff + "/data.mdb"))
        try h.seek(toOffset: 2 * UInt64(pageSize))
        h.write(Data(repeating: 0xFF, count: size - 2 * pageSize))
        try h.close()
        for c in commands(ff) {
            let r = try pastiche(c, withLibrary: false)
            assertCleanExit(r)
            XCTAssertNotEqual(r.status, 0, r.summary)
        }
    }

    func testRandomByteFlipsNeverEndInASignal() throws {
        let original = scratch + "/original"
        _ = try makeLibrary(original, seed: 2)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: original + "/data.mdb"))
        var rng = SplitMix64(seed: 77)
        var reported = 0, runs = 0
        for trial in 0..<40 {
            var damaged = bytes
            for k in 0..<(1 + Int(rng.next() % 8)) {
                // Half the flips land in a page's first 64 bytes (header, node pointers, the
                // first nodes' headers), where LMDB reads page numbers and offsets.
                let page = 2 + Int(rng.next() % UInt64(bytes.count / 4096 - 2))
                let at = k % 2 == 0 ? page * 4096 + Int(rng.next() % 64)
                                    : 8192 + Int(rng.next() % UInt64(bytes.count - 8192))
                damaged[at] ^= UInt8(1 << (rng.next() % 8))
            }
            let lib = scratch + "/flip-\(trial)"
            try FileManager.default.createDirectory(atPath: lib, withIntermediateDirectories: true)
            try damaged.write(to: URL(fileURLWithPath: lib + "/data.mdb"))
            for c in commands(lib) {
                let r = try pastiche(c, withLibrary: false)
                assertCleanExit(r)
                runs += 1
                if r.status != 0 { reported += 1 }
            }
            let s = try pastiche(["embed", "salvage", lib + "-salvaged", "--library", lib], withLibrary: false)
            assertCleanExit(s)
        }
        print("byte flips: \(runs) runs, \(reported) clean errors, none by signal")
    }

    /// Records that do not decode, or whose embedding is not 100 values, are reported by key;
    /// every other record stays listable and exportable; `rm` removes the bad ones; doctor
    /// exits non-zero until they are gone.
    /// The input the fuzz smoke run met in CI: one bit turns the main tree's record of the
    /// `styles` database into F_SUBDATA|F_DUPDATA, on which LMDB itself crashed. Every command
    /// that opens it now ends with one line naming the damage.
    func testADatabaseRecordWithWrongFlagsIsOneLineNotACrash() throws {
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.repoRoot + "/Tests/Fuzz/corpus/library/regression-database-record-flags.mdb",
                                         toPath: library + "/data.mdb")
        for args in [["embed", "list"], ["embed", "show", "anything"], ["doctor"]] {
            let line = try fails(args)
            XCTAssertTrue(line.contains("has flags 6"), "\(args): \(line)")
        }
    }

    func testDamagedRecordsAreReportedByKeyAndRemovable() throws {
        let lib = scratch + "/records"
        let names = try makeLibrary(lib)
        do {
            let store = try StyleStore(path: lib)
            var short = try store.get("style-04")
            short.name = "short-embedding"
            short.embedding = Array(short.embedding.prefix(99))
            short.pixelHash = "feedfeedfeedfeed"
            try store.writing { txn in
                try txn.put(store.styles, Array("broken".utf8), Array("not a style record".utf8))
                try txn.put(store.styles, Array("short-embedding".utf8), short.encoded())
                try txn.put(store.byPixels, StyleStore.pixelKey("feedfeedfeedfeed", "model-a"), Array("short-embedding".utf8))
            }
        }
        let list = try pastiche(["embed", "list", "--json", "--library", lib], withLibrary: false)
        assertCleanExit(list)
        XCTAssertNotEqual(list.status, 0)
        XCTAssertTrue(list.stderr.contains("'broken'") && list.stderr.contains("'short-embedding'"), list.summary)
        let listed = try (JSONSerialization.jsonObject(with: list.stdout) as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertEqual(listed, names)
        let export = try pastiche(["embed", "export", "-", "--library", lib], withLibrary: false)
        XCTAssertNotEqual(export.status, 0)
        let exported = try JSONSerialization.jsonObject(with: export.stdout) as! [String: Any]
        XCTAssertEqual((exported["styles"] as! [Any]).count, names.count)

        let doctor = try pastiche(["doctor", "--library", lib], withLibrary: false)
        assertCleanExit(doctor)
        XCTAssertNotEqual(doctor.status, 0)
        XCTAssertTrue(doctor.stdoutText.contains("broken") && doctor.stdoutText.contains("short-embedding"), doctor.stdoutText)
        // A style with the wrong embedding length is an error, not a crash.
        let stylize = try pastiche(["stylize", "--style", "short-embedding", CLI.repoRoot + "/docs/images/chelsea_cat.png",
                                    "-o", scratch + "/x.png", "--library", lib], withLibrary: false)
        assertCleanExit(stylize)
        XCTAssertNotEqual(stylize.status, 0)

        let rm = try pastiche(["embed", "rm", "broken", "short-embedding", "--library", lib], withLibrary: false)
        XCTAssertEqual(rm.status, 0, rm.summary)
        let after = try pastiche(["embed", "list", "--library", lib], withLibrary: false)
        XCTAssertEqual(after.status, 0, after.summary)
        let healthy = try pastiche(["doctor", "--library", lib], withLibrary: false)
        XCTAssertFalse(healthy.stdoutText.contains("problem:   library"), healthy.stdoutText)
        // The index entry of the removed record went with it.
        XCTAssertEqual(try StyleStore(path: lib, readOnly: true).verify(), [])
    }

    func testImportRejectsEmbeddingsThatAreNot100Values() throws {
        let lib = scratch + "/import"
        _ = try makeLibrary(lib)
        let json = try pastiche(["embed", "export", "-", "--library", lib], withLibrary: false).stdout
        var file = try JSONSerialization.jsonObject(with: json) as! [String: Any]
        for count in [1, 99, 101, 1000] {
            var styles = file["styles"] as! [[String: Any]]
            var s = styles[0]
            var bytes = Data()
            for i in 0..<count { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            s["name"] = "imported-\(count)"
            s["pixel_hash"] = ""
            s["embedding_count"] = count
            s["embedding_base64"] = bytes.base64EncodedString()
            s.removeValue(forKey: "embedding")
            styles = [s]
            file["styles"] = styles
            let path = scratch + "/import-\(count).json"
            try JSONSerialization.data(withJSONObject: file).write(to: URL(fileURLWithPath: path))
            let r = try pastiche(["embed", "import", path, "--library", lib], withLibrary: false)
            assertCleanExit(r)
            XCTAssertNotEqual(r.status, 0, r.summary)
            XCTAssertTrue(r.stderr.contains("100"), r.summary)
        }
        XCTAssertEqual(try StyleStore(path: lib, readOnly: true).count, 24)
    }
}
