import Foundation
import PasticheImage
import XCTest

/// One painting request, one rule: every painting command (and the studio, in StudioTests)
/// resolves style arguments the same way, never stores image styles, parses `--styles` with one
/// set of messages, and treats an existing output the same way.
final class PaintingRequestTests: CLITestCase {
    func testEveryCommandResolvesStylesByTheSameRuleAndStoresNothing() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        try ok(["embed", "add", vangogh, "--name", "v"])
        let before = try export()
        let reference = scratch + "/reference.png"
        try ok(["stylize", "--style", "v", photo, "-o", reference])
        let expected = try Data(contentsOf: URL(fileURLWithPath: reference))

        // The library name and an image file in one list; the weight 1 picks the name's style.
        let list = "v,\(hokusai)"
        try ok(["stylize", "--styles", list, "--weights", "1,0", photo, "-o", scratch + "/stylize.png"])
        try ok(["blend", "--styles", list, "--weights", "1,0", photo, "-o", scratch + "/blend.png"])
        for out in ["stylize", "blend"] {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch + "/\(out).png")), expected,
                           "\(out) --styles \(list) --weights 1,0 paints as --style v")
        }
        // Video frames: every frame is stylize's painting of it (--stability 0).
        let frames = scratch + "/frames"
        try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: photo, toPath: frames + "/0001.png")
        try ok(["video", frames, "-o", scratch + "/video/", "--styles", list, "--weights", "1,0", "--stability", "0"])
        XCTAssertEqual(try decode(scratch + "/video/frame-000001.png"), try decode(reference), "video paints frames as stylize does")
        try ok(["interpolate", "--from", hokusai, "--to", "v", "--steps", "2", photo, "--frames", scratch + "/walk"])
        XCTAssertEqual(try decode(scratch + "/walk/frame-001.png"), try decode(reference), "interpolate's end is --style v")

        XCTAssertEqual(try export(), before, "painting with an image style stores nothing, in every command")

        // A library name wins over a file of the same name, in every command's lists.
        let cwd = scratch + "/cwd"
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: hokusai, toPath: cwd + "/v")
        for command in ["stylize", "blend"] {
            let out = scratch + "/\(command)-cwd.png"
            let r = try CLI.start([command, "--styles", "v", photo, "-o", out, "--library", library], scratch: scratch,
                                  directory: cwd).wait()
            XCTAssertEqual(r.status, 0, r.summary)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), expected, "\(command): the name 'v', not the file ./v")
        }
        // Without a library, image files still paint; a name gets one line.
        let none = scratch + "/no-library"
        try ok(["stylize", "--styles", vangogh, photo, "-o", scratch + "/nolib.png"], library: none)
        XCTAssertFalse(FileManager.default.fileExists(atPath: none), "painting never creates a library")
        let line = try fails(["blend", "--styles", "v", photo, "-o", scratch + "/x.png"], library: none)
        XCTAssertTrue(line.contains("'v'") && line.contains("no library"), line)
    }

    func testAnEmptyStyleItemGetsTheSameAnswerEverywhere() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        for list in ["\(vangogh),,\(hokusai)", "\(vangogh),", ",\(vangogh)"] {
            var lines: [String] = []
            for args in [["stylize", "--styles", list, photo], ["blend", "--styles", list, photo],
                         ["video", photo, "-o", scratch + "/v.mp4", "--styles", list]] {
                lines.append(try fails(args))
            }
            XCTAssertTrue(lines[0].contains("--styles needs comma-separated names or image files with none empty"), lines[0])
            XCTAssertEqual(Set(lines.map { $0.replacingOccurrences(of: "Error: ", with: "") }).count, 1,
                           "one message for '\(list)': \(lines)")
        }
    }

    /// The rule (docs/cli.md): an existing output file is replaced once the new one is complete;
    /// an input is never an output; a folder that holds other files is never emptied.
    func testExistingOutputsFollowOneRule() throws {
        let (vangogh, hokusai, photo) = try styleAndPhoto()
        let out = scratch + "/out.png"
        try ok(["stylize", "--style-image", vangogh, photo, "-o", out])
        let first = try Data(contentsOf: URL(fileURLWithPath: out))
        try ok(["stylize", "--style-image", hokusai, photo, "-o", out])
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: out)), first, "stylize replaces its output")

        let frames = scratch + "/frames"
        try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true)
        for i in 1...2 { try FileManager.default.copyItem(atPath: photo, toPath: frames + "/\(i).png") }
        let clip = scratch + "/clip.gif"
        try Data("an older file".utf8).write(to: URL(fileURLWithPath: clip))
        try ok(["video", frames, "-o", clip, "--style-image", vangogh])
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: clip)), Data("an older file".utf8), "video replaces its output")

        let busy = scratch + "/busy"
        try FileManager.default.createDirectory(atPath: busy, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: busy + "/notes.txt"))
        let line = try fails(["video", frames, "-o", busy + "/", "--style-image", vangogh])
        XCTAssertTrue(line.contains("not empty"), line)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: busy + "/notes.txt")), Data("keep me".utf8))

        for args in [["stylize", "--style-image", vangogh, photo, "-o", vangogh],
                     ["video", frames + "/1.png", "-o", vangogh, "--style-image", vangogh],
                     ["blend", "--styles", "\(vangogh),\(hokusai)", photo, "-o", hokusai]] {
            let line = try fails(args)
            XCTAssertTrue(line.contains("is the input"), line)
        }
        XCTAssertEqual(try decode(vangogh).width, 300, "an input named as the output is untouched")
    }
}
