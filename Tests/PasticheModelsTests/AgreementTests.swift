import Foundation
import PasticheCore
import PasticheImage
@testable import PasticheModels
import XCTest
import PasticheTestSupport

/// Each network has one definition and two forwards: the fused inference one (`StylePredictor`,
/// `TransferNetwork`) and the training one with a tape (`StylePredictor.Training`,
/// `TransferNetwork.Training`). These tests pin the two together on real images with the real
/// pretrained weights, so a change to either that the other does not follow fails here.
final class AgreementTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// A real image, resized to fit `maxSide` and cropped to multiples of 4 (the training path
    /// takes only those).
    func image(_ repoPath: String, maxSide: Int) throws -> Tensor {
        let full = try ImageIO.read(path: Self.repoRoot + "/" + repoPath).resizedToFit(maxSide: maxSide)
        let w = full.width / 4 * 4, h = full.height / 4 * 4
        return full.centerCropped(width: w, height: h).tensor
    }

    /// Width-1 weights sliced to a narrower predictor: each parameter keeps the leading channels
    /// of the pretrained one, so activations have the real network's scale (random weights at
    /// 0.5 would mostly saturate the ReLU6s or die out, and test little).
    func narrowed(_ weights: ModelWeights, width: Double) throws -> ModelWeights {
        var tensors = weights.tensors
        for (name, shape) in PredictorArchitecture(width: width).parameters {
            let full = weights[name]
            let t = Tensor(shape: shape)
            let inner = shape.dropFirst().reduce(1, *), fullInner = full.shape.dropFirst().reduce(1, *)
            let innerPlane = shape.count == 4 ? shape[2] * shape[3] : 1
            let cols = shape.count > 1 ? shape[1] : 1
            for o in 0..<shape[0] {
                for c in 0..<cols {
                    (t.pointer + o * inner + c * innerPlane)
                        .update(from: full.pointer + o * fullInner + c * innerPlane, count: innerPlane)
                }
            }
            tensors[name] = t
        }
        var meta = weights.metadata
        meta["predictor_width"] = PredictorArchitecture(width: width).widthText
        return try ModelWeights(tensors: tensors, metadata: meta)
    }

    func testPredictorInferenceMatchesTrainingAtEveryWidth() throws {
        let pretrained = try Reference.weights()
        // Two real styles in one batch, at the predictor's size and at an odd, non-square one.
        let styles = [
            ("styles/s01_vangogh_starry_night.jpg", 256), ("styles/s03_hokusai_great_wave.png", 256),
            ("styles/s09_hiroshige_inokashira_snow.png", 172),
        ]
        for width in PredictorArchitecture.distillWidths {
            let weights = width == 1 ? pretrained : try narrowed(pretrained, width: width)
            XCTAssertEqual(weights.predictorArchitecture, PredictorArchitecture(width: width))
            let inference = StylePredictor(weights: weights)
            let source = ParameterSource(trainable: nil, frozen: weights.tensors)
            for (path, side) in styles {
                let x = try image(path, maxSide: side)
                let fused = inference(x)
                let (training, _) = StylePredictor.Training.forward(x, source, architecture: weights.predictorArchitecture)
                let d = maxAbsDifference(fused, training)
                let scale = fused.array.map(abs).max()!
                print("agreement predictor width \(width) \(path) \(x.w)x\(x.h): max|Δ| \(d) (max|e| \(scale))")
                XCTAssertGreaterThan(scale, 0.1, "embedding should not be degenerate")
                XCTAssertLessThan(d, 1e-5, "width \(width) \(path)")
            }
        }
    }

    func testTransferInferenceMatchesTrainingAtSeveralSizes() throws {
        let weights = try Reference.weights()
        let predictor = StylePredictor(weights: weights)
        let transfer = TransferNetwork(weights: weights)
        let source = ParameterSource(trainable: nil, frozen: weights.tensors)
        let style = try image("styles/s04_kandinsky_composition_viii.png", maxSide: 256)
        let embedding = predictor(style)
        let photos = [("docs/images/chelsea_cat.png", 64), ("docs/images/summer_palace.jpg", 200),
                      ("docs/images/chelsea_cat.png", 384)]
        var sizes = Set<String>()
        for (path, side) in photos {
            let x = try image(path, maxSide: side)
            sizes.insert("\(x.w)x\(x.h)")
            let fused = transfer(x, embedding: embedding)
            let training = TransferNetwork.Training.forward(x, embedding: embedding, source).output!
            let d = maxAbsDifference(fused, training)
            print("agreement transfer \(path) \(x.w)x\(x.h): max|Δ| \(d)")
            XCTAssertLessThan(d, 1e-5, "\(path) \(x.w)x\(x.h)")
        }
        XCTAssertEqual(sizes.count, 3, "three sizes: \(sizes)")
    }

    /// The narrower transfer networks (`train transfer --width`), taken from the pretrained one
    /// as distillation starts them (`TransferArchitecture.narrowed`): the fused forward and the
    /// training forward agree at every width, and the narrowing keeps the real network's scale.
    func testTransferInferenceMatchesTrainingAtEveryWidth() throws {
        let pretrained = try Reference.weights()
        let embedding = StylePredictor(weights: pretrained)(try image("styles/s03_hokusai_great_wave.png", maxSide: 256))
        let x = try image("docs/images/summer_palace.jpg", maxSide: 200)
        for width in TransferArchitecture.widths where width < 1 {
            let architecture = TransferArchitecture(width: width)
            var tensors = pretrained.tensors
            for (name, t) in architecture.narrowed(from: pretrained) { tensors[name] = t }
            var meta = pretrained.metadata
            meta[ModelWeights.transferWidthKey] = architecture.widthText
            let weights = try ModelWeights(tensors: tensors, metadata: meta)
            XCTAssertEqual(weights.transferArchitecture, architecture)
            XCTAssertEqual(weights["transfer.residual.1.conv1.weight"].shape, [architecture.channels(32), architecture.channels(32), 3, 3])
            let fused = TransferNetwork(weights: weights)(x, embedding: embedding)
            let training = TransferNetwork.Training.forward(x, embedding: embedding, ParameterSource(trainable: nil, frozen: weights.tensors),
                                                            architecture: architecture).output!
            let d = maxAbsDifference(fused, training)
            let spread = fused.array.max()! - fused.array.min()!
            print("agreement transfer width \(width) \(x.w)x\(x.h): max|Δ| \(d), output range \(spread)")
            XCTAssertGreaterThan(spread, 0.3, "the narrowed network paints, it is not saturated")
            XCTAssertLessThan(d, 1e-5, "width \(width)")
        }
    }
}
