import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

extension ModelCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import the predictor and transfer ONNX graphs into a Pastiche weights file.")
        @Argument(help: "arbitrary_predict.onnx") var predict: String
        @Argument(help: "arbitrary_transform.onnx") var transform: String
        @Option(name: .shortAndLong, help: "Output safetensors file.") var output: String

        func validate() throws { try refuseOverwritingInputs(output: output, inputs: [predict, transform]) }

        func run() throws {
            let weights = try ONNXImporter.importModels(predictPath: predict, transformPath: transform)
            try weights.save(to: output)
            print("wrote \(output): \(weights.tensors.count) tensors, \(weights.parameterCount) parameters, predictor id \(weights.predictorID)")
        }
    }
}
