import ArgumentParser
import Foundation
import PasticheImage
import PasticheLibrary
import PasticheModels
import PasticheVideo

struct VideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video",
        abstract: "Stylize a video clip or a folder of frames (through ffmpeg).",
        discussion: """
            IN is any file ffmpeg reads (mp4, mov, mkv, webm, animated GIF) or a folder of numbered \
            frames; OUT is .mp4/.mov/.mkv (H.264), .webm (VP9), .gif, or a folder of PNG frames \
            (a path ending in /). The output keeps the frame count and frame rate and copies the \
            audio untouched. Frames stream through pipes, a few at a time; OUT appears only when \
            complete. --stability K steadies the painting across frames in two ways: each normalised \
            layer's statistics carry K of the previous frame's (a moving average), and where the \
            photo did not change (after the whole frame's shift, which also moves the network's \
            sampling grid) the previous output is carried over, blended by K; with --stability 0 \
            every frame is exactly what `pastiche stylize` makes of it. Needs Debian's ffmpeg package. Docs: docs/video.md.
            """
    )

    @Argument(help: "The clip, or a folder of frames.") var input: String
    @Option(name: .shortAndLong, help: "Output video file, or a folder of PNG frames (ending in /).") var output: String
    @OptionGroup var styleOptions: StyleOptions
    @Option(help: "Style strength in [0, 1].") var strength: Float = 1
    @Flag(name: .customLong("preserve-color"), help: "Keep the clip's colours; transfer luminance only (YCbCr).")
    var preserveColor = false
    @Option(name: .customLong("max-size"), help: "Downscale frames so the long side is at most N pixels.") var maxSize: Int?
    @Option(help: "Start at T seconds.") var start: Double?
    @Option(help: "Stylize only D seconds.") var duration: Double?
    @Option(help: "Temporal stability K in [0, 1]: each norm's statistics carry K of the previous frame's, and the previous output is carried where the photo is unchanged (0: every frame as `stylize` paints it).")
    var stability: Float = VideoJob.defaultStability
    @Option(help: "Encoder quality (CRF; lower is better, 0–51 for H.264, 0–63 for VP9).") var crf: Int = 20
    @Option(help: "Frame rate for a folder of frames (a video keeps its own), e.g. 25 or 30000/1001.") var fps: String = "25"
    @Flag(help: "Print a JSON summary on stdout.") var json = false
    @OptionGroup var strokes: StrokeOptions
    @OptionGroup var regions: MaskOptions
    @OptionGroup var tiling: TileOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var library: LibraryOptions

    func validate() throws {
        try styleOptions.validate(masks: regions)
        try validateStrength(strength)
        try validateMaxSize(maxSize)
        if let start, !(start.isFinite && start >= 0) { throw ValidationError("--start must be a non-negative number of seconds") }
        if let duration, !(duration.isFinite && duration > 0) { throw ValidationError("--duration must be a positive number of seconds") }
        guard stability.isFinite, (0...1).contains(stability) else { throw ValidationError("--stability must be in [0, 1], got \(stability)") }
        guard (0...63).contains(crf) else { throw ValidationError("--crf must be from 0 to 63, got \(crf)") }
        let rate = fps.split(separator: "/").compactMap { Double($0) }
        guard !rate.isEmpty, rate.count == fps.split(separator: "/").count, rate.count <= 2, rate.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ValidationError("--fps must be a positive number or a ratio like 30000/1001, got '\(fps)'")
        }
        // An existing output file is replaced once the new one is complete (docs/cli.md); a
        // folder that holds other files is refused by FolderSink; an input never is an output.
        try refuseOverwritingInputs(output: output, inputs: [input] + regions.files + styleOptions.files)
    }

    func run() throws {
        let ffmpeg = try FFmpeg.locate()
        let request = try styleOptions.request(strength: strength, preserveColor: preserveColor, strokes: strokes, masks: regions)
        let stylizer = try model.loadStylizer(options: tiling.options)
        var job = VideoJob(input: input, output: output,
                           painting: try StyleResolver(stylizer: stylizer, libraryPath: library.path).painting(request))
        job.maxSize = maxSize
        job.start = start
        job.duration = duration
        job.crf = crf
        job.stability = stability
        job.folderFrameRate = fps.contains("/") ? fps : fps + "/1"

        let video = VideoStylizer(stylizer: stylizer, ffmpeg: ffmpeg)
        let cleanup = PartialOutputCleanup { video.partialPath }
        defer { cleanup.disarm() }
        let summary = try video.run(job) { done, total, elapsed in
            let rate = Double(done) / max(elapsed, 1e-9)
            var line = "frame \(done)" + (total.map { "/\($0)" } ?? "") + String(format: ", %.1f fps", rate)
            if let total, total > done { line += ", ETA " + formatDuration(Double(total - done) / max(rate, 1e-9)) }
            Terminal.progress(line)
        }
        Terminal.endProgress()
        if json {
            print(String(decoding: try Terminal.jsonEncoder().encode(summary), as: UTF8.self))
        } else {
            Terminal.note(String(format: "wrote %@: %d frames, %d×%d, %.1f fps", summary.output, summary.frames,
                                 summary.width, summary.height, summary.fps))
        }
    }
}

/// On SIGINT or SIGTERM, removes the temporary output before exiting, so an interrupted run
/// leaves nothing behind (OUT itself only ever appears by a final rename).
final class PartialOutputCleanup {
    private static var current: (() -> String?)?
    private var sources: [DispatchSourceSignal] = []

    init(_ partial: @escaping () -> String?) {
        Self.current = partial
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                if let path = Self.current?() { try? FileManager.default.removeItem(atPath: path) }
                FileHandle.standardError.write(Data("pastiche: error: interrupted; no output written\n".utf8))
                Foundation.exit(130)
            }
            s.resume()
            sources.append(s)
        }
        signal(SIGPIPE, SIG_IGN)
    }

    func disarm() {
        for s in sources { s.cancel() }
        Self.current = nil
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
