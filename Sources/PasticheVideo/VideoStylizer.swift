import Dispatch
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// What to make of one clip.
public struct VideoJob: Sendable {
    public var input: String
    /// A file (.mp4, .mov, .mkv, .webm, .gif) or a folder of PNG frames (ends in "/" or exists as a folder).
    public var output: String
    /// What every frame is painted with (styles, strength, masks fixed to the frame, colour,
    /// stroke scale): exactly what `pastiche stylize` paints a photo with.
    public var painting: Painting
    public var maxSize: Int?
    public var start: Double?
    public var duration: Double?
    public var crf = 20
    /// K in [0, 1]: how much of each norm's statistics carries over from the previous frame
    /// (TemporalMoments). 0: every frame exactly as `pastiche stylize` paints it.
    public var stability: Float = VideoJob.defaultStability
    /// Frame rate for a folder of frames in (a video keeps its own).
    public var folderFrameRate = "25/1"

    /// Chosen by measurement: docs/video.md has the flicker table behind it.
    public static let defaultStability: Float = 0.8

    public init(input: String, output: String, painting: Painting) {
        self.input = input
        self.output = output
        self.painting = painting
    }

    var outputIsFolder: Bool {
        output.hasSuffix("/") || { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: output, isDirectory: &d) && d.boolValue }()
    }
}

public struct VideoSummary: Sendable, Encodable {
    public let input: String
    public let output: String
    public let frames: Int
    public let width: Int
    public let height: Int
    public let frame_rate: String
    public let audio_copied: Bool
    public let stability: Float
    public let seconds: Double
    public let fps: Double
}

/// A pipeline of named stages, each on its own thread and handing frames on through a
/// `BoundedQueue` of two:
///
///     decode → fit ──▶ paint ──▶ blend → encode
///     (reader thread)  (caller)  (writer thread)
///
/// *decode* reads frames from ffmpeg or a folder, *fit* scales each to `--max-size` and places it
/// on the sampling grid, *paint* runs `Painting.paint` with the carried statistics, *blend* carries
/// the previous output where the photo did not change, and *encode* writes. Memory is a few
/// frames whatever the clip's length; the output appears only when complete (temporary file,
/// renamed).
public final class VideoStylizer {
    let stylizer: Stylizer
    let ffmpeg: FFmpeg

    public init(stylizer: Stylizer, ffmpeg: FFmpeg) {
        self.stylizer = stylizer
        self.ffmpeg = ffmpeg
    }

    /// The temporary output in use, for a signal handler to remove.
    public private(set) var partialPath: String?

    /// The clip as it comes in: its frames and what the output must keep.
    struct Clip {
        let source: FrameSource
        let width: Int, height: Int
        let frameRate: String
        let total: Int?
        let hasAudio: Bool
    }

