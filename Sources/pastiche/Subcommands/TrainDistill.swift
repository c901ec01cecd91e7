import ArgumentParser
import Foundation
import PasticheModels
import PasticheTraining

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
        let communicator = try training.distribution.join()
        if let trainer = try training.resumedTrainer(communicator, modes: [.distill]) { return try training.run(trainer) }
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
        try training.run(try Trainer(config: config, communicator: communicator))
    }
}
