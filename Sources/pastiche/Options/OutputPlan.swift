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
    /// For an input found in a folder argument: its path below that folder, which the output
    /// keeps (sub-folders included) under -o DIR.
    let relative: [String?]

    init(destination: String?, inputs: [String], suffix: String, relative: [String?]? = nil) {
        self.destination = destination
        self.inputs = inputs
        self.suffix = suffix
        self.relative = relative ?? inputs.map { _ in nil }
    }

    /// From photo arguments where any may be a folder (its images, recursively, sorted).
    init(destination: String?, photos: PhotoArguments, suffix: String) {
        self.init(destination: destination, inputs: photos.files, suffix: suffix, relative: photos.relative)
    }

    /// -o names a directory: there are several outputs, or it ends in "/" or is a directory
    /// already (one photo then goes inside it, under its own name).
    private var intoDirectory: Bool {
        if inputs.count > 1 || relative.contains(where: { $0 != nil }) { return true }
        guard let d = destination, d != "-" else { return false }
        var isDir: ObjCBool = false
        return d.hasSuffix("/") || (FileManager.default.fileExists(atPath: d, isDirectory: &isDir) && isDir.boolValue)
    }

    /// Output file names without directory, one per input: the input's stem (for a folder's
    /// image, its relative path without extension), numbered from the second use of a name on.
    private var names: [String] {
        var seen: [String: Int] = [:]
        return zip(inputs, relative).map { input, rel in
            let base: String
            if let rel {
                base = (rel as NSString).deletingPathExtension
            } else {
                let stem = URL(fileURLWithPath: input == "-" ? "stdin" : input).deletingPathExtension().lastPathComponent
                base = destination == nil ? stem + suffix : stem
            }
            let n = (seen[base.lowercased()] ?? 0) + 1
            seen[base.lowercased()] = n
            return (n == 1 ? base : "\(base)-\(n)") + ".png"
        }
    }

    /// Output path for input `i`.
    func path(for i: Int) -> String {
        guard let destination else { return names[i] }
        if !intoDirectory { return destination }
        return (destination as NSString).appendingPathComponent(names[i])
    }

    func validate() throws {
        if destination == nil, relative.contains(where: { $0 != nil }) {
            throw ValidationError("a folder of photos needs -o DIR for the results")
        }
        if intoDirectory, let d = destination {
            if d == "-" { throw ValidationError("-o - writes one image; give one photo, or -o DIR for several") }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: d, isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("-o \(d) is a file; with several photos -o must name a directory")
            }
            if !FileManager.default.fileExists(atPath: d), ImageFolder.isImageName(d) {
                throw ValidationError(inputs.count > 1
                    ? "-o \(d) names an image, but there are \(inputs.count) photos; give a directory, or one photo"
                    : "-o \(d) names an image, not a directory; for one image give it without the trailing /")
            }
        }
        if inputs.filter({ $0 == "-" }).count > 1 { throw ValidationError("stdin (-) can be read only once") }
        try refuseOverwriting(inputs)
    }

    /// Refuses an output that would replace one of `files`: the photos, or the command's other
    /// inputs (masks, style images).
    func refuseOverwriting(_ files: [String]) throws {
        for i in inputs.indices {
            let out = path(for: i)
            if out != "-" { try refuseOverwritingInputs(output: out, inputs: files) }
        }
    }

    func prepare() throws {
        guard intoDirectory, let d = destination else { return }
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        for i in inputs.indices where relative[i]?.contains("/") == true {
            try FileManager.default.createDirectory(atPath: (path(for: i) as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        }
    }
}

/// Photo arguments with folders expanded: each folder's PNG and JPEG images, recursively and
/// sorted (`ImageFolder`), with their paths below it; other files in a folder are skipped,
/// and counted so the command can say so.
struct PhotoArguments {
    var files: [String] = []
    var relative: [String?] = []
    var skipped = 0

    init(_ arguments: [String]) throws {
        for a in arguments {
            var isDir: ObjCBool = false
            guard a != "-", FileManager.default.fileExists(atPath: a, isDirectory: &isDir), isDir.boolValue else {
                files.append(a)
                relative.append(nil)
                continue
            }
            let (entries, others) = ImageFolder.contents(a)
            if entries.isEmpty { throw ImageError(file: a, kind: .notFound, reason: "no PNG or JPEG images in this folder") }
            files += entries.map(\.path)
            relative += entries.map(\.relative)
            skipped += others
        }
    }
}