    public func run(_ job: VideoJob, progress: (_ done: Int, _ total: Int?, _ elapsed: Double) -> Void) throws -> VideoSummary {
        let clip = try open(job)
        let outSize = job.maxSize.map { RGBImage.fittedSize(width: clip.width, height: clip.height, maxSide: $0) } ?? (clip.width, clip.height)
        let sink: FrameSink
        do { sink = try openOutput(job, clip: clip, width: outSize.0, height: outSize.1) } catch {
            clip.source.cancel()
            throw error
        }
        let decoded = BoundedQueue<Result<DecodedFrame?, Error>>(capacity: 2)
        let painted = BoundedQueue<PaintedFrame?>(capacity: 2)
        let written = Locked<Error?>(nil)
        let writerDone = DispatchSemaphore(value: 0)
        let reader = Thread { self.decodeAndFit(job, clip: clip, into: decoded) }
        let writer = Thread {
            self.blendAndEncode(job, from: painted, into: sink, failure: written)
            writerDone.signal()
        }
        reader.start()
        writer.start()

        let started = DispatchTime.now().uptimeNanoseconds
        var (count, failure) = paint(job, from: decoded, into: painted, writeFailure: written) { count in
            progress(count, clip.total, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        painted.put(nil)
        writerDone.wait()
        if failure == nil, let e = written.value { failure = e }
        if failure == nil, count == 0 { failure = VideoError("\(job.input): no frames to stylize") }
        if failure == nil {
            do { try clip.source.finish() } catch { failure = error }
        }
        if let failure {
            clip.source.cancel()
            decoded.close()  // a reader waiting to hand on a frame stops
            sink.cancel()
            partialPath = nil
            throw failure
        }
        try sink.finish()
        partialPath = nil
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return VideoSummary(input: job.input, output: job.output, frames: count, width: outSize.0, height: outSize.1,
                            frame_rate: clip.frameRate,
                            audio_copied: clip.hasAudio && !job.outputIsFolder && !job.output.lowercased().hasSuffix(".gif"),
                            stability: job.stability, seconds: seconds, fps: Double(count) / max(seconds, 1e-9))
    }

    /// A folder of frames, or a clip probed by ffprobe and decoded by ffmpeg.
    func open(_ job: VideoJob) throws -> Clip {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: job.input, isDirectory: &isFolder) else {
            throw VideoError("\(job.input): no such file or folder")
        }
        if isFolder.boolValue {
            let folder = try FolderSource(folder: job.input)
            let first = try ImageIO.read(path: folder.files[0])
            return Clip(source: folder, width: first.width, height: first.height, frameRate: job.folderFrameRate,
                        total: folder.files.count, hasAudio: false)
        }
        let info = try VideoInfo.probe(job.input, ffmpeg: ffmpeg)
        var total: Int?
        if let frames = info.frames, job.start == nil, job.duration == nil { total = frames }
        else if let d = job.duration ?? info.duration.map({ $0 - (job.start ?? 0) }) { total = max(0, Int((d * info.fps).rounded())) }
        let source = try FFmpegDecoder(ffmpeg: ffmpeg, path: job.input, info: info, start: job.start, duration: job.duration)
        return Clip(source: source, width: info.width, height: info.height, frameRate: info.frameRate, total: total,
                    hasAudio: info.hasAudio)
    }

    /// A folder of PNG frames, or an ffmpeg encoder (with the clip's audio), written under a
    /// temporary name.
    func openOutput(_ job: VideoJob, clip: Clip, width: Int, height: Int) throws -> FrameSink {
        if job.outputIsFolder {
            let s = try FolderSink(output: job.output)
            partialPath = s.partialPath
            return s
        }
        let s = try FFmpegEncoder(ffmpeg: ffmpeg, output: job.output, width: width, height: height,
                                  frameRate: clip.frameRate, audioFrom: clip.hasAudio ? job.input : nil,
                                  start: job.start, duration: job.duration, crf: job.crf)
        partialPath = s.partialPath
        return s
    }

    /// Stages *decode* and *fit* (the reader thread): each frame fitted to --max-size and placed
    /// on the sampling grid, so that overlaps the network's work on the previous frame. Ends
    /// with nil, or with the error.
    func decodeAndFit(_ job: VideoJob, clip: Clip, into decoded: BoundedQueue<Result<DecodedFrame?, Error>>) {
        let grid = job.stability > 0
            ? SamplingGrid(multiple: TransferArchitecture.sizeMultiple, strokeScale: job.painting.options.strokeScale) : nil
        var index = 0
        do {
            while let (content, decodedWidth, decodedHeight) = try clip.source.next(fittingIn: job.maxSize) {
                index += 1
                guard decodedWidth == clip.width, decodedHeight == clip.height else {
                    throw VideoError("\(job.input): frame \(index) is \(decodedWidth)×\(decodedHeight), not \(clip.width)×\(clip.height) like the first")
                }
                let place = grid?.place(content)
                guard decoded.put(.success(DecodedFrame(content: content, phase: place?.phase, motion: place?.motion))) else { return }
            }
            decoded.put(.success(nil))
        } catch {
            decoded.put(.failure(error))
        }
    }

    /// Stage *paint* (the calling thread): every frame through `Painting.paint`, with each
    /// norm's statistics and the frame's own embedding carried across frames
    /// (`TemporalMoments`). Stops at the end of the clip or at the first error, its own or the
    /// writer's.
    func paint(_ job: VideoJob, from decoded: BoundedQueue<Result<DecodedFrame?, Error>>,
               into painted: BoundedQueue<PaintedFrame?>, writeFailure: Locked<Error?>,
               progress: (Int) -> Void) -> (count: Int, failure: Error?) {
        let temporal = job.stability > 0 ? TemporalMoments(stability: job.stability) : nil
        var count = 0
        var masks: StyleMasks?
        do {
            while let frame = try decoded.take().get() {
                let content = frame.content
                // Masks are fixed to the frame: weighted once, at the first frame's size.
                if job.painting.hasMasks, masks?.width != content.width || masks?.height != content.height {
                    masks = try job.painting.masks(width: content.width, height: content.height)
                }
                let result = try job.painting.paint(
                    content, with: stylizer, masks: masks,
                    ownEmbedding: {
                        let own = self.stylizer.embedding(style: content)
                        return temporal?.ownEmbedding(own) ?? own
                    },
                    moments: temporal.map { t in { t.layerMoments($0, $1, $2) } as TransferNetwork.LayerMoments },
                    phase: frame.phase)
                painted.put(PaintedFrame(output: result, content: content, motion: frame.motion))
                count += 1
                progress(count)
                if let e = writeFailure.value { return (count, e) }
            }
        } catch {
            return (count, error)
        }
        return (count, nil)
    }

    /// Stages *blend* and *encode* (the writer thread): the previous output carried into each
    /// new one (`TemporalBlend`, which needs only the painted frames in order), then written.
    /// A failed write is set in `failure` at once (the painter stops at its next frame), and
    /// the queue is drained after it, so the painter never blocks.
    func blendAndEncode(_ job: VideoJob, from painted: BoundedQueue<PaintedFrame?>, into sink: FrameSink,
                        failure: Locked<Error?>) {
        let blend = job.stability > 0 ? TemporalBlend(weight: job.stability) : nil
        while let frame = painted.take() {
            guard failure.value == nil else { continue }
            let output = blend?.apply(frame.output, input: frame.content, motion: frame.motion) ?? frame.output
            do { try sink.write(output) } catch { failure.value = error }
        }
    }
}

/// A frame ready for the network: fitted to --max-size, with its sampling-grid phase and its
/// shift from the previous frame.
struct DecodedFrame {
    let content: RGBImage
    let phase: (x: Int, y: Int)?
    let motion: (dx: Int, dy: Int)?
}

/// A frame out of the network, with what `TemporalBlend` needs: its photo and its shift.
struct PaintedFrame {
    let output: RGBImage
    let content: RGBImage
    let motion: (dx: Int, dy: Int)?
}

/// A value shared between threads, behind a lock.
final class Locked<T>: @unchecked Sendable {
    private var stored: T
    private let lock = NSLock()
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
