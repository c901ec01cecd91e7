import Foundation
import PasticheImage

/// Frames in: an ffmpeg decoder or a folder of numbered images.
protocol FrameSource: AnyObject {
    /// The next frame, nil at the end.
    func next() throws -> RGBImage?
    /// The next frame fitted to `maxSide` (`resizedToFit`), with its size as decoded.
    func next(fittingIn maxSide: Int?) throws -> (frame: RGBImage, width: Int, height: Int)?
    func finish() throws
    func cancel()
}

extension FrameSource {
    func next(fittingIn maxSide: Int?) throws -> (frame: RGBImage, width: Int, height: Int)? {
        guard let frame = try next() else { return nil }
        return (maxSide.map { frame.resizedToFit(maxSide: $0) } ?? frame, frame.width, frame.height)
    }
}

/// Frames out: an ffmpeg encoder or a folder of PNG frames.
protocol FrameSink: AnyObject {
    func write(_ frame: RGBImage) throws
    func finish() throws
    func cancel()
}

/// `ffmpeg -i IN -f rawvideo -pix_fmt rgb24 -`: every frame ffmpeg decodes (passthrough: none
/// dropped or duplicated), upright (ffmpeg applies the stream's rotation).
final class FFmpegDecoder: FrameSource {
    private let child: FFmpegProcess
    private let width: Int, height: Int
    private let path: String

    init(ffmpeg: FFmpeg, path: String, info: VideoInfo, start: Double?, duration: Double?) throws {
        // One decoding thread (and one encoding thread below): ffmpeg's share of the work is
        // small and one thread keeps up, while more would preempt the network's workers.
        var args = ["-threads", "1"]
        if let start { args += ["-ss", String(start)] }
        args += ["-i", path]
        if let duration { args += ["-t", String(duration)] }
        args += ["-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        child = try FFmpegProcess(tool: ffmpeg.ffmpeg, arguments: args, reading: true)
        width = info.width
        height = info.height
        self.path = path
    }

    /// Straight from the pipe's bytes to the fitted frame (`RGBImage.fitted`, the same bits).
    func next(fittingIn maxSide: Int?) throws -> (frame: RGBImage, width: Int, height: Int)? {
        guard let maxSide else { return try next().map { ($0, width, height) } }
        guard let bytes = try child.read(count: width * height * 3) else { return nil }
        return (RGBImage.fitted(interleavedRGB8: bytes, width: width, height: height, maxSide: maxSide), width, height)
    }

    func next() throws -> RGBImage? {
        guard let bytes = try child.read(count: width * height * 3) else { return nil }
        return RGBImage(width: width, height: height, interleavedRGB8: bytes)
    }

    func finish() throws { try child.finish(what: path) }
    func cancel() { child.terminate() }
}

/// A folder of numbered frames, in natural order of their names (frame2 before frame10).
final class FolderSource: FrameSource {
    let files: [String]
    private var index = 0

    init(folder: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { ImageFormat(pathExtension: $0) != nil && !$0.hasPrefix(".") }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard !names.isEmpty else { throw VideoError("\(folder): no PNG or JPEG frames in the folder") }
        files = names.map { (folder as NSString).appendingPathComponent($0) }
    }

    func next() throws -> RGBImage? {
        guard index < files.count else { return nil }
        defer { index += 1 }
        return try ImageIO.read(path: files[index])
    }

    func finish() throws {}
    func cancel() {}
}

/// `ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH -framerate R -i -`, with the input's audio copied
/// untouched, into a temporary file that `finish` renames to the output.
final class FFmpegEncoder: FrameSink {
    private let child: FFmpegProcess
    private let temporary: String, output: String

    init(ffmpeg: FFmpeg, output: String, width: Int, height: Int, frameRate: String,
         audioFrom: String?, start: Double?, duration: Double?, crf: Int) throws {
        let ext = (output as NSString).pathExtension.lowercased()
        let dir = (output as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir, stem = ".\((output as NSString).lastPathComponent).partial-"
        TemporaryFiles.removeAbandoned(in: folder, prefix: stem)
        temporary = folder + "/" + stem + "\(getpid()).\(ext)"
        self.output = output
        var args = ["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(width)x\(height)", "-framerate", frameRate, "-i", "-"]
        if let audioFrom, ext != "gif" {
            if let start { args += ["-ss", String(start)] }
            if let duration { args += ["-t", String(duration)] }
            args += ["-i", audioFrom, "-map", "0:v:0", "-map", "1:a?", "-c:a", "copy"]
        }
        // yuv420p (what players expect) needs even sizes: pad by at most one pixel.
        let even = "pad=ceil(iw/2)*2:ceil(ih/2)*2"
        switch ext {
        case "mp4", "mov", "mkv":
            args += ["-vf", even, "-c:v", "libx264", "-preset", "veryfast", "-crf", String(crf), "-pix_fmt", "yuv420p"]
            if ext != "mkv" { args += ["-movflags", "+faststart"] }
        case "webm":
            args += ["-vf", even, "-c:v", "libvpx-vp9", "-crf", String(crf), "-b:v", "0", "-row-mt", "1", "-deadline", "realtime",
                     "-cpu-used", "8", "-pix_fmt", "yuv420p"]
            if audioFrom != nil { args += ["-c:a", "libopus"] }
        case "gif":
            args += ["-vf", "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer", "-loop", "0"]
        default:
            throw VideoError("\(output): write .mp4, .mov, .mkv, .webm, .gif, or a folder of PNG frames (a path ending in /)")
        }
        args += ["-threads", "1", "-filter_threads", "1", temporary]
        child = try FFmpegProcess(tool: ffmpeg.ffmpeg, arguments: args, reading: false)
    }

    func write(_ frame: RGBImage) throws { try child.write(frame.interleavedRGB8()) }

    func finish() throws {
        child.closeInput()
        do { try child.finish(what: output) } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard rename(temporary, output) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw VideoError("\(output): \(reason)")
        }
    }

    func cancel() {
        child.closeInput()
        child.terminate()
        child.process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: temporary)
    }

    var partialPath: String { temporary }
}

/// PNG frames frame-000001.png … into a temporary folder renamed to the output at the end.
final class FolderSink: FrameSink {
    private let temporary: String, output: String
    private var count = 0

    init(output: String) throws {
        let out = output.hasSuffix("/") ? String(output.dropLast()) : output
        guard !FileManager.default.fileExists(atPath: out) || ((try? FileManager.default.contentsOfDirectory(atPath: out))?.isEmpty ?? false) else {
            throw VideoError("\(out): already exists and is not empty; give a new folder for the frames")
        }
        self.output = out
        let parent = (out as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent, stem = ".\((out as NSString).lastPathComponent).partial-"
        TemporaryFiles.removeAbandoned(in: folder, prefix: stem)
        temporary = folder + "/" + stem + "\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
    }

    func write(_ frame: RGBImage) throws {
        count += 1
        try ImageIO.write(frame, to: temporary + String(format: "/frame-%06d.png", count))
    }

    func finish() throws {
        if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }  // empty, checked above
        guard rename(temporary, output) == 0 else {
            throw VideoError("\(output): \(String(cString: strerror(errno)))")
        }
    }

    func cancel() { try? FileManager.default.removeItem(atPath: temporary) }

    var partialPath: String { temporary }
}
