import Foundation
import PasticheCore
import PasticheImage
import PasticheModels

/// How the predictor starts: the pretrained weights, the pretrained MobileNetV2 trunk with a
/// re-initialised 1280→100 bottleneck, or everything initialised from scratch.
public enum PredictorInit: String, Codable, CaseIterable, Sendable {
    case pretrained, trunk, scratch
}

/// What a run minimises. `perceptual`: content + style + tv through the loss network (Ghiasi
/// et al.). `distill`: the mean squared difference between a (narrower) student predictor's
/// embedding and a teacher's on the same augmented style image (Magenta's
/// arbitrary_image_stylization_distill_mobilenet), optionally plus the perceptual loss.
public enum TrainingMode: String, Codable, CaseIterable, Sendable {
    case perceptual, distill
    /// A per-style transfer network (Johnson et al. 2016): the transfer network alone is
    /// trained, for one style whose embedding stays fixed (`train transfer --style-image`).
    case transfer
    /// An N-style transfer network (Dumoulin et al. 2017): the transfer network and one learned
    /// embedding per style image are trained together (`train transfer --styles`).
    case nStyle = "n-style"
    /// A narrower transfer network distilled from the pretrained one (`train transfer --width`):
    /// the teacher's painting of each (photo, style) is the target, plus the perceptual loss;
    /// the predictor stays the teacher's, so the model paints any style.
    case transferDistill = "transfer-distill"
    /// AdaIN's decoder (Huang & Belongie 2017, `train adain`): trained to invert the frozen
    /// encoder from AdaIN's target, through `AdaINLoss`.
    case adain
}

/// How a per-style transfer network starts: the pretrained arbitrary-style network (so step 0
/// paints exactly as `stylize --style-image` does), or initialised at random as Johnson et al.
/// trained theirs.
public enum TransferInit: String, Codable, CaseIterable, Sendable {
    case pretrained, random
}

