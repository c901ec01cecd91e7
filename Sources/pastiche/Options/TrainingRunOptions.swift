import ArgumentParser
import Foundation
import PasticheDistributed
import PasticheModels
import PasticheTraining

/// The flags every training mode shares (steps, data, optimiser, checkpoints, output).
struct TrainingRunOptions: ParsableArguments {
    @Option(help: "Total optimiser steps (default 1000).") var steps: Int?
    @Option(help: "Images per step (default 8).") var batch: Int?
    @Option(help: "Crop size in pixels, a multiple of 4 (default 256).") var size: Int?
    @Option(help: "Adam learning rate (default 1e-3).") var lr: Float?
    @Option(name: .customLong("lr-decay"), help: "Inverse-time learning-rate decay: step k uses lr / (1 + decay·(k − 1)) (default 0, train adain 5e-5).")
    var lrDecay: Float?
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
    @OptionGroup var distribution: DistributedOptions

    /// The flags a resumed run cannot change (its checkpoint holds them), with whether each is set.
    var fixedFlags: [(String, Bool)] {
        [("--batch", batch != nil), ("--size", size != nil), ("--lr", lr != nil), ("--lr-decay", lrDecay != nil), ("--clip", clip != nil),
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
            guard let output else { throw ValidationError("give -o MODEL, where to write the trained model") }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue {
                throw ValidationError("-o \(output) is a directory; -o names the model file to write")
            }
            let parent = (output as NSString).deletingLastPathComponent
            if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
                throw ValidationError("-o \(output): no directory \(parent)")
            }
            if checkpointEvery != nil && checkpointDir == nil { throw ValidationError("--checkpoint-every needs --checkpoint-dir") }
            if let n = checkpointEvery, n < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        }
        if let steps, steps < 0 || steps > TrainingConfig.maximumSteps {
            throw ValidationError("--steps must be from 0 to \(TrainingConfig.maximumSteps), got \(steps)")
        }
        if batch != nil || size != nil {
            do { try TrainingConfig.checkSize(size ?? 256, batch: batch ?? 8) } catch { throw ValidationError("\(error)") }
        }
        // A resumed run's batch is in its checkpoint; the trainer checks that one.
        if distribution.distributed, resume == nil, let ranks = Launch.fromEnvironment()?.size {
            do { try TrainingConfig.checkBatch(batch ?? 8, splitsOver: ranks) } catch { throw ValidationError("\(error)") }
        }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number") }
        if let lrDecay, !(lrDecay >= 0 && lrDecay.isFinite) { throw ValidationError("--lr-decay must be a non-negative number") }
        if let clip, !(clip > 0 && clip.isFinite) { throw ValidationError("--clip must be a positive number") }
    }

    /// Fills the shared fields of a new run's config.
    func apply(to config: inout TrainingConfig) {
        config.steps = steps ?? 1000
        config.batch = batch ?? 8
        config.size = size ?? 256
        config.learningRate = lr ?? 1e-3
        config.learningRateDecay = lrDecay ?? 0
        config.clipNorm = clip
        config.seed = seed ?? 0
        config.augmentStyles = !noAugment
        config.checkpointDir = checkpointDir
        config.checkpointEvery = checkpointDir == nil ? 0 : (checkpointEvery ?? 100)
    }

    /// The trainer of a resumed run (its checkpoint's config, `--steps` may extend it), or nil.
    /// A checkpoint of another kind of run (`mode`) is refused in one line.
    func resumedTrainer(_ communicator: any Communicator, modes: Set<TrainingMode>) throws -> Trainer? {
        guard let resume else { return nil }
        var config = try Trainer.readCheckpointConfig(resume)
        guard modes.contains(config.mode) else {
            let commands: [TrainingMode: String] = [.perceptual: "train predictor", .distill: "train distill", .transfer: "train transfer",
                                                    .nStyle: "train transfer", .transferDistill: "train transfer", .adain: "train adain"]
            throw ValidationError("--resume \(resume) is a checkpoint of `\(commands[config.mode]!)`; resume it with that command")
        }
        if let steps { config.steps = steps }
        try Self.requireStartingModel(of: config, checkpoint: resume)
        let trainer = try Trainer(config: config, communicator: communicator)
        try trainer.loadCheckpoint(resume)
        Terminal.note("resuming at step \(trainer.step) of \(config.steps) from \(resume)")
        return trainer
    }

    /// A checkpoint names the model its run started from by the path the run was given; from
    /// another directory a relative one does not resolve, which deserves its own line.
    static func requireStartingModel(of config: TrainingConfig, checkpoint: String) throws {
        if !FileManager.default.fileExists(atPath: config.model) {
            throw ValidationError("\(checkpoint) is a run that started from \(config.model), which is not found from here; run this where the run was started (or where that path resolves)")
        }
    }

    /// Runs to the end: a progress line on a TTY, one JSON object per step with --json.
    func run(_ trainer: Trainer) throws {
        let encoder = Terminal.jsonEncoder()
        do {
            try trainer.run { r in
                if json, let d = try? encoder.encode(r) { print(String(decoding: d, as: UTF8.self)); fflush(stdout) }
                let teacher = r.teacher.map { String(format: " teacher %.3g", $0) } ?? ""
                let terms = r.embedding.map { e in
                    trainer.config.needsContent
                        ? String(format: "embedding %.3g content %.3g style %.3g tv %.3g", e, r.content, r.style, r.tv)
                        : String(format: "embedding mse %.4g", e)
                } ?? String(format: "content %.3g style %.3g tv %.3g", r.content, r.style, r.tv) + teacher
                Terminal.progress(String(format: "step %d/%d  loss %.4g (%@)  %.2f samples/s  ETA %@",
                                         r.step, r.steps, r.total, terms, r.samplesPerSecond, formatDuration(r.eta)))
            }
        } catch {
            Terminal.endProgress()
            throw error
        }
        Terminal.endProgress()
        trainer.communicator.finish()
        Terminal.note("wrote \(trainer.config.output) (\(trainer.step) steps); log \(trainer.config.logPath)")
    }
}
