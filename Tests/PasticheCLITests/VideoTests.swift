import Foundation
import XCTest
import PasticheImage
import PasticheTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `pastiche video` end to end through Debian's ffmpeg, on short clips made here from the
/// project's own photos.
final class VideoTests: CLITestCase {
    private var ffmpegMissing: Bool { !FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") }

    override func setUpWithError() throws {
        try super.setUpWithError()
        if ffmpegMissing {
            try skipOrRequire("ffmpeg is not installed (scripts/test.sh installs Debian's ffmpeg)")
        }
    }

    @discardableResult
    private func tool(_ name: String, _ args: [String]) throws -> String {
        let r = try ProcessRunner.run("/usr/bin/" + name, args, outputDirectory: scratch)
        XCTAssertEqual(r.status, 0, "\(name) \(args.joined(separator: " ")): \(r.stderr)")
        return r.stdoutText
    }

    /// A camera pan over a real photo: `frames` frames of w×h, moving `step` px right per frame,
    /// 25 fps, H.264 (+ a 440 Hz AAC tone when `audio`).
    private func panClip(_ name: String, frames: Int, step: Int, w: Int = 160, h: Int = 96, audio: Bool = false) throws -> String {
        let out = scratch + "/" + name
        var args = ["-v", "error", "-y", "-loop", "1", "-framerate", "25", "-i", CLI.repoRoot + "/docs/images/summer_palace.jpg"]
        if audio { args += ["-f", "lavfi", "-i", "sine=frequency=440:duration=\(Double(frames) / 25)"] }
        // -t, not -frames:v: stopping at a frame count would cut the audio encoder's tail.
        args += ["-vf", "crop=\(w):\(h):x='40+\(step)*n':y=120", "-t", String(Double(frames) / 25), "-c:v", "libx264", "-pix_fmt", "yuv420p"]
        if audio { args += ["-c:a", "aac"] }
        args.append(out)
        try tool("ffmpeg", args)
        return out
    }

    private func probe(_ path: String) throws -> [String: Any] {
        let text = try tool("ffprobe", ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", "-count_frames", path])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    private func streams(_ info: [String: Any], _ kind: String) -> [[String: Any]] {
        (info["streams"] as? [[String: Any]] ?? []).filter { $0["codec_type"] as? String == kind }
    }

    func testVideoKeepsFrameCountRateDurationAndAudio() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        let clip = try panClip("pan.mp4", frames: 12, step: 4, audio: true)
        let r = try ok(["video", clip, "-o", scratch + "/out.mp4", "--style-image", vangogh, "--json"])
        let summary = try json(r) as? [String: Any] ?? [:]
        XCTAssertEqual(summary["frames"] as? Int, 12)
        XCTAssertEqual(summary["audio_copied"] as? Bool, true)
        let input = try probe(clip), output = try probe(scratch + "/out.mp4")
        let vin = streams(input, "video")[0], vout = streams(output, "video")[0]
        XCTAssertEqual(vout["nb_read_frames"] as? String, "12")
        XCTAssertEqual(vout["avg_frame_rate"] as? String, vin["avg_frame_rate"] as? String)
        XCTAssertEqual([vout["width"] as? Int, vout["height"] as? Int], [160, 96])
        let din = Double((input["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
        let dout = Double((output["format"] as? [String: Any])?["duration"] as? String ?? "") ?? -1
        XCTAssertEqual(dout, din, accuracy: 0.05, "duration kept")
        let ain = streams(input, "audio"), aout = streams(output, "audio")
        XCTAssertEqual(aout.count, 1, "the audio stream is copied")
        XCTAssertEqual(aout.first?["codec_name"] as? String, ain.first?["codec_name"] as? String)
        XCTAssertEqual(aout.first?["nb_read_frames"] as? String, ain.first?["nb_read_frames"] as? String, "untouched: same packets")

        // --start/--duration take a slice (5 frames of 12 at 25 fps).
        let part = try json(try ok(["video", clip, "-o", scratch + "/part.mp4", "--style-image", vangogh,
                                    "--start", "0.2", "--duration", "0.2", "--json"])) as? [String: Any] ?? [:]
        XCTAssertEqual(part["frames"] as? Int, 5)
        XCTAssertEqual(streams(try probe(scratch + "/part.mp4"), "video").first?["nb_read_frames"] as? String, "5")

        // A phone clip stored sideways (rotation metadata) comes out upright: ffmpeg applies the
        // rotation on decode, so the frames are 96×160.
        try tool("ffmpeg", ["-v", "error", "-i", clip, "-c", "copy", "-metadata:s:v:0", "rotate=90", scratch + "/rot.mp4"])
        try ok(["video", scratch + "/rot.mp4", "-o", scratch + "/rot-out.mp4", "--style-image", vangogh])
        let rotated = streams(try probe(scratch + "/rot-out.mp4"), "video")[0]
        XCTAssertEqual([rotated["width"] as? Int, rotated["height"] as? Int], [96, 160])

        // GIF and WebM outputs, and a folder of frames as input.
        for ext in ["gif", "webm"] {
            try ok(["video", clip, "-o", scratch + "/out.\(ext)", "--style-image", vangogh, "--max-size", "64"])
            let v = streams(try probe(scratch + "/out.\(ext)"), "video")
            XCTAssertEqual(v.first?["nb_read_frames"] as? String, "12", ext)
        }
    }

    /// --stability 0: each frame is exactly what `pastiche stylize` makes of the same decoded frame.
    func testStabilityZeroIsStylizeBitForBit() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        let clip = try panClip("pan.mp4", frames: 5, step: 3)
        let decoded = scratch + "/decoded"
        try FileManager.default.createDirectory(atPath: decoded, withIntermediateDirectories: true)
        try tool("ffmpeg", ["-v", "error", "-i", clip, "-fps_mode", "passthrough", decoded + "/f%03d.png"])
        try ok(["video", clip, "-o", scratch + "/frames/", "--style-image", vangogh, "--stability", "0", "--strength", "0.8"])
        let outputs = try FileManager.default.contentsOfDirectory(atPath: scratch + "/frames").sorted()
        XCTAssertEqual(outputs.count, 5)
        try ok(["stylize", "--style-image", vangogh, "--strength", "0.8", decoded + "/f001.png", decoded + "/f002.png",
                decoded + "/f003.png", decoded + "/f004.png", decoded + "/f005.png", "-o", scratch + "/stylized/"])
        for i in 1...5 {
            let v = try decode(scratch + "/frames/" + outputs[i - 1])
            let s = try decode(scratch + String(format: "/stylized/f%03d.png", i))
            XCTAssertEqual(v.pixels, s.pixels, "frame \(i)")
        }
    }

    /// An AdaIN model (issue 33) paints video as it paints photos: at stability 0 each frame is
    /// `stylize --model` of the decoded frame bit for bit, and the default stability runs too.
    func testAnAdaINModelPaintsVideoAsStylize() throws {
        let vgg = CLI.home.vgg19Model
        guard FileManager.default.fileExists(atPath: vgg) else { try skipOrRequire("no VGG-19 at \(vgg); run `pastiche model fetch`"); return }
        let model = scratch + "/adain.safetensors"
        try ok(["model", "import", "--adain-encoder", vgg, "--calibration", CLI.repoRoot + "/Tests/PasticheTrainingTests/Fixtures/content",
                "-o", model], withLibrary: false)
        let (_, hokusai, _) = try styleAndPhoto()
        let clip = try panClip("pan.mp4", frames: 3, step: 3)
        let decoded = scratch + "/decoded"
        try FileManager.default.createDirectory(atPath: decoded, withIntermediateDirectories: true)
        try tool("ffmpeg", ["-v", "error", "-i", clip, "-fps_mode", "passthrough", decoded + "/f%03d.png"])
        try ok(["video", clip, "-o", scratch + "/frames/", "--model", model, "--style-image", hokusai, "--stability", "0"])
        let outputs = try FileManager.default.contentsOfDirectory(atPath: scratch + "/frames").sorted()
        XCTAssertEqual(outputs.count, 3)
        try ok(["stylize", "--model", model, "--style-image", hokusai, decoded + "/f001.png", decoded + "/f002.png", decoded + "/f003.png",
                "-o", scratch + "/stylized/"])
        for i in 1...3 {
            let v = try decode(scratch + "/frames/" + outputs[i - 1])
            XCTAssertTrue(v.pixels == (try decode(scratch + String(format: "/stylized/f%03d.png", i))).pixels, "frame \(i)")
            XCTAssertTrue(v.pixels != (try decode(decoded + String(format: "/f%03d.png", i))).pixels, "frame \(i) is painted")
        }
        let r = try json(try ok(["video", clip, "-o", scratch + "/out.mp4", "--model", model, "--style-image", hokusai, "--json"])) as? [String: Any]
        XCTAssertEqual(r?["frames"] as? Int, 3)
    }

    /// A static mask (issue 19): at stability 0 each frame is `stylize --mask` of the decoded
    /// frame bit for bit; with stability the masked clip still runs, and a white mask changes
    /// nothing against no mask.
    func testAStaticMaskIsStylizeWithThatMask() throws {
        let (vangogh, hokusai, _) = try styleAndPhoto()
        let clip = try panClip("pan.mp4", frames: 4, step: 3)
        let decoded = scratch + "/decoded"
        try FileManager.default.createDirectory(atPath: decoded, withIntermediateDirectories: true)
        try tool("ffmpeg", ["-v", "error", "-i", clip, "-fps_mode", "passthrough", decoded + "/f%03d.png"])
        var left = RGBImage(width: 160, height: 96)
        for y in 0..<96 { for x in 0..<80 { left.setPixel(x: x, y: y, (1, 1, 1)) } }
        try ImageIO.write(left, to: scratch + "/left.png")
        var right = left
        for i in right.pixels.indices { right.pixels[i] = 1 - right.pixels[i] }
        try ImageIO.write(right, to: scratch + "/right.png")
        let masks = ["--styles", "\(vangogh),\(hokusai)", "--masks", scratch + "/left.png," + scratch + "/right.png", "--feather", "8"]
        try ok(["video", clip, "-o", scratch + "/frames/", "--stability", "0"] + masks)
        try ok(["stylize"] + masks + (1...4).map { decoded + String(format: "/f%03d.png", $0) } + ["-o", scratch + "/stylized/"])
        let outputs = try FileManager.default.contentsOfDirectory(atPath: scratch + "/frames").sorted()
        XCTAssertEqual(outputs.count, 4)
        for i in 1...4 {
            XCTAssertEqual(try decode(scratch + "/frames/" + outputs[i - 1]).pixels,
                           try decode(scratch + String(format: "/stylized/f%03d.png", i)).pixels, "frame \(i)")
        }
        // Carried statistics with a one-style mask: white is the unmasked clip.
        var white = left
        for i in white.pixels.indices { white.pixels[i] = 1 }
        try ImageIO.write(white, to: scratch + "/white.png")
        try ok(["video", clip, "-o", scratch + "/plain/", "--style-image", vangogh, "--strength", "0.7"])
        try ok(["video", clip, "-o", scratch + "/white/", "--style-image", vangogh, "--strength", "0.7", "--mask", scratch + "/white.png"])
        for name in try FileManager.default.contentsOfDirectory(atPath: scratch + "/plain").sorted() {
            XCTAssertEqual(try decode(scratch + "/plain/" + name).pixels, try decode(scratch + "/white/" + name).pixels, name)
        }
        XCTAssertTrue(try fails(["video", clip, "-o", scratch + "/x.mp4", "--style-image", vangogh, "--masks", scratch + "/left.png,"
                                 + scratch + "/right.png"]).contains("2 masks for 1 style"))
    }

    /// Mean |S(t+1)(x, y) − S(t)(x + step, y)| over the overlap, in 8-bit levels.
    static func warpingError(_ frames: [RGBImage], step: Int) -> Double {
        var total = 0.0, count = 0
        for (a, b) in zip(frames, frames.dropFirst()) {
            for c in 0..<3 {
                for y in 0..<a.height {
                    for x in 0..<(a.width - step) {
                        total += Double(abs(b.pixels[(c * b.height + y) * b.width + x] - a.pixels[(c * a.height + y) * a.width + x + step]))
                        count += 1
                    }
                }
            }
        }
        return 255 * total / Double(max(count, 1))
    }

    /// On exact pans (frames cut from one photo, no codec): carrying the statistics lowers the
    /// warping error at 4 px per frame, where the sampling phase stays; at 3 px per frame, where
    /// it changes every frame, following the scene with the sampling grid removes most of it.
    func testStabilityLowersTheWarpingErrorOnPans() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        let photo = try ImageIO.read(path: CLI.repoRoot + "/docs/images/summer_palace.jpg")
        func warpingError(step: Int, stability: String) throws -> Double {
            let folder = scratch + "/pan\(step)"
            if !FileManager.default.fileExists(atPath: folder) {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for t in 0..<8 {
                    try ImageIO.write(photo.cropped(x: 100 + step * t, y: 100, width: 192, height: 128),
                                      to: folder + String(format: "/%02d.png", t))
                }
            }
            let out = scratch + "/out-\(step)-\(stability)/"
            try ok(["video", folder, "-o", out, "--style-image", vangogh, "--stability", stability])
            let frames = try FileManager.default.contentsOfDirectory(atPath: out).sorted().map { try decode(out + $0) }
            XCTAssertEqual(frames.count, 8)
            return Self.warpingError(frames, step: step)
        }
        let still4 = try warpingError(step: 4, stability: "0"), stable4 = try warpingError(step: 4, stability: "0.8")
        XCTAssertLessThan(stable4, still4, "4 px/frame: stability 0.8 \(stable4) vs per-frame \(still4)")
        let still3 = try warpingError(step: 3, stability: "0"), stable3 = try warpingError(step: 3, stability: "0.8")
        XCTAssertLessThan(stable3, 0.5 * still3, "3 px/frame: stability 0.8 \(stable3) vs per-frame \(still3)")
    }

    func testBadInputIsOneLine() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        let text = scratch + "/notes.mp4"
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: text))
        let empty = scratch + "/empty.mp4"
        FileManager.default.createFile(atPath: empty, contents: Data())
        for input in [text, empty, scratch + "/missing.mp4"] {
            let line = try fails(["video", input, "-o", scratch + "/o.mp4", "--style-image", vangogh])
            XCTAssertTrue(line.contains((input as NSString).lastPathComponent), line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/o.mp4"))
        }
        let clip = try panClip("c.mp4", frames: 3, step: 4)
        XCTAssertTrue(try fails(["video", clip, "-o", scratch + "/o.avi", "--style-image", vangogh]).contains(".webm"))
        XCTAssertTrue(try fails(["video", clip, "-o", clip, "--style-image", vangogh]).contains("input"))
        XCTAssertTrue(try fails(["video", clip, "-o", scratch + "/o.mp4", "--style-image", vangogh, "--stability", "2"]).contains("--stability"))
        XCTAssertTrue(try fails(["video", clip, "-o", scratch + "/o.mp4"]).contains("--style-image FILE"))

        // No ffmpeg on PATH: the Debian package is named.
        let r = try CLI.start(["video", clip, "-o", scratch + "/o.mp4", "--style-image", vangogh, "--library", library],
                              scratch: scratch, environment: ["PATH": scratch + "/nothing-here"]).wait()
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderrLines.count, 1, r.summary)
        XCTAssertTrue(r.stderr.contains("apt-get install ffmpeg"), r.stderr)
    }

    /// Killed mid-run (SIGKILL, or SIGTERM), no file appears at OUT.
    func testAKillMidRunLeavesNoOutput() throws {
        let (vangogh, _, _) = try styleAndPhoto()
        let clip = try panClip("long.mp4", frames: 150, step: 2, w: 320, h: 192)
        for signal in [SIGKILL, SIGTERM] {
            let out = scratch + "/killed-\(signal).mp4"
            let running = try CLI.start(["video", clip, "-o", out, "--style-image", vangogh, "--library", library], scratch: scratch)
            // Killed once the encoder's temporary file exists (frames are being written), not
            // after a fixed sleep.
            let deadline = Date().addingTimeInterval(60)
            func partials() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []).filter { $0.hasPrefix(".killed-\(signal).mp4.partial") }
            }
            while Date() < deadline && partials().isEmpty && running.isRunning { usleep(20_000) }
            usleep(200_000)
            XCTAssertTrue(running.isRunning, "still working when killed")
            kill(running.pid, signal)
            let r = try running.wait()
            XCTAssertNotEqual(r.status, 0)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output after signal \(signal)")
            let partial = try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.hasPrefix(".killed-\(signal).mp4.partial") }
            if signal == SIGTERM {
                XCTAssertEqual(partial, [], "SIGTERM also removes the temporary file")
                XCTAssertEqual(r.stderrLines.count, 1, r.summary)
            }
        }
        // After a SIGKILL the next run to the same output clears the dead run's temporary file.
        let short = try panClip("short.mp4", frames: 3, step: 2)
        try ok(["video", short, "-o", scratch + "/killed-\(SIGKILL).mp4", "--style-image", vangogh])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.contains(".partial") }, [])
    }
}
