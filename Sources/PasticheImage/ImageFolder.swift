import Foundation

/// The one rule every command uses to find images in a folder: PNG and JPEG files by extension
/// (any case), recursively, in sorted order, skipping hidden files and everything inside hidden
/// folders (`.git/`, macOS `._name.jpg` forks).
public enum ImageFolder {
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    public static func isImageName(_ path: String) -> Bool {
        extensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// Every image under `dir`, as paths that start with `dir`, sorted.
    public static func scan(_ dir: String) -> [String] { entries(dir).map(\.path) }

    /// Every image under `dir`: its path and its path relative to `dir`, sorted.
    public static func entries(_ dir: String) -> [(path: String, relative: String)] { contents(dir).images }

    /// One walk of `dir`: its images (as `entries` lists them) and how many other visible files
    /// there are (what a scan skips, for a command to mention).
    public static func contents(_ dir: String) -> (images: [(path: String, relative: String)], otherFiles: Int) {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return ([], 0) }
        var images: [(path: String, relative: String)] = []
        var others = 0
        while let rel = e.nextObject() as? String {
            if rel.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let full = (dir as NSString).appendingPathComponent(rel)
            if isImageName(rel) {
                images.append((full, rel))
            } else {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { others += 1 }
            }
        }
        return (images.sorted { $0.path < $1.path }, others)
    }

    /// Files as given, each folder replaced by its images. A missing path, or a folder without
    /// images, is an error naming it.
    public static func expand(_ paths: [String]) throws -> [String] {
        var result: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                throw ImageError(file: p, kind: .notFound, reason: "no such file or folder")
            }
            if !isDir.boolValue { result.append(p); continue }
            let found = scan(p)
            if found.isEmpty { throw ImageError(file: p, kind: .notFound, reason: "no PNG or JPEG images in this folder") }
            result += found
        }
        return result
    }
}
