import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// Times the two networks (median of several runs after a warm-up) and, when python3 with
/// onnxruntime is installed, onnxruntime on the same shapes in the same run, so the ratio is
/// measured under the same machine load.
public enum Benchmark {
    public struct Case: Codable {
        public var name: String
        public var network: String
        public var size: Int
        public var gflop: Double
        public var pasticheMs: Double
        public var ortMs: Double?
        public var ratio: Double? { ortMs.map { pasticheMs / $0 } }
        public var gflops: Double { gflop / (pasticheMs / 1000) }
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed
        let t = Tensor(shape: shape, zeroed: false)
        for i in 0..<t.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            t.data[i] = Float(state >> 40) / Float(1 << 24)
        }
        return t
    }

    /// `predictor: false` skips the predictor case, `transferSizes: []` the transfer cases (e.g.
    /// to profile one network). onnxruntime always runs Magenta's width-1 predictor.
    ///
    /// Each case runs in `rounds` alternating turns, Pastiche then onnxruntime (a python3 child
    /// that times on request), so a drift in the machine's speed (this 2-core host's swings
    /// by a third within a minute) falls on both sides; each side's figure is the median of
    /// all its runs. A turn starts once the other side's threads have stopped spinning.
    public static func run(stylizer: Stylizer, runs: Int, rounds: Int = 3, predictor: Bool = true,
                           transferSizes: [Int] = [384, 1024], onnxDirectory: String?,
                           progress: (String) -> Void = { _ in }) -> [Case] {
        var cases: [Case] = []
        let ort = onnxDirectory.flatMap { OnnxRuntimeTimer(onnxDirectory: $0) }
        let style = randomTensor([1, 3, 256, 256], seed: 1)
        let embedding = stylizer.predictor(style)
        func measure(_ name: String, runs: Int, _ body: () -> Void) -> (ms: Double, ortMs: Double?) {
            let turns = max(1, min(rounds, runs))
            let perTurn = (runs + turns - 1) / turns
            body()  // warm-up: first-touch page faults, the thread pool's start
            // onnxruntime's warm-up; nil from here on when it is missing or fails.
            var ours: [Double] = [], theirs: [Double]? = ort?.time(name, runs: 1) == nil ? nil : []
            for _ in 0..<turns {
                // Both sides' worker threads spin a while after their last run: let them settle.
                usleep(20_000)
                if theirs != nil { ort?.waitUntilIdle() }
                for _ in 0..<perTurn {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    body()
                    ours.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
                if theirs != nil {
                    usleep(20_000)
                    if let t = ort?.time(name, runs: perTurn) { theirs! += t } else { theirs = nil }
                }
            }
            return (median(ours), theirs.map(median))
        }
        if predictor {
            progress("predictor 256²")
            let m = measure("predict_256", runs: runs) { _ = stylizer.predictor(style) }
            cases.append(Case(name: "predict_256", network: "predictor", size: 256,
                              gflop: stylizer.predictor.architecture.flops(h: 256, w: 256) / 1e9, pasticheMs: m.ms,
                              ortMs: m.ortMs))
        }
        for size in transferSizes {
            progress("transfer \(size)²")
            let content = randomTensor([1, 3, size, size], seed: UInt64(size))
            let m = measure("transfer_\(size)", runs: size >= 1024 ? max(3, runs / 2) : runs) {
                _ = stylizer.transfer(content, embedding: embedding)
            }
            cases.append(Case(name: "transfer_\(size)", network: "transfer", size: size,
                              gflop: stylizer.transfer.flops(h: size, w: size) / 1e9, pasticheMs: m.ms, ortMs: m.ortMs))
        }
        return cases
    }
}