/// Everything that defines a run; stored in every checkpoint, so `--resume` needs nothing else.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var mode: TrainingMode = .perceptual
    /// Content photos; distillation without the perceptual term needs none.
    public var content: String?
    /// A folder (or pack) of style images; for a per-style network (`.transfer`), its one image;
    /// for an N-style network (`.nStyle`), its styles, in path order.
    public var styles: String
    /// A per-style or N-style network's starting point.
    public var transferInit: TransferInit = .pretrained
    public var initMode: PredictorInit = .trunk
    public var trainTransfer = false
    public var steps = 1000
    public var batch = 8
    public var size = 256
    public var learningRate: Float = 1e-3
    public var clipNorm: Float? = nil
    public var seed: UInt64 = 0
    /// Pretrained model: the transfer network, the loss network and (for pretrained/trunk) the
    /// predictor's starting point. In distillation it is the teacher, whose predictor gives the
    /// target embeddings and whose transfer network the student's model keeps.
    public var model: String
    /// Distillation: the student predictor's MobileNetV2 width multiplier.
    public var width: Double = 1
    /// Transfer distillation: the student transfer network's channel multiplier.
    public var transferWidth: Double = 1
    /// Transfer distillation: weight of the mean squared difference (pixels in [0, 1]) between
    /// the student's painting and the teacher's.
    public var teacherWeight: Float = 1000
    /// Transfer distillation: the content photos are style images too, after `styles`. The
    /// student learns to paint every embedding the teacher is given; photos widen those beyond
    /// a small style set (paintings held out from training embed nearer to photos than to
    /// texture sets; docs/training.md).
    public var contentAsStyles = false
    /// AdaIN: the weight of the μ/σ style loss (the content loss's is 1).
    public var adainStyleWeight: Float = 10
    /// Adam's inverse-time learning-rate decay (AdaIN: 5e-5, as the authors); 0: constant.
    public var learningRateDecay: Float = 0
    /// Distillation: weight of the embedding MSE.
    public var embeddingWeight: Float = 1
    /// Distillation: add the perceptual loss (content + style + tv) of the student's stylization.
    public var perceptual = false
    public var output: String
    public var checkpointDir: String? = nil
    public var checkpointEvery = 0
    public var augmentStyles = true
    public var loss = LossConfig()
    /// Background batch preparation (off: batches are made inline; results are identical).
    public var prefetch = true

    public init(content: String?, styles: String, model: String, output: String) {
        self.content = content; self.styles = styles; self.model = model; self.output = output
    }

    // Bounds on the settings that drive allocation, checked before any work starts.
    public static let maximumSteps = 100_000_000
    public static let maximumBatch = 1024
    public static let maximumSize = 2048
    /// An N-style run keeps every style image decoded; this bounds that memory.
    public static let maximumLearnedStyles = 1000
    /// Memory one training image needs per pixel of its crop: activations and their gradients
    /// through the predictor, the transfer network and the loss network (a 256², batch-8 step
    /// peaks near 1.6 GB, about 3 KB per pixel with the fixed part included).
    public static let bytesPerPixel = 3072

    /// Data parallelism: `--batch` is the global batch, each rank an equal slice of it.
    public static func checkBatch(_ batch: Int, splitsOver ranks: Int) throws {
        if batch % ranks != 0 {
            throw TrainingError("--batch \(batch) is the global batch and must split evenly over \(ranks) ranks; give a multiple of \(ranks)")
        }
    }

    /// `--size` (a multiple of 4, 16 … 2048) and, with `batch`, the memory a step needs against
    /// what the machine has.
    public static func checkSize(_ size: Int, batch: Int = 1, flag: String = "--size") throws {
        guard size >= 16, size <= maximumSize, size % 4 == 0 else {
            throw TrainingError("\(flag) must be a multiple of 4 from 16 to \(maximumSize), got \(size)")
        }
        guard batch >= 1, batch <= maximumBatch else { throw TrainingError("--batch must be from 1 to \(maximumBatch), got \(batch)") }
        let needed = Double(batch) * Double(size * size) * Double(bytesPerPixel)
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        if needed > 0.8 * available {
            throw TrainingError(String(format: "--batch %d at %@ %d needs about %.1f GB of memory; this machine has %.1f GB",
                                       batch, flag, size, needed / 1e9, available / 1e9))
        }
    }

    public func validate() throws {
        if steps < 0 || steps > Self.maximumSteps { throw TrainingError("--steps must be from 0 to \(Self.maximumSteps), got \(steps)") }
        try Self.checkSize(size, batch: batch)
        if !(learningRate > 0 && learningRate.isFinite) { throw TrainingError("--lr must be a positive number") }
        if let c = clipNorm, !(c > 0 && c.isFinite) { throw TrainingError("--clip must be positive") }
        if checkpointEvery < 0 { throw TrainingError("--checkpoint-every must be ≥ 0") }
        if checkpointEvery > 0 && checkpointDir == nil { throw TrainingError("--checkpoint-every needs --checkpoint-dir") }
        if needsContent && content == nil { throw TrainingError("give --content DIR (content photos)") }
        if mode == .transfer {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: styles, isDirectory: &isDir), !isDir.boolValue else {
                throw TrainingError("--style-image \(styles): a per-style network trains on one style image file")
            }
        }
        if mode == .nStyle {
            let count = try ImageSet(path: styles, maxSide: 16).count
            if count < 2 {
                throw TrainingError("--styles \(styles) has \(count) image; an N-style network learns several styles (for one, give --style-image)")
            }
            if count > Self.maximumLearnedStyles {
                throw TrainingError("--styles \(styles) has \(count) images; an N-style network learns at most \(Self.maximumLearnedStyles)")
            }
        }
        if mode == .adain {
            if !(adainStyleWeight >= 0 && adainStyleWeight.isFinite) { throw TrainingError("--style-weight must be a non-negative number") }
            if !(learningRateDecay >= 0 && learningRateDecay.isFinite) { throw TrainingError("--lr-decay must be a non-negative number") }
        }
        if mode == .transferDistill {
            if !TransferArchitecture.widths.contains(transferWidth) || transferWidth >= 1 {
                throw TrainingError("--width must be one of \(TransferArchitecture.widths.filter { $0 < 1 }.map { TransferArchitecture(width: $0).widthText }.joined(separator: ", ")) (a network narrower than the teacher's), got \(transferWidth)")
            }
            if !(teacherWeight >= 0 && teacherWeight.isFinite) { throw TrainingError("--teacher-weight must be a non-negative number") }
        } else if contentAsStyles {
            throw TrainingError("--content-as-styles goes with --width (distillation)")
        }
        if mode == .distill {
            if !PredictorArchitecture.distillWidths.contains(width) {
                throw TrainingError("--width must be one of \(PredictorArchitecture.distillWidths.map { PredictorArchitecture(width: $0).widthText }.joined(separator: ", ")), got \(width)")
            }
            if initMode != .scratch && width != 1 {
                throw TrainingError("--init \(initMode.rawValue) copies the teacher's width-1 predictor; a width-\(PredictorArchitecture(width: width).widthText) student starts from scratch")
            }
            if trainTransfer { throw TrainingError("distillation trains the predictor only (no --train-transfer)") }
            if !(embeddingWeight >= 0 && embeddingWeight.isFinite) { throw TrainingError("--embedding-weight must be a non-negative number") }
        }
    }

    /// The transfer network this run trains (or keeps).
    public var transferArchitecture: TransferArchitecture { mode == .transferDistill ? TransferArchitecture(width: transferWidth) : .standard }
    /// The student's (or trained predictor's) shape.
    public var architecture: PredictorArchitecture { mode == .distill ? PredictorArchitecture(width: width) : .standard }
    /// Whether steps stylize content photos (and so need them).
    public var needsContent: Bool { mode != .distill || perceptual }

    /// A config stored by any earlier version: settings added since (e.g. `mode`, `width`) take
    /// their defaults, so older checkpoints still resume.
    static func decodeStored(_ json: String, path: String) throws -> TrainingConfig {
        let bad = TrainingError("\(path): the checkpoint's config is not readable")
        guard let stored = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              var merged = try JSONSerialization.jsonObject(
                  with: JSONEncoder().encode(TrainingConfig(content: nil, styles: "", model: "", output: ""))) as? [String: Any]
        else { throw bad }
        for (key, value) in stored { merged[key] = value }
        do {
            return try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch { throw bad }
    }

    /// The JSONL log: in the checkpoint directory, else next to the output model.
    public var logPath: String {
        if let d = checkpointDir { return d + "/train.jsonl" }
        return (output as NSString).deletingPathExtension + ".train.jsonl"
    }
}
