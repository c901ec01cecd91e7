import Foundation
import PasticheImage
import PasticheTestSupport
import XCTest

/// Faults a user's machine produces (issue 32), as suite tests: a full disk (a small tmpfs;
/// skipped where mount is not permitted, CI runs as root), a library another user owns
/// (setpriv; skipped unless root), a creation cut short, and leftovers of killed runs.
/// Tests/faults/fault_injection.py runs the same faults many times at random moments.
final class FaultTests: CLITestCase {
    /// A tmpfs of `kilobytes` at a fresh mount point, unmounted at the end of the test; nil
    /// where mounting is not permitted.
    private func tmpfs(kilobytes: Int) throws -> String? {
        let point = scratch + "/tmpfs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        guard shell("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", point]) == 0 else { return nil }
        addTeardownBlock { _ = self.shell("/bin/umount", ["-l", point]) }
        return point
    }

    /// Fills the file system at `folder` to `keep` free bytes.
    private func fill(_ folder: String, keeping keep: Int) throws {
        var info = statvfs()
        XCTAssertEqual(statvfs(folder, &info), 0)
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        if free > keep { XCTAssertEqual(shell("/usr/bin/fallocate", ["-l", "\(free - keep)", folder + "/filler"]), 0) }
    }

    @discardableResult
    private func shell(_ tool: String, _ args: [String]) -> Int32 {
        (try? ProcessRunner.run(tool, args))?.status ?? -1
    }

    /// A library created on a full disk: one line naming the full disk, no signal, nothing
    /// left behind; with space back the same command creates it.
    func testALibraryCreatedOnAFullDiskLeavesNothingAndWorksOnceThereIsSpace() throws {
        guard let disk = try tmpfs(kilobytes: 64) else { throw XCTSkip("mount -t tmpfs is not permitted here") }
        let (vangogh, _, _) = try styleAndPhoto()
        for keep in [0, 4096, 12288] {
            try fill(disk, keeping: keep)
            let lib = disk + "/lib-\(keep)"
            let line = try fails(["embed", "add", vangogh], library: lib)
            XCTAssertTrue(line.contains("no space left on device"), line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: lib), "nothing left behind at \(keep) bytes free")
            try FileManager.default.removeItem(atPath: disk + "/filler")
            try ok(["embed", "add", vangogh], library: lib)
            XCTAssertEqual(try names(library: lib), ["vangogh"])
            try FileManager.default.removeItem(atPath: lib)
        }
    }

    /// An existing library on a full disk keeps every record, and says the disk is full.
    func testAFullDiskKeepsAnExistingLibraryAndSaysSo() throws {
        guard let disk = try tmpfs(kilobytes: 1024) else { throw XCTSkip("mount -t tmpfs is not permitted here") }
        let (vangogh, hokusai, _) = try styleAndPhoto()
        let lib = disk + "/lib"
        try ok(["embed", "add", vangogh], library: lib)
        try fill(disk, keeping: 0)
        let line = try fails(["embed", "add", hokusai], library: lib)
        XCTAssertTrue(line.contains("no space left on device"), line)
        XCTAssertEqual(try names(library: lib), ["vangogh"])
        try FileManager.default.removeItem(atPath: disk + "/filler")
        try ok(["embed", "add", hokusai], library: lib)
        XCTAssertEqual(try names(library: lib).sorted(), ["hokusai", "vangogh"])
    }

    /// A data.mdb shorter than two pages (a creation cut short by an older version) is set
    /// aside, not deleted, and the next write creates the library again.
    func testACreationCutShortIsSetAsideAndTheLibraryMadeAgain() throws {
        let (vangogh, hokusai, _) = try styleAndPhoto()
        let lib = scratch + "/cut"
        try ok(["embed", "add", vangogh], library: lib)
        let data = try Data(contentsOf: URL(fileURLWithPath: lib + "/data.mdb"))
        try data.prefix(4096).write(to: URL(fileURLWithPath: lib + "/data.mdb"))
        let add = try ok(["embed", "add", hokusai], library: lib)
        XCTAssertTrue(add.stderr.contains("kept as"), add.stderr)
        XCTAssertEqual(try names(library: lib), ["hokusai"])
        let kept = try FileManager.default.contentsOfDirectory(atPath: lib).filter { $0.hasPrefix("data.mdb.interrupted-") }
        XCTAssertEqual(kept.count, 1, "the cut file is kept")
    }

    /// A library owned by another user: reads work (list, export, show, stylize --style), writes
    /// are one line, and the records stay.
    func testALibraryTheUserCannotWriteCanStillBeRead() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to act as another user")
        }
        let (vangogh, _, photo) = try styleAndPhoto()
        let lib = scratch + "/owned"
        try ok(["embed", "add", vangogh], library: lib)
        // The other user needs to reach the scratch folder and the model.
        let home = scratch + "/nobody"
        try FileManager.default.createDirectory(atPath: home + "/models", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.modelPath, toPath: home + "/models/pastiche-v1-256.safetensors")
        var dir = scratch
        while dir != "/" && !dir.isEmpty { chmod(dir, 0o755); dir = (dir as NSString).deletingLastPathComponent }
        for f in [photo, lib + "/data.mdb", lib + "/lock.mdb", home + "/models/pastiche-v1-256.safetensors"] { chmod(f, 0o644) }
        chown(home, 65534, 65534)
        func asNobody(_ args: [String]) throws -> (status: Int32, stderr: String) {
            var env = ProcessInfo.processInfo.environment
            env["HOME"] = home
            env["PASTICHE_HOME"] = home
            let r = try ProcessRunner.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binaryPath]
                                              + args + ["--library", lib], environment: env)
            XCTAssertFalse(r.signaled, "\(args): ended by a signal")
            return (r.status, r.stderr)
        }
        for args in [["embed", "list"], ["embed", "export", home + "/e.json"], ["embed", "show", "vangogh"],
                     ["stylize", photo, "--style", "vangogh", "-o", home + "/o.png"]] {
            let r = try asNobody(args)
            XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        }
        for args in [["embed", "add", photo], ["embed", "rename", "vangogh", "x"], ["embed", "rm", "vangogh"]] {
            let r = try asNobody(args)
            XCTAssertNotEqual(r.status, 0, "\(args) must fail")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("cannot write the style library"), r.stderr)
        }
        XCTAssertEqual(try names(library: lib), ["vangogh"])
    }

    /// Leftovers of killed runs beside an output (`.NAME.tmp-PID-…` of a dead process, and the
    /// older `.NAME.tmp-XXXXXX` form when stale) are removed by the next write to that name;
    /// a live process's temporary is left alone.
    func testKilledRunsTemporariesAreRemovedByTheNextWrite() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let dead = try ProcessRunner.start("/bin/true", [])
        _ = try dead.wait()
        let out = scratch + "/out.png"
        let mine = scratch + "/.out.png.tmp-\(dead.pid)-Ab1234"
        let legacy = scratch + "/.out.png.tmp-Qw5678", fresh = scratch + "/.out.png.tmp-Zx9012"
        let live = scratch + "/.out.png.tmp-\(getpid())-Cd3456"
        for p in [mine, legacy, fresh, live] { XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data("trunc".utf8))) }
        let hourAgo = Date().addingTimeInterval(-3600)
        try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: legacy)
        try ok(["stylize", photo, "--style-image", vangogh, "-o", out], withLibrary: false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: mine), "a dead process's temporary is removed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: legacy), "a stale temporary of the older form is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: fresh), "a recent one of the older form may be a live writer's")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live process's temporary is left alone")
        _ = try decode(out)
    }
}
