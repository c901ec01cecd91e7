import ArgumentParser
import Foundation

/// Whether two paths name the same file: the same resolved path, or (both existing) the same
/// device and inode, so `-o ./a.png`, a symlink or a hard link to an input all count.
func sameFile(_ a: String, _ b: String) -> Bool {
    guard a != "-", b != "-" else { return false }
    func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
    if resolved(a) == resolved(b) { return true }
    var sa = stat(), sb = stat()
    guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
}

/// Refuses an output that would replace one of the command's inputs.
func refuseOverwritingInputs(output: String, inputs: [String], flag: String = "-o") throws {
    if let input = inputs.first(where: { sameFile(output, $0) }) {
        throw ValidationError("\(flag) \(output) is the input \(input); write the result to another file")
    }
}
