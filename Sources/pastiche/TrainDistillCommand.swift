import ArgumentParser
import Foundation
import PasticheModels
import PasticheTraining

/// The flags every training mode shares (steps, data, optimiser, checkpoints, output).
struct TrainingRunOptions: ParsableArguments {
    @Option(help: "Total optimiser steps (default 1000).") var steps: Int?
    @Option(help: "Images per step (default 8).") var batch: Int?
    @Option(help: "Crop size in pixels, a multiple of 4 (default 256).") var size: Int?
    @Option(help: "Adam learning rate (default 1e-3).") var lr: Float?
    @Option(help: "Clip the gradient to this global L2 norm.") var clip: Float?
    @Option(help: "Random seed: same seed, same data and run (default 0).") var seed: UInt64?
    @Flag(name: .customLong("no-augment"), help: "Centre-crop style images instead of Magenta's augmentation.")
    var noAugment = false
    @Option(name: .shortAndLong, help: "Where to write the trained model (safetensors).") var output: String?
    @Option(name: .customLong("checkpoint-dir"), help: "Directory for checkpoints and the log.") var checkpointDir: String?
    @Option(name: .customLong("checkpoint-every"), help: "Write a checkpoint every N steps (default 100 with --checkpoint-dir).")
    var checkpointEvery: Int?
    @Option(help: "Continue the run saved in this checkpoint.") var resume: String?
    @Flag(help: "Print one JSON object per step on stdout.") var json = false

    /// The flags a resumed run cannot change (its checkpoint holds them), with whether each is set.
    var fixedFlags: [(String, Bool)] {
        [("--batch", batch != nil), ("--size", size != nil), ("--lr", lr != nil), ("--clip", clip != nil),
         ("--seed", seed != nil), ("--no-augment", noAugment), ("-o", output != nil),
         ("--checkpoint-dir", checkpointDir != nil), ("--checkpoint-every", checkpointEvery != nil)]
    }

    /// Checks common to every mode; `modeFlags` are the mode's own settings a resume cannot change.
    func validate(modeFlags: [(String, Bool)]) throws {
        if let resume {
            if let bad = (modeFlags + fixedFlags).first(where: { $0.1 }) {
                throw ValidationError("\(bad.0) cannot change a resumed run; --resume \(resume) takes its settings from the checkpoint (only --steps may be given)")
            }
            if !FileManager.default.fileExists(atPath: resume) { throw ValidationError("--resume \(resume): no such file") }
        } else {
            if output == nil { throw ValidationError("give -o MODEL, where to write the trained model") }
            if checkpointEvery != nil && checkpointDir == nil { throw ValidationError("--checkpoint-every needs --checkpoint-dir") }
            if let n = checkpointEvery, n < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        }
        if let steps, steps < 0 { throw ValidationError("--steps must be ≥ 0") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let size, size < 16 || size % 4 != 0 { throw ValidationError("--size must be a multiple of 4, at least 16") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number") }
        if let clip, !(clip > 0 && clip.isFinite) { throw ValidationError("--clip must be a positive number") }
    }

    /// Fills the shared fields of a new run's config.
    func apply(to config: inout TrainingConfig) {
        config.steps = steps ?? 1000
        config.batch = batch ?? 8
        config.size = size ?? 256
        config.learningRate = lr ?? 1e-3
        config.clipNorm = clip
        config.seed = seed ?? 0
        config.augmentStyles = !noAugment
        config.checkpointDir = checkpointDir
        config.checkpointEvery = checkpointDir == nil ? 0 : (checkpointEvery ?? 100)
    }

    /// The trainer of a resumed run (its checkpoint's config, `--steps` may extend it), or nil.
    func resumedTrainer() throws -> Trainer? {
        guard let resume else { return nil }
        var config = try Trainer.readCheckpointConfig(resume)
        if let steps { config.steps = steps }
        let trainer = try Trainer(config: config)
        try trainer.loadCheckpoint(resume)
        Terminal.note("resuming at step \(trainer.step) of \(config.steps) from \(resume)")
        return trainer
    }

    /// Runs to the end: a progress line on a TTY, one JSON object per step with --json.
    func run(_ trainer: Trainer) throws {
        let encoder = JSONEncoder(); encoder.outputFormatting = [.sortedKeys]
        do {
            try trainer.run { r in
                if json, let d = try? encoder.encode(r) { print(String(decoding: d, as: UTF8.self)); fflush(stdout) }
                let terms = r.embedding.map { e in
                    trainer.config.needsContent
                        ? String(format: "embedding %.3g content %.3g style %.3g tv %.3g", e, r.content, r.style, r.tv)
                        : String(format: "embedding mse %.4g", e)
                } ?? String(format: "content %.3g style %.3g tv %.3g", r.content, r.style, r.tv)
                Terminal.progress(String(format: "step %d/%d  loss %.4g (%@)  %.2f samples/s  ETA %@",
                                         r.step, r.steps, r.total, terms, r.samplesPerSecond, formatDuration(r.eta)))
            }
        } catch {
            Terminal.endProgress()
            throw error
        }
        Terminal.endProgress()
        Terminal.note("wrote \(trainer.config.output) (\(trainer.step) steps); log \(trainer.config.logPath)")
    }
}

struct TrainDistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Train a (narrower) predictor to reproduce a teacher's style embeddings.",
        discussion: """
            Magenta's distillation: each step draws --batch augmented style images, embeds them \
            with the teacher's predictor and with the student, and minimises the mean squared \
            difference of the two embeddings (× --embedding-weight). --perceptual adds the \
            content + style + tv loss of the student's stylization of --content crops. The \
            student is MobileNetV2 at --width (0.5 and 0.75 are cheaper to run); the written \
            model keeps the teacher's transfer network, so stylize, blend and `embed add` take it \
            with --model. Its library entries get their own predictor id.
            """
    )

