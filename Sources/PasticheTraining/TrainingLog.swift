import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// One step's record: what the JSONL log and the progress line show.
public struct StepReport: Codable, Sendable {
    public var step: Int
    public var steps: Int
    public var content: Double
    public var style: Double
    public var tv: Double
    /// Distillation: the weighted embedding MSE (absent in perceptual runs).
    public var embedding: Double?
    /// Transfer distillation: the weighted mean squared difference to the teacher's painting.
    public var teacher: Double?
    public var total: Double
    public var gradNorm: Double
    public var samplesPerSecond: Double
    public var elapsed: Double
    public var eta: Double
    /// Data-parallel runs: seconds the gradient allreduce took this step (absent for one process).
    public var allreduceSeconds: Double?
}

extension StepReport {
    /// Reads the log's snake_case keys, and the camelCase ones logs written before it (a key
    /// without an underscore is left as it is).
    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }
}

/// Append-only JSON lines (snake_case keys, as every JSON Pastiche writes), flushed per line.
final class JSONLLog {
    let handle: FileHandle
    /// Opens the log of a run at `step`: records of later steps (written by a run that was
    /// killed after its last checkpoint) are dropped, so a resumed run's log never jumps back.
    init(path: String, resumingAt step: Int) throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        var kept = Data()
        if step > 0, let old = FileManager.default.contents(atPath: path) {
            for line in old.split(separator: 0x0A) where !line.isEmpty {
                guard let r = try? StepReport.decoder.decode(StepReport.self, from: Data(line)), r.step <= step else { continue }
                kept.append(contentsOf: line); kept.append(0x0A)
            }
        }
        guard FileManager.default.createFile(atPath: path, contents: kept) else { throw TrainingError("\(path): cannot write") }
        guard let h = FileHandle(forWritingAtPath: path) else { throw TrainingError("\(path): cannot write") }
        handle = h
        handle.seekToEndOfFile()
    }
    func append<T: Encodable>(_ value: T) throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]; enc.keyEncodingStrategy = .convertToSnakeCase
        var d = try enc.encode(value); d.append(0x0A)
        handle.write(d)
    }
    deinit { try? handle.close() }
}

/// Reads a training log back (for `train report`).
public enum TrainingLog {
    public static func read(_ path: String) throws -> [StepReport] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError("\(path): no such file") }
        var out: [StepReport] = []
        for (i, line) in data.split(separator: 0x0A).enumerated() where !line.isEmpty {
            do { out.append(try StepReport.decoder.decode(StepReport.self, from: Data(line))) } catch {
                throw TrainingError("\(path): line \(i + 1) is not a training log record")
            }
        }
        return out
    }

    /// Loss curves, smoothed by a running mean of `window`, in two charts one above the other:
    /// the total alone, then its terms (content, style, tv, and the embedding term of a
    /// distillation), each on a log axis. The style term is most of the total in a perceptual
    /// run, so in one chart the two curves would be drawn on top of each other. A quantity keeps
    /// its colour in both charts.
    public static func plot(_ records: [StepReport], window: Int = 10) -> RGBImage {
        func series(_ name: String, _ f: (StepReport) -> Double?) -> (name: String, points: [(x: Double, y: Double)])? {
            var pts: [(x: Double, y: Double)] = []
            var acc: [Double] = []
            for r in records {
                guard let v = f(r) else { continue }
                acc.append(v); if acc.count > window { acc.removeFirst() }
                pts.append((Double(r.step), acc.reduce(0, +) / Double(acc.count)))
            }
            return pts.isEmpty ? nil : (name, pts)
        }
        let total = LossPlot.render(series: [series("total", \.total)!], width: 800, height: 280,
                                    title: "total loss (mean of \(window) steps)", logY: true)
        let terms = [series("content", \.content), series("style", \.style), series("tv", \.tv),
                     series("embedding", \.embedding), series("teacher", \.teacher)].compactMap { $0 }
        let parts = LossPlot.render(series: terms, width: 800, height: 360, title: "its terms (weighted)",
                                    logY: true, firstColor: 1)
        return RGBImage.vstack([total, parts])
    }
}
