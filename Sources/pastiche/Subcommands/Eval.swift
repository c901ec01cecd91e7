import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean content/style/tv loss of a model over every content × style pair.",
        discussion: """
            Magenta's benchmark: each content image and each style image is centre-cropped to \
            --size², every pair is stylized (the style embedded as `stylize` does) and scored by \
            the same perceptual loss as training. The loss network comes from --loss-model \
            (default: the pretrained model in $PASTICHE_HOME), or is the VGG-16 ONNX file given \
            with --loss-network (Magenta's layers and weights), so two predictors are compared on \
            the same scale. --teacher MODEL also reports the mean squared difference between this \
            model's style embeddings and the teacher's (what `train distill` minimises).
            """
    )

    @Option(parsing: .upToNextOption, help: "Content images or folders.") var content: [String] = []
    @Option(parsing: .upToNextOption, help: "Style images or folders.") var styles: [String] = []
    @Option(help: "Centre-crop size.") var size: Int = 256
    @Option(name: .customLong("loss-model"), help: "Model whose MobileNetV2 trunk is the loss network.") var lossModel: String?
    @Option(parsing: .upToNextOption, help: "Score these already stylized images (a folder, or files) instead of stylizing: --content gives their originals in the same order, --styles the one style.")
    var stylized: [String] = []
    @Option(help: "Also compare the style embeddings with this model's (e.g. a distillation teacher).")
    var teacher: String?
    @Flag(help: "Print the result as JSON.") var json = false
    @OptionGroup var loss: LossOptions
    @OptionGroup var model: ModelOptions

    func validate() throws {
        if content.isEmpty || styles.isEmpty { throw ValidationError("give --content and --styles (files or folders)") }
        do { try TrainingConfig.checkSize(size) } catch { throw ValidationError("\(error)") }
        if !stylized.isEmpty && teacher != nil { throw ValidationError("--teacher compares models; it does not go with --stylized") }
    }

    func run() throws {
        let weights = try model.loadStylizer().weights
        let lossPath = lossModel ?? PasticheHome().defaultModel
        let lossWeights = try ModelWeights.load(path: lossPath)
        let teacherWeights = try teacher.map { try ModelWeights.load(path: $0) }
        let contents = try ImageFolder.expand(content), styleFiles = try ImageFolder.expand(styles)
        if !stylized.isEmpty {
            guard styleFiles.count == 1 else { throw ValidationError("--stylized images are scored against one style; --styles gave \(styleFiles.count)") }
            let r = try Evaluation.score(stylized: try ImageFolder.expand(stylized), contents: contents, style: styleFiles[0],
                                         lossModel: lossWeights, size: size, config: loss.config()) { k, n in Terminal.progress("image \(k)/\(n)") }
            Terminal.endProgress()
            return try report(r)
        }
        var r = try Evaluation.run(model: weights, lossModel: lossWeights, contents: contents, styles: styleFiles,
                                   size: size, config: loss.config()) { k, n in Terminal.progress("pair \(k)/\(n)") }
        if let teacherWeights {
            r.embeddingMSE = try Evaluation.embeddingError(model: weights, teacher: teacherWeights, styles: styleFiles)
        }
        Terminal.endProgress()
        try report(r)
    }

    private func report(_ r: Evaluation.Result) throws {
        if json {
            try Terminal.printJSON(r)
        } else {
            print(String(format: "%d pairs at %d²: content %.5g  style %.5g  tv %.5g  total %.5g",
                         r.pairs, size, r.content, r.style, r.tv, r.total)
                  + (r.embeddingMSE.map { String(format: "  embedding mse vs teacher %.5g", $0) } ?? ""))
        }
    }
}
