import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

/// Where a command's image results go: one file, stdout (`-`), or a directory for several.
/// Several photos with the same file name (from different folders) get distinct outputs
/// (`cat.png`, `cat-2.png`, … in input order), and no output may be one of the inputs.
struct OutputPlan {
    let destination: String?
    let inputs: [String]
    let suffix: String

    /// Output file names without directory, one per input: the input's stem, numbered from the
    /// second use of a name on.
    private var names: [String] {
        var seen: [String: Int] = [:]
        return inputs.map { input in
            let stem = URL(fileURLWithPath: input == "-" ? "stdin" : input).deletingPathExtension().lastPathComponent
            let base = destination == nil ? stem + suffix : stem
            let n = (seen[base.lowercased()] ?? 0) + 1
            seen[base.lowercased()] = n
            return (n == 1 ? base : "\(base)-\(n)") + ".png"
        }
    }

    /// Output path for input `i`.
    func path(for i: Int) -> String {
        guard let destination else { return names[i] }
        if inputs.count == 1 { return destination }
        return (destination as NSString).appendingPathComponent(names[i])
    }

    func validate() throws {
        if inputs.count > 1, let d = destination {
            if d == "-" { throw ValidationError("-o - writes one image; give one photo, or -o DIR for several") }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: d, isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("-o \(d) is a file; with several photos -o must name a directory")
            }
            if !FileManager.default.fileExists(atPath: d), ImageFolder.isImageName(d) {
                throw ValidationError("-o \(d) names an image, but there are \(inputs.count) photos; give a directory, or one photo")
            }
        }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read only once") }
        for i in inputs.indices {
            let out = path(for: i)
            if out != "-" { try refuseOverwritingInputs(output: out, inputs: inputs) }
        }
    }

    func prepare() throws {
        if inputs.count > 1, let d = destination {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
    }
}
