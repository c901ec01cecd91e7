import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary
import PasticheModels

/// Magenta's benchmark: mean losses over every (content, style) pair at fixed centre crops.
public enum Evaluation {
    public struct Result: Codable, Sendable {
        public var pairs: Int
        public var content: Double
        public var style: Double
        public var tv: Double
        public var total: Double
        /// Mean squared embedding difference to a teacher (`embeddingError`), when asked for.
        public var embeddingMSE: Double?
    }

    /// Mean over style images and the 100 embedding numbers of (model − teacher)², both
    /// embedding the style as inference does (`Stylizer.styleInput`, 256²).
    public static func embeddingError(model: ModelWeights, teacher: ModelWeights, styles: [String]) throws -> Double {
        let student = Stylizer(weights: model), reference = Stylizer(weights: teacher)
        var sum = 0.0
        for s in styles {
            let img = try ImageIO.read(path: s)
            let a = student.embedding(style: img), b = reference.embedding(style: img)
            sum += zip(a, b).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)
        }
        return sum / Double(max(styles.count, 1))
    }

    /// The same losses for images already stylized (video frames, say): `stylized[i]` is scored
    /// against `contents[i]` and the one `style`, all centre-cropped to `size`.
    public static func score(stylized: [String], contents: [String], style: String, lossModel: ModelWeights,
                             size: Int, config: LossConfig, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        guard stylized.count == contents.count, !stylized.isEmpty else {
            throw TrainingError("--stylized has \(stylized.count) images but --content \(contents.count); give one original per stylized image")
        }
        let loss = try PerceptualLoss(weights: lossModel, config: config)
        let target = Augment.centre(try ImageIO.read(path: style), size: size).tensor
        var sum = LossValues()
        for (k, (y, c)) in zip(stylized, contents).enumerated() {
            let content = Augment.centre(try ImageIO.read(path: c), size: size).tensor
            let output = Augment.centre(try ImageIO.read(path: y), size: size).tensor
            sum = sum + loss.evaluate(output, targets: loss.targets(content: content, style: target), gradient: false).0
            progress(k + 1, stylized.count)
        }
        let m = sum.scaled(1 / Double(stylized.count))
        return Result(pairs: stylized.count, content: m.content, style: m.style, tv: m.tv, total: m.total)
    }

    /// `lossModel` supplies the loss network (keep it fixed to compare models). Style images
    /// an N-style model learned take their learned embedding; others go to the predictor as
    /// inference does (`Stylizer.styleInput`, 256²); content and style
    /// targets are centre crops at `size`.
    public static func run(model: ModelWeights, lossModel: ModelWeights, contents: [String], styles: [String],
                           size: Int, config: LossConfig, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let stylizer = Stylizer(weights: model)
        let loss = try PerceptualLoss(weights: lossModel, config: config)
        var sum = LossValues()
        var k = 0
        let contentImages = try contents.map { Augment.centre(try ImageIO.read(path: $0), size: size) }
        for s in styles {
            let img = try ImageIO.read(path: s)
            // An N-style model is scored on a style it learned with that learned embedding, as
            // `stylize` paints it.
            let learned = model.kind == .nStyle ? model.learnedEmbedding(pixelHash: StyleLibrary.pixelHash(img)) : nil
            let e = learned?.embedding ?? stylizer.embedding(style: img)
            let target = Augment.centre(img, size: size).tensor
            for c in contentImages {
                let y = stylizer.stylize(c, embedding: e).tensor
                let t = loss.targets(content: c.tensor, style: target)
                sum = sum + loss.evaluate(y, targets: t, gradient: false).0
                k += 1
                progress(k, contents.count * styles.count)
            }
        }
        let m = sum.scaled(1 / Double(max(k, 1)))
        return Result(pairs: k, content: m.content, style: m.style, tv: m.tv, total: m.total)
    }
}