    @Option(help: "Folder of style images (JPEG/PNG, any depth) or a file made by `pastiche data pack`.")
    var styles: String?
    @Option(help: "Content photos, for --perceptual.") var content: String?
    @Option(help: "The teacher model (default: --model, i.e. the pretrained model in $PASTICHE_HOME).")
    var teacher: String?
    @Option(help: "Student width multiplier: 0.5, 0.75 or 1.0 (default 1.0).") var width: Double?
    @Option(name: .customLong("init"), help: "Student start: scratch (default), or pretrained / trunk from the teacher (width 1.0 only).")
    var initMode: PredictorInit?
    @Flag(help: "Also minimise the perceptual loss of the student's stylization (needs --content).") var perceptual = false
    @Option(name: .customLong("embedding-weight"), help: "Weight of the embedding MSE (default 1).") var embeddingWeight: Float?
    @OptionGroup var training: TrainingRunOptions
    @OptionGroup var loss: LossOptions
    @OptionGroup var model: ModelOptions

    func validate() throws {
        let modeFlags: [(String, Bool)] = [
            ("--styles", styles != nil), ("--content", content != nil), ("--teacher", teacher != nil), ("--width", width != nil),
            ("--init", initMode != nil), ("--perceptual", perceptual), ("--embedding-weight", embeddingWeight != nil),
            ("--model", model.model != nil), (loss.setFlags.first ?? "--content-weight", loss.isSet),
        ]
        try training.validate(modeFlags: modeFlags)
        if training.resume == nil {
            if styles == nil { throw ValidationError("give --styles DIR (or --resume CKPT)") }
            if perceptual && content == nil { throw ValidationError("--perceptual needs --content DIR") }
            if !perceptual && (content != nil || loss.isSet) {
                throw ValidationError("--content and the loss weights only apply with --perceptual")
            }
            if teacher != nil && model.model != nil && teacher != model.model {
                throw ValidationError("give the teacher once: --teacher and --model differ")
            }
        }
        if let width, !PredictorArchitecture.distillWidths.contains(width) {
            throw ValidationError("--width must be 0.5, 0.75 or 1.0, got \(width)")
        }
        if let w = embeddingWeight, !(w >= 0 && w.isFinite) { throw ValidationError("--embedding-weight must be a non-negative number") }
    }

    func run() throws {
        if let trainer = try training.resumedTrainer() { return try training.run(trainer) }
        let teacherPath = teacher ?? model.path
        if !FileManager.default.fileExists(atPath: teacherPath) {
            throw ModelError(teacher == nil && model.model == nil
                ? "no model at \(teacherPath); run `pastiche model fetch` first, or pass --teacher"
                : "\(teacherPath): no such file")
        }
        var config = TrainingConfig(content: content, styles: styles!, model: teacherPath, output: training.output!)
        config.mode = .distill
        config.width = width ?? 1
        config.initMode = initMode ?? .scratch
        config.perceptual = perceptual
        config.embeddingWeight = embeddingWeight ?? 1
        config.loss = loss.config()
        training.apply(to: &config)
        try training.run(try Trainer(config: config))
    }
}
