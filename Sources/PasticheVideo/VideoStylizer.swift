import Dispatch
import Foundation
import PasticheImage
import PasticheModels

/// What to make of one clip.
public struct VideoJob: Sendable {
    public var input: String
    /// A file (.mp4, .mov, .mkv, .webm, .gif) or a folder of PNG frames (ends in "/" or exists as a folder).
    public var output: String
    public var style: Embedding
    public var strength: Float = 1
    public var preserveColor = false
    public var maxSize: Int?
    public var start: Double?
    public var duration: Double?
    public var crf = 20
    /// K in [0, 1]: how much of each norm's statistics carries over from the previous frame
    /// (TemporalMoments). 0: every frame exactly as `pastiche stylize` paints it.
    public var stability: Float = VideoJob.defaultStability
    /// The network's working resolution (`StrokeScale`); the commands' default is `.standard`.
    public var strokeScale: StrokeScale = .native
    /// Frame rate for a folder of frames in (a video keeps its own).
    public var folderFrameRate = "25/1"
    /// A style per region through masks fixed to the frame (`style` is then unused).
    public var regions: Regions?

    public struct Regions: Sendable {
        /// One per mask.
        public var styles: [Embedding]
        public var masks: [RGBImage]
        /// Feather and invert; the strength is the job's.
        public var options: StyleMasks.Options

        public init(styles: [Embedding], masks: [RGBImage], options: StyleMasks.Options) {
            self.styles = styles
            self.masks = masks
            self.options = options
        }
    }

    /// Chosen by measurement: docs/video.md has the flicker table behind it.
    public static let defaultStability: Float = 0.8

