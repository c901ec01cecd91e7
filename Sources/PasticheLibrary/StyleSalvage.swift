import Foundation

/// Copies every readable style of a damaged library into a new one. The old library is read
/// page by page with `LMDBFile` (never through LMDB, which trusts the file and may fault on
/// it) and never written; each record whose pages are intact and that decodes is inserted into
/// the new library, index entries rebuilt.
public enum StyleSalvage {
    public struct Report: Codable, Sendable {
        public var library: String
        public var output: String
        /// Records copied into the new library.
        public var recovered: Int
        /// Records found whose bytes do not decode, by name.
        public var damagedRecords: [String]
        /// Damaged pages skipped (their records could not be reached).
        public var damagedPages: [String]
    }

    public static func run(library: String, to output: String) throws -> Report {
        let source = (library as NSString).standardizingPath, target = (output as NSString).standardizingPath
        guard source != target else { throw StyleStoreError.invalidImport("salvage writes a new library; give another directory than \(library)") }
        let dataFile = (library as NSString).appendingPathComponent("data.mdb")
        guard FileManager.default.fileExists(atPath: dataFile) else { throw StyleStoreError.noLibrary(path: library) }
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: output), !existing.isEmpty {
            throw StyleStoreError.invalidImport("\(output) already exists and is not empty; salvage into a new directory")
        }
        if FileManager.default.fileExists(atPath: output),
           (try? FileManager.default.contentsOfDirectory(atPath: output)) == nil {
            throw StyleStoreError.notADirectory(path: output)
        }
        let found = try LMDBFile.salvage(path: dataFile)
        var report = Report(library: library, output: output, recovered: 0, damagedRecords: [], damagedPages: found.damaged)
        var records: [StyleRecord] = []
        for (key, value) in found.records[StyleStore.stylesDatabase] ?? [] {
            let name = String(decoding: key, as: UTF8.self)
            guard let r = try? StyleRecord(encoded: value), r.name == name, (try? StyleStore.validate(r)) != nil else {
                report.damagedRecords.append(name)
                continue
            }
            records.append(r)
        }
        let store = try StyleStore(path: output)
        for r in records where !(try store.insert(r, uniquifyName: false).reused) { report.recovered += 1 }
        return report
    }
}
