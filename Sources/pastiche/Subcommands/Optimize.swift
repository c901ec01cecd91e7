import ArgumentParser
import Dispatch
import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary
import PasticheModels
import PasticheOptimize
import PasticheTools

struct OptimizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Paint a photo by optimizing its pixels against VGG-19 (Gatys et al.): slow, and the best quality.",
        discussion: """
            Minimizes content + style + total variation, measured in VGG-19 (fetched by \
            `pastiche model fetch`): content at relu4_2, style as Gram matrices at relu1_1…relu5_1 \
            (the objective is written out in docs/optimize.md). Each iteration is one evaluation of the \
            objective and its gradient. Styles are image files: the library keeps embeddings, not \
            pixels, so library style names cannot be used here. Each style is resized to the photo's \
            pixel count (times --style-scale²). --init stylize (the default) starts from the feed-forward \
            painting of `pastiche stylize` with the same styles, which reaches a given objective in far \
            fewer iterations than the photo or noise. --scales 256,512,1024 --iterations 300,150,50 works \
            coarse to fine. Ctrl-C writes the image as it stands and exits non-zero.
            """
    )

    @Argument(help: "The photo to paint.") var photo: String
    @Option(name: .customLong("style-image"), help: "A style image (repeat for several).") var styleImages: [String] = []
    @Option(name: .customLong("style-weights"), help: "Comma-separated weights of the style images (normalised to sum 1; default equal).")
    var styleWeights: String?
    @Option(name: .shortAndLong, help: "Output image (PNG or JPEG by extension), or - for PNG on stdout.") var output: String
    @Option(help: "Long side of the result in pixels (default 512; the photo is resized up or down to it).") var size: Int?
    @Option(name: .customLong("max-size"), help: "Instead of --size: the photo's own size, downscaled so the long side is at most N pixels.")
    var maxSize: Int?
    @Option(help: "Comma-separated long sides, coarse to fine (each scale starts from the last one's result).") var scales: String?
    @Option(help: "Iterations (one per scale with --scales, comma-separated).") var iterations: String = "500"
    @Option(help: "lbfgs or adam.") var optimizer: String = PixelOptimizerKind.lbfgs.rawValue
    @Option(name: .customLong("learning-rate"), help: "Adam's step in [0, 1] pixel units (default \(StyleOptimizationRequest.defaultAdamRate)); L-BFGS's step multiplier (default 1).")
    var learningRate: Float?
    @Option(help: "L-BFGS history pairs (default 100, fewer above about 0.9 megapixels to keep them within 2 GiB).") var history: Int?
    @Option(name: .customLong("init"), help: "Start image: stylize (the feed-forward result), content (the photo), noise, or an image file.")
    var initial: String = "stylize"
    @Option(help: "Seed of --init noise.") var seed: UInt64 = 0
    @Option(name: .customLong("content-weight"), help: "Weight of the content term.") var contentWeight: Double = 1
    @Option(name: .customLong("style-weight"), help: "Weight of the style term.") var styleWeight: Double = 1
    @Option(name: .customLong("tv-weight"), help: "Weight of the total-variation term.") var tvWeight: Double = 0
    @Option(help: "Pooling between VGG blocks: max (as trained) or avg.") var pooling: String = VGGPooling.max.rawValue
    @Option(name: .customLong("style-scale"), help: "Style images at the photo's pixel count times this squared: larger gives larger strokes.")
    var styleScale: Double = 1
    @Flag(name: .customLong("preserve-color"), help: "Keep the photo's colours; transfer luminance only (YCbCr).")
    var preserveColor = false
    @Option(name: .customLong("save-every"), parsing: .upToNextOption, help: "N DIR: write the image every N iterations into DIR.")
    var saveEvery: [String] = []
    @Option(name: .customLong("loss-network"), help: "VGG-19 weights (safetensors). Default: $PASTICHE_HOME/models/\(VGG19Weights.fileName).")
    var lossNetwork: String?
    @OptionGroup var model: ModelOptions
    @Flag(help: "Print one JSON object per iteration, then a summary object.") var json = false

    static let maxSide = 16384

    var scaleList: [Int] {
        get throws {
            if let maxSize, scales == nil && size == nil {
                // The photo's long side, capped (read from the header only).
                let info = try ImageIO.info(path: photo)
                return [min(maxSize, max(info.width, info.height))]
            }
            return try Self.integers(scales ?? String(size ?? 512), flag: "--scales")
        }
    }
    var iterationList: [Int] {
        get throws {
            let list = try Self.integers(iterations, flag: "--iterations")
            let count = try scaleList.count
            return list.count == 1 ? Array(repeating: list[0], count: count) : list
        }
    }
    var weightList: [Double]? {
        get throws {
            try styleWeights.map { s in
                try s.split(separator: ",", omittingEmptySubsequences: false).map {
                    guard let v = Double($0.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                        throw ValidationError("--style-weights must be comma-separated numbers, got '\(s)'")
                    }
                    return v
                }
            }
        }
    }

    static func integers(_ text: String, flag: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count else { throw ValidationError("\(flag) must be comma-separated whole numbers, got '\(text)'") }
        return values
    }

    func validate() throws {
        if styleImages.isEmpty {
            throw ValidationError("give at least one --style-image FILE (library styles are embeddings, not pixels, so optimize cannot use them)")
        }
        if [size != nil, scales != nil, maxSize != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --size, --max-size and --scales")
        }
        try validateMaxSize(maxSize)
        let sides = try scaleList
        for s in sides where !(16...Self.maxSide).contains(s) {
            throw ValidationError("sizes must be from 16 to \(Self.maxSide) pixels, got \(s)")
        }
        if sides.count > 1, zip(sides, sides.dropFirst()).contains(where: { $0 >= $1 }) {
            throw ValidationError("--scales must grow, coarse to fine: \(scales!)")
        }
        let its = try Self.integers(iterations, flag: "--iterations")
        if its.count != 1 && its.count != sides.count {
            throw ValidationError("--iterations has \(its.count) values for \(sides.count) scales; give one, or one per scale")
        }
        if let bad = its.first(where: { $0 < 1 || $0 > 1_000_000 }) {
            throw ValidationError("--iterations must be from 1 to 1000000, got \(bad)")
        }
        if let w = try weightList {
            if w.count != styleImages.count {
                throw ValidationError("--style-weights has \(w.count) value\(w.count == 1 ? "" : "s") for \(styleImages.count) style image\(styleImages.count == 1 ? "" : "s")")
            }
            if w.contains(where: { $0 < 0 }) { throw ValidationError("--style-weights must not be negative") }
            if w.reduce(0, +) <= 0 { throw ValidationError("--style-weights must not all be zero") }
        }
        guard PixelOptimizerKind(rawValue: optimizer) != nil else { throw ValidationError("--optimizer must be lbfgs or adam, not '\(optimizer)'") }
        guard VGGPooling(rawValue: pooling) != nil else { throw ValidationError("--pooling must be max or avg, not '\(pooling)'") }
        for (flag, v) in [("--content-weight", contentWeight), ("--style-weight", styleWeight), ("--tv-weight", tvWeight)] {
            if !(v >= 0 && v.isFinite) { throw ValidationError("\(flag) must be a non-negative number, got \(v)") }
        }
        if contentWeight == 0 && styleWeight == 0 && tvWeight == 0 { throw ValidationError("every weight is zero: nothing to optimize") }
        if !(styleScale > 0 && styleScale <= 8) { throw ValidationError("--style-scale must be in (0, 8], got \(styleScale)") }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) { throw ValidationError("--learning-rate must be positive") }
        if let history, !(1...1000).contains(history) { throw ValidationError("--history must be from 1 to 1000") }
        if !saveEvery.isEmpty {
            guard saveEvery.count == 2, let n = Int(saveEvery[0]), n >= 1 else {
                throw ValidationError("--save-every takes N DIR: a whole number of iterations and a directory")
            }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: saveEvery[1], isDirectory: &isDir), !isDir.boolValue {
                throw ValidationError("--save-every: \(saveEvery[1]) is a file, not a directory")
            }
        }
        if output == "-" && json { throw ValidationError("-o - and --json both write to stdout; give -o a file with --json") }
        if output != "-" && ImageFormat(pathExtension: output) == nil {
            throw ValidationError("-o \(output): give a .png or .jpg file name, or - for stdout")
        }
        var inputs = [photo] + styleImages
        if !["stylize", "content", "noise"].contains(initial) { inputs.append(initial) }
        if let lossNetwork { inputs.append(lossNetwork) }
        try refuseOverwritingInputs(output: output, inputs: inputs)
        if !saveEvery.isEmpty {
            // No --save-every image may land on the output or an input.
            let dir = URL(fileURLWithPath: saveEvery[1]).standardizedFileURL.resolvingSymlinksInPath().path
            for file in (output == "-" ? [] : [output]) + inputs {
                let url = URL(fileURLWithPath: file).standardizedFileURL.resolvingSymlinksInPath()
                if url.deletingLastPathComponent().path == dir,
                   url.lastPathComponent.range(of: #"^(s\d+-)?iter-\d+\.png$"#, options: .regularExpression) != nil {
                    throw ValidationError("\(file) could be replaced by a --save-every image in \(saveEvery[1]); choose another name or folder")
                }
            }
        }
    }

    func run() throws {
        let home = PasticheHome()
        let vggPath = lossNetwork ?? home.vgg19Model
        if lossNetwork == nil && !FileManager.default.fileExists(atPath: vggPath) {
            throw ModelError("no VGG-19 at \(vggPath); run `pastiche model fetch` first, or pass --loss-network")
        }
        let network = try VGG19.load(path: vggPath, pooling: VGGPooling(rawValue: pooling)!)
        let content = try ImageIO.read(path: photo)
        let styles = try styleImages.map { path -> RGBImage in
            let image = try ImageIO.read(path: path)
            guard image.width >= 16 && image.height >= 16 else {
                throw ValidationError("\(path): the style image is \(image.width)×\(image.height); it needs at least 16×16 pixels")
            }
            return image
        }
        var request = StyleOptimizationRequest(content: content, styles: styles, styleWeights: try weightList,
                                               scales: try scaleList, iterations: try iterationList)
        request.optimizer = PixelOptimizerKind(rawValue: optimizer)!
        request.learningRate = learningRate
        request.history = history
        request.styleScale = styleScale
        request.settings.contentWeight = contentWeight
        request.settings.styleWeight = styleWeight
        request.settings.tvWeight = tvWeight
        let first = request.size(atScale: request.scales[0])
        for (path, style) in zip(styleImages, styles) {
            let s = request.styleSize(style, photoPixels: first.width * first.height)
            let side = network.architecture.minimumSide(through: request.settings.deepestLayer)
            guard s.width >= side && s.height >= side else {
                throw ValidationError("\(path) would be \(s.width)×\(s.height) at this size; VGG-19 needs at least \(side)×\(side) (raise --style-scale or --size)")
            }
        }
        for side in request.scales {
            let s = request.size(atScale: side)
            let minimum = network.architecture.minimumSide(through: request.settings.deepestLayer)
            guard s.width >= minimum && s.height >= minimum else {
                throw ValidationError("the photo would be \(s.width)×\(s.height) at size \(side); VGG-19 needs at least \(minimum)×\(minimum)")
            }
        }
        try checkMemory(request, architecture: network.architecture)
        let estimatedPeak = StyleOptimization.estimatedPeakBytes(request, architecture: network.architecture)

        switch initial {
        case "content": request.initial = .content
        case "noise": request.initial = .noise(seed: seed)
        case "stylize":
            // The arbitrary network's painting with the same styles and weights, at the first
            // scale, through the painter every command uses. The first scale is already the
            // resolution the optimizer works at, so the network paints it natively.
            let stylizer = try model.loadStylizer()
            let photoAtScale = content.resized(width: first.width, height: first.height)
            var options = PaintingOptions()
            options.weights = try BlendWeights(request.styleWeights.map { Float($0) })
            options.strokeScale = .native
            let painting = try Painting(styles: zip(styleImages, styles).map {
                Painting.Style(name: StyleLibrary.defaultName(for: $0.0), embedding: stylizer.embedding(style: $0.1))
            }, options: options)
            request.initial = .image(try painting.paint(photoAtScale, with: stylizer))
        default:
            request.initial = .image(try ImageIO.read(path: initial))
        }

        let saveDirectory = saveEvery.count == 2 ? saveEvery[1] : nil
        let saveInterval = saveEvery.count == 2 ? Int(saveEvery[0])! : 0
        if let saveDirectory { try FileManager.default.createDirectory(atPath: saveDirectory, withIntermediateDirectories: true) }
        let interrupt = InterruptFlag(announce: Terminal.interactive)
        var scaleStart = 0.0
        let started = Date()
        var lastReport: IterationReport?
        var saveError: Error?
        let result = StyleOptimization(network: network).run(request, startTime: started, onIteration: { report, image in
            lastReport = report
            if report.iteration == 0 { scaleStart = report.seconds }
            if json { printJSONLine(IterationLine(report, scales: request.scales.count)) }
            if Terminal.interactive { Terminal.progress(progressLine(report, scales: request.scales.count, scaleStart: scaleStart)) }
            if let saveDirectory, report.iteration % saveInterval == 0 || report.iteration == report.iterations {
                let prefix = request.scales.count > 1 ? "s\(report.scale + 1)-" : ""
                let digits = String(report.iterations).count
                let name = prefix + "iter-" + String(repeating: "0", count: max(0, digits - String(report.iteration).count)) + "\(report.iteration).png"
                do { try ImageIO.write(finish(image(), content: content), to: saveDirectory + "/" + name) } catch { saveError = error }
            }
        }, shouldStop: { interrupt.isSet || saveError != nil })
        interrupt.cancel()
        Terminal.endProgress()
        if let saveError { throw saveError }
        let image = finish(result.image, content: content)
        try ImageIO.write(image, to: output)
        if json {
            printJSONLine(Summary(output: output, width: image.width, height: image.height, iterations: result.iterationsRun,
                                  evaluations: result.evaluations, bestIteration: result.bestIteration, seconds: Date().timeIntervalSince(started), content: result.final?.content ?? 0,
                                  style: result.final?.style ?? 0, tv: result.final?.tv ?? 0, total: result.final?.total ?? 0,
                                  stopped: result.stopped, init: initial, optimizer: optimizer,
                                  estimatedPeakBytes: estimatedPeak))
        }
        if result.stopped {
            let at = lastReport.map { " at iteration \($0.iteration) of \($0.iterations)" } ?? ""
            throw ModelError("interrupted\(at); wrote the image as it stood to \(output)")
        }
        if output != "-" && !json { Terminal.note("wrote \(output)") }
    }

    /// The result as the user asked for it: at the photo's aspect, colours kept if asked.
    func finish(_ image: RGBImage, content: RGBImage) -> RGBImage {
        guard preserveColor else { return image }
        return content.resized(width: image.width, height: image.height).withLuminance(of: image)
    }

    func checkMemory(_ request: StyleOptimizationRequest, architecture: VGG19Architecture) throws {
        let need = StyleOptimization.estimatedPeakBytes(request, architecture: architecture)
        let have = availableMemoryBytes()
        guard need > have else { return }
        // The largest long side whose estimate fits, by bisection over the last scale.
        var lo = 16, hi = request.scales.last!
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            var r = request
            r.scales = [mid]; r.iterations = [1]
            if StyleOptimization.estimatedPeakBytes(r, architecture: architecture) <= have { lo = mid } else { hi = mid - 1 }
        }
        let gb = { (b: Int) in String(format: "%.1f GB", Double(b) / 1e9) }
        var smallest = request
        smallest.scales = [16]; smallest.iterations = [1]
        let fits = StyleOptimization.estimatedPeakBytes(smallest, architecture: architecture) <= have
        throw ValidationError("size \(request.scales.last!) needs about \(gb(need)) of memory and \(gb(have)) is available; "
            + (fits ? "the largest size that fits is \(lo)" : "no size fits"))
    }

    struct IterationLine: Encodable {
        let iteration: Int, content: Double, style: Double, tv: Double, total: Double, seconds: Double
        let scale: Int?, width: Int, height: Int
        init(_ r: IterationReport, scales: Int) {
            iteration = r.iteration; content = r.terms.content; style = r.terms.style; tv = r.terms.tv
            total = r.terms.total; seconds = r.seconds; scale = scales > 1 ? r.scale + 1 : nil
            width = r.width; height = r.height
        }
    }

    struct Summary: Encodable {
        let summary = true
        /// Steps taken (summed over scales), objective evaluations, and the iteration of the last
        /// scale whose image (the lowest objective there) was written.
        let output: String, width: Int, height: Int, iterations: Int, evaluations: Int, bestIteration: Int, seconds: Double
        let content: Double, style: Double, tv: Double, total: Double
        let stopped: Bool, `init`: String, optimizer: String
        /// What the run was planned to need (the figure `optimize` refuses a size by).
        let estimatedPeakBytes: Int
    }

    func progressLine(_ r: IterationReport, scales: Int, scaleStart: Double) -> String {
        let rate = r.iteration > 0 && r.seconds > scaleStart ? Double(r.iteration) / (r.seconds - scaleStart) : 0
        let left = rate > 0 ? Double(r.iterations - r.iteration) / rate : 0
        let scale = scales > 1 ? " scale \(r.scale + 1)/\(scales)" : ""
        return String(format: "optimize %d×%d%@ iteration %d/%d  loss %.4g  %.2f it/s  ETA %@",
                      r.width, r.height, scale, r.iteration, r.iterations, r.terms.total, rate, formatDuration(left))
    }
}

/// One compact JSON object on its own line (snake_case keys), flushed at once so a reader of the
/// pipe sees each iteration as it ends.
func printJSONLine<T: Encodable>(_ value: T) {
    // A diverging objective is still reported, as the strings JSON has for it.
    guard let data = try? Terminal.jsonEncoder().encode(value) else { return }
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Memory the kernel says a new allocation can have (MemAvailable), or physical memory when
/// /proc/meminfo is unreadable.
func availableMemoryBytes() -> Int {
    if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
       let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
       let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
        return kb * 1024
    }
    return Int(ProcessInfo.processInfo.physicalMemory)
}

/// Ctrl-C (SIGINT) as a flag the optimization loop reads between iterations, so the image as it
/// stands can still be written.
final class InterruptFlag: @unchecked Sendable {
    private let source: DispatchSourceSignal
    private let lock = NSLock()
    private var set = false
    /// `announce`: say at once, on the terminal, that the iteration under way is being finished.
    init(announce: Bool) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            lock.lock(); set = true; lock.unlock()
            if announce { Terminal.progress("interrupted: finishing this iteration, then writing the image") }
        }
        source.resume()
    }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
    func cancel() { source.cancel(); signal(SIGINT, SIG_DFL) }
}