extension Benchmark {
    /// VGG-19's forward through all 16 convs at size² beside onnxruntime running the graph
    /// `ONNXExporter.vgg19` wrote (`vggONNX`), in alternating turns as `run`. nil `vggONNX`, or
    /// onnxruntime missing: Pastiche alone.
    public static func vgg(_ network: VGG19, sizes: [Int], runs: Int, rounds: Int = 3, vggONNX: String?,
                           progress: (String) -> Void = { _ in }) -> [Case] {
        let ort = vggONNX.flatMap { OnnxRuntimeTimer(onnxDirectory: "", extra: [$0]) }
        let last = network.architecture.layers.last!
        return sizes.map { size in
            progress("VGG-19 \(size)²")
            let image = randomTensor([1, 3, size, size], seed: UInt64(size))
            let name = "vgg_\(size)"
            _ = network.forward(image, through: last)
            var ours: [Double] = [], theirs: [Double]? = ort?.time(name, runs: 1) == nil ? nil : []
            let turns = max(1, min(rounds, runs)), perTurn = (runs + turns - 1) / turns
            for _ in 0..<turns {
                usleep(20_000)
                if theirs != nil { ort?.waitUntilIdle() }
                for _ in 0..<perTurn {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = network.forward(image, through: last)
                    ours.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
                if theirs != nil {
                    usleep(20_000)
                    if let t = ort?.time(name, runs: perTurn) { theirs! += t } else { theirs = nil }
                }
            }
            return Case(name: name, network: "vgg19", size: size,
                        gflop: network.architecture.flops(through: last, h: size, w: size) / 1e9,
                        pasticheMs: median(ours), ortMs: theirs.map(median))
        }
    }

    public struct MaskedCase: Codable {
        public var size: Int
        public var regions: Int
        public var plainMs: Double
        /// The network with a style per region, the weight planes given.
        public var maskedMs: Double
        /// As a photo is stylized with masks: the masks' weight planes built (feathered) too.
        public var withMasksMs: Double
        public var ratio: Double { maskedMs / plainMs }
        public var ratioWithMasks: Double { withMasksMs / plainMs }
    }

    /// Masked against plain stylization at size², in alternating turns (the same machine load on
    /// both): `regions` vertical stripes, each a style, with a feathered seam (`feather` px).
    public static func masked(stylizer: Stylizer, size: Int, regions: Int, feather: Double = 16, runs: Int, rounds: Int = 3,
                              progress: (String) -> Void = { _ in }) throws -> MaskedCase {
        let photo = RGBImage(tensor: randomTensor([1, 3, size, size], seed: UInt64(size)))
        let styles = (0..<regions).map { stylizer.predictor(randomTensor([1, 3, 256, 256], seed: UInt64(10 + $0))).array }
        let masks = (0..<regions).map { r in
            var m = RGBImage(width: size, height: size)
            for y in 0..<size { for x in 0..<size where x * regions / size == r {
                for c in 0..<3 { m.pixels[c * size * size + y * size + x] = 1 }
            } }
            return m
        }
        var options = StyleMasks.Options()
        options.feather = feather
        let weights = try StyleMasks(masks: masks, width: size, height: size, options: options)
        let turns = max(1, min(rounds, runs)), perTurn = (runs + turns - 1) / turns
        var plain: [Double] = [], masked: [Double] = [], withMasks: [Double] = []
        func time(_ into: inout [Double], _ body: () throws -> Void) rethrows {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            into.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        _ = stylizer.stylize(photo, embedding: styles[0])  // warm-up
        for turn in 0..<turns {
            progress("masked \(size)², turn \(turn + 1) of \(turns)")
            for _ in 0..<perTurn {
                time(&plain) { _ = stylizer.stylize(photo, embedding: styles[0]) }
                time(&masked) { _ = stylizer.stylize(photo, styles: styles, masks: weights) }
                try time(&withMasks) {
                    let w = try StyleMasks(masks: masks, width: size, height: size, options: options)
                    _ = stylizer.stylize(photo, styles: styles, masks: w)
                }
            }
        }
        return MaskedCase(size: size, regions: regions, plainMs: median(plain), maskedMs: median(masked),
                          withMasksMs: median(withMasks))
    }
}

/// onnxruntime (2 threads) on the float graphs (weight dequantization folded, activation Q/DQ
/// bypassed — the same network Pastiche computes), in a python3 child (Resources/ort_bench.py)
/// that answers "CASE RUNS" lines on stdin with a JSON list of milliseconds. nil when python3,
/// onnxruntime, the script or the ONNX files are missing.
final class OnnxRuntimeTimer {
    /// The script, from the resource bundle SwiftPM puts beside the executable. Looked up by
    /// hand rather than through `Bundle.module`, which stops the process when the bundle is
    /// missing (a binary copied elsewhere): then bench runs without the onnxruntime column.
    static var scriptPath: String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates = [
            executable.deletingLastPathComponent().appendingPathComponent("Pastiche_PasticheTools.resources/ort_bench.py"),
            Bundle.main.bundleURL.appendingPathComponent("Pastiche_PasticheTools.resources/ort_bench.py"),
        ]
        return candidates.map(\.path).first { FileManager.default.fileExists(atPath: $0) }
    }

    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private var buffer = Data()

    init?(onnxDirectory: String, extra: [String] = []) {
        guard let script = Self.scriptPath else { return nil }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, onnxDirectory] + extra
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil, readLine() == "ready" else { return nil }
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Returns once the child has used no CPU for two samples 10 ms apart (at most 1 s):
    /// onnxruntime's worker threads keep spinning for a while after each run, taking a core from
    /// whatever runs next, which would slow Pastiche's first runs of its turn. Without /proc, a
    /// fixed 100 ms.
    func waitUntilIdle() {
        let path = "/proc/\(process.processIdentifier)/stat"
        func cpuTicks() -> Int? {
            // Fields after the parenthesised name: state is the 3rd, utime the 14th, stime the 15th.
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
            return user + system
        }
        guard var last = cpuTicks() else {
            usleep(100_000)
            return
        }
        var quiet = 0
        for _ in 0..<100 where quiet < 2 {
            usleep(10_000)
            guard let now = cpuTicks() else { return }
            quiet = now == last ? quiet + 1 : 0
            last = now
        }
    }

    /// `runs` timed runs of a case ("predict_256", "transfer_384"), in milliseconds.
    func time(_ name: String, runs: Int) -> [Double]? {
        guard process.isRunning,
              (try? input.fileHandleForWriting.write(contentsOf: Data("\(name) \(runs)\n".utf8))) != nil,
              let line = readLine(), let data = line.data(using: .utf8),
              let times = try? JSONSerialization.jsonObject(with: data) as? [Double], times.count == runs
        else { return nil }
        return times
    }

    private func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }  // the child exited
            buffer.append(chunk)
        }
    }
}
