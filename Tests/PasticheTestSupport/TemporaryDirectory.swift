import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A fresh, empty directory in the system's temporary folder, `<tmp>/<prefix>-<UUID>`. Nothing
/// removes it: for a directory that lives as long as one test, use `XCTestCase.temporaryDirectory`.
public func makeTemporaryDirectory(_ prefix: String = "pastiche-test") throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Removes `path` and everything in it, first giving its owner back write access to every folder
/// inside (a test may leave a read-only folder behind on purpose, which would stop the removal).
public func removeTemporaryDirectory(_ path: String) {
    var folders = [path]
    while let folder = folders.popLast() {
        chmod(folder, 0o755)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let child = folder + "/" + name
            var info = stat()
            if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { folders.append(child) }
        }
    }
    try? FileManager.default.removeItem(atPath: path)
}

extension XCTestCase {
    /// A fresh, empty directory (`makeTemporaryDirectory`), removed when the test ends.
    public func temporaryDirectory(_ prefix: String = "pastiche-test") throws -> String {
        let dir = try makeTemporaryDirectory(prefix)
        addTeardownBlock { removeTemporaryDirectory(dir) }
        return dir
    }
}
