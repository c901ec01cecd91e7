import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary
import PasticheModels
import PasticheTools

/// `--library PATH`: every command that reads or writes the style library takes it.
struct LibraryOptions: ParsableArguments {
    @Option(name: .long, help: "Style library directory (LMDB). Default: $PASTICHE_HOME/library.")
    var library: String?

    var path: String { PasticheHome().library(library) }

    /// Whether a library has been created at `path`.
    var exists: Bool { FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("data.mdb")) }

    /// Nothing at `path` yet, or an empty directory: a library with no styles. (A file there is
    /// not a library, and opening it says so.)
    var notCreatedYet: Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return true }
        return isDir.boolValue && !exists
    }

    /// The library, opened for changes only if it exists: commands that change existing
    /// styles (rm, rename, tag) never create an empty library as a side effect.
    func existing() throws -> StyleLibrary {
        guard exists else { throw StyleStoreError.noLibrary(path: path) }
        return try StyleLibrary(path: path)
    }
}