    public init(input: String, output: String, style: Embedding) {
        self.input = input
        self.output = output
        self.style = style
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

/// Decode → stylize → encode, overlapped: a reader thread keeps the next frames decoded and a
/// writer thread feeds the encoder, each through a queue of two, while the engine paints the
/// current frame. Memory is a few frames whatever the clip's length; the output appears only
/// when complete (temporary file, renamed).
public final class VideoStylizer {
    let stylizer: Stylizer
    let ffmpeg: FFmpeg

    public init(stylizer: Stylizer, ffmpeg: FFmpeg) {
        self.stylizer = stylizer
        self.ffmpeg = ffmpeg
    }

    /// The temporary output in use, for a signal handler to remove.
    public private(set) var partialPath: String?

    public func run(_ job: VideoJob, progress: (_ done: Int, _ total: Int?, _ elapsed: Double) -> Void) throws -> VideoSummary {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: job.input, isDirectory: &isFolder) else {
            throw VideoError("\(job.input): no such file or folder")
        }
        let source: FrameSource
        var width: Int, height: Int, frameRate: String, total: Int?, audio = false
        if isFolder.boolValue {
            let folder = try FolderSource(folder: job.input)
            let first = try ImageIO.read(path: folder.files[0])
            (width, height, frameRate, total) = (first.width, first.height, job.folderFrameRate, folder.files.count)
            source = folder
        } else {
            let info = try VideoInfo.probe(job.input, ffmpeg: ffmpeg)
            (width, height, frameRate, audio) = (info.width, info.height, info.frameRate, info.hasAudio)
            if let frames = info.frames, job.start == nil, job.duration == nil { total = frames }
            else if let d = job.duration ?? info.duration.map({ $0 - (job.start ?? 0) }) { total = max(0, Int((d * info.fps).rounded())) }
            source = try FFmpegDecoder(ffmpeg: ffmpeg, path: job.input, info: info, start: job.start, duration: job.duration)
        }
        let outSize = job.maxSize.map { RGBImage.fittedSize(width: width, height: height, maxSide: $0) } ?? (width, height)
        let sink: FrameSink
        do {
            if job.outputIsFolder {
                let s = try FolderSink(output: job.output)
                partialPath = s.partialPath
                sink = s
            } else {
                let s = try FFmpegEncoder(ffmpeg: ffmpeg, output: job.output, width: outSize.0, height: outSize.1,
                                          frameRate: frameRate, audioFrom: audio ? job.input : nil,
                                          start: job.start, duration: job.duration, crf: job.crf)
                partialPath = s.partialPath
                sink = s
            }
        } catch {
            source.cancel()
            throw error
        }

        // The reader decodes, fits each frame to --max-size and finds its grid phase, so all of
        // that overlaps the network's work on the previous frame.
        let grid = job.stability > 0 ? SamplingGrid(multiple: TransferArchitecture.sizeMultiple, strokeScale: job.strokeScale) : nil
        let decoded = BoundedQueue<Result<DecodedFrame?, Error>>(capacity: 2)
        let (frameWidth, frameHeight) = (width, height)
        let reader = Thread {
            var index = 0
            while true {
                do {
                    guard let (content, decodedWidth, decodedHeight) = try source.next(fittingIn: job.maxSize) else {
                        decoded.put(.success(nil))
                        break
                    }
                    index += 1
                    guard decodedWidth == frameWidth, decodedHeight == frameHeight else {
                        throw VideoError("\(job.input): frame \(index) is \(decodedWidth)×\(decodedHeight), not \(frameWidth)×\(frameHeight) like the first")
                    }
                    let place = grid?.place(content)
                    decoded.put(.success(DecodedFrame(content: content, phase: place?.phase, motion: place?.motion)))
                } catch {
                    decoded.put(.failure(error))
                    break
                }
            }
        }
        // The writer carries the previous output into each new one (`TemporalBlend`, which needs
        // only the painted frames in order) and encodes, so the painter runs only the network.
        let blend = job.stability > 0 ? TemporalBlend(weight: job.stability) : nil
        let painted = BoundedQueue<PaintedFrame?>(capacity: 2)
        let writeError = Locked<Error?>(nil)
        let writerDone = DispatchSemaphore(value: 0)
        let writer = Thread {
            while let frame = painted.take() {
                guard writeError.value == nil else { continue }  // keep draining so the painter never blocks
                let output = blend?.apply(frame.output, input: frame.content, motion: frame.motion) ?? frame.output
                do { try sink.write(output) } catch { writeError.value = error }
            }
            writerDone.signal()
        }
        reader.start()
        writer.start()

        let temporal = job.stability > 0 ? TemporalMoments(stability: job.stability) : nil
        let started = DispatchTime.now().uptimeNanoseconds
        var count = 0
        var failure: Error?
        var masks: StyleMasks?
        while failure == nil {
            switch decoded.take() {
            case .failure(let e): failure = e
            case .success(nil): break
            case .success(let frame?):
                let content = frame.content
                let moments = temporal.map { t in { t.layerMoments($0, $1, $2) } as TransferNetwork.LayerMoments }
                /// The frame's own embedding, carried across frames like the statistics.
                func ownEmbedding() -> Embedding {
                    let own = stylizer.embedding(style: content)
                    return temporal?.ownEmbedding(own) ?? own
                }
                var result: RGBImage
                if let regions = job.regions {
                    // Static masks: weighted once, at the first frame's size (every frame's).
                    if masks == nil || masks!.width != content.width || masks!.height != content.height {
                        var options = regions.options
                        options.strength = job.strength
                        do { masks = try StyleMasks(masks: regions.masks, width: content.width, height: content.height, options: options) } catch {
                            failure = error
                            break
                        }
                    }
                    result = stylizer.stylize(content, styles: regions.styles, masks: masks!,
                                              ownEmbedding: masks!.usesOwnEmbedding ? ownEmbedding() : nil,
                                              strokeScale: job.strokeScale, moments: moments, phase: frame.phase)
                } else {
                    let e = job.strength < 1
                        ? EmbeddingMath.withStrength(job.style, strength: job.strength, own: ownEmbedding()) : job.style
                    result = stylizer.stylize(content, embedding: e, strokeScale: job.strokeScale, moments: moments,
                                              phase: frame.phase)
                }
                if job.preserveColor { result = content.withLuminance(of: result) }
                painted.put(PaintedFrame(output: result, content: content, motion: frame.motion))
                count += 1
                progress(count, total, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
                if let e = writeError.value { failure = e }
                continue
            }
            break
        }
        painted.put(nil)
        writerDone.wait()
        if failure == nil, let e = writeError.value { failure = e }
        if failure == nil, count == 0 { failure = VideoError("\(job.input): no frames to stylize") }
        if failure == nil {
            do { try source.finish() } catch { failure = error }
        }
        if let failure {
            source.cancel()
            while decoded.tryTake() != nil {}  // unblock the reader
            sink.cancel()
            partialPath = nil
            throw failure
        }
        try sink.finish()
        partialPath = nil
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return VideoSummary(input: job.input, output: job.output, frames: count, width: outSize.0, height: outSize.1,
                            frame_rate: frameRate, audio_copied: audio && !job.outputIsFolder && !job.output.lowercased().hasSuffix(".gif"),
                            stability: job.stability,
                            seconds: seconds, fps: Double(count) / max(seconds, 1e-9))
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

/// A blocking FIFO of at most `capacity` items between two threads.
final class BoundedQueue<T> {
    private var items: [T] = []
    private let capacity: Int
    private let condition = NSCondition()

    init(capacity: Int) { self.capacity = capacity }

    func put(_ item: T) {
        condition.lock()
        while items.count >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    func take() -> T {
        condition.lock()
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        condition.broadcast()
        condition.unlock()
        return item
    }

    func tryTake() -> T? {
        condition.lock()
        defer { condition.unlock() }
        guard !items.isEmpty else { return nil }
        condition.broadcast()
        return items.removeFirst()
    }
}
