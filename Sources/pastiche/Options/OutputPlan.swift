import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

/// Where a command's image results go: one file, stdout (`-`), or a directory for several.
struct OutputPlan {
    let destination: String?
    let inputs: [String]
    let suffix: String

    /// Output path for input `i`.
    func path(for i: Int) -> String {
        let stem = URL(fileURLWithPath: inputs[i] == "-" ? "stdin" : inputs[i]).deletingPathExtension().lastPathComponent
        guard let destination else { return "\(stem)\(suffix).png" }
        if inputs.count == 1 { return destination }
        return destination + "/" + stem + ".png"
    }

    func validate() throws {
        if inputs.count > 1, let d = destination {
            if d == "-" { throw ValidationError("-o - writes one image; give one photo, or -o DIR for several") }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: d, isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("-o \(d) is a file; with several photos -o must name a directory")
            }
        }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read only once") }
    }

    func prepare() throws {
        if inputs.count > 1, let d = destination {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
    }
}
