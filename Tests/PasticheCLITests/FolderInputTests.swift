import Foundation
import XCTest

/// `pastiche stylize DIR -o OUT/`: every image below DIR, sub-folders kept, other files skipped
/// with a note.
final class FolderInputTests: CLITestCase {
    func testStylizeAFolderKeepsItsStructure() throws {
        let (vangogh, _, photo) = try styleAndPhoto()
        let album = scratch + "/album"
        try FileManager.default.createDirectory(atPath: album + "/2024/summer", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: photo, toPath: album + "/top.png")
        try FileManager.default.copyItem(atPath: photo, toPath: album + "/2024/summer/beach.png")
        try FileManager.default.copyItem(atPath: photo, toPath: album + "/2024/top.png")
        try Data("notes".utf8).write(to: URL(fileURLWithPath: album + "/2024/notes.txt"))
        let r = try ok(["stylize", "--style-image", vangogh, album, "-o", scratch + "/out/"])
        XCTAssertTrue(r.stderr.contains("skipping 1 file that is not a PNG or JPEG image"), r.stderr)
        for rel in ["top.png", "2024/summer/beach.png", "2024/top.png"] {
            let a = try decode(scratch + "/out/" + rel)
            XCTAssertEqual([a.width, a.height], [96, 64], rel)
        }
        let single = try decode(scratch + "/out/top.png")
        try ok(["stylize", "--style-image", vangogh, photo, "-o", scratch + "/one.png"])
        XCTAssertEqual(single.pixels, try decode(scratch + "/one.png").pixels, "a folder's photo is stylized as the photo alone")
        XCTAssertTrue(try fails(["stylize", "--style-image", vangogh, album]).contains("-o DIR"))
        let empty = scratch + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        XCTAssertTrue(try fails(["stylize", "--style-image", vangogh, empty, "-o", scratch + "/o2/"]).contains("no PNG or JPEG"))
    }

    /// One photo with -o DIR/ (or -o an existing directory) goes inside it under its own name,
    /// as several photos do; blend follows the same rule.
    func testOnePhotoIntoAFolder() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let stem = ((photo as NSString).lastPathComponent as NSString).deletingPathExtension
        try ok(["stylize", "--style-image", vangogh, photo, "-o", scratch + "/new/"])
        let inNew = try decode(scratch + "/new/" + stem + ".png")
        try ok(["stylize", "--style-image", vangogh, photo, "-o", scratch + "/alone.png"])
        XCTAssertEqual(inNew.pixels, try decode(scratch + "/alone.png").pixels)
        try FileManager.default.createDirectory(atPath: scratch + "/existing", withIntermediateDirectories: true)
        try ok(["stylize", "--style-image", vangogh, photo, "-o", scratch + "/existing"])
        XCTAssertEqual(try decode(scratch + "/existing/" + stem + ".png").pixels, inNew.pixels)
        try ok(["blend", "--styles", "\(vangogh),\(hokusai)", "--weights", "0.5,0.5", photo, "-o", scratch + "/blended/"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch + "/blended/" + stem + ".png"))
        XCTAssertTrue(try fails(["stylize", "--style-image", vangogh, photo, "-o", scratch + "/x.png/"]).contains("not a directory"))
    }
}
