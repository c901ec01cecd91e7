import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

extension ModelCommand {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a weights file's parameters and shapes.")
        @OptionGroup var model: ModelOptions
        @Flag(help: "Print as JSON.") var json = false

        struct Parameter: Codable { let name: String; let shape: [Int] }
        struct Output: Codable {
            let path: String; let predictorID: String; let parameters: Int
            let metadata: [String: String]; let tensors: [Parameter]
        }

        func run() throws {
            let weights = try ModelWeights.load(path: model.path)
            let tensors = weights.tensors.keys.sorted().map { Parameter(name: $0, shape: weights.tensors[$0]!.shape) }
            if json {
                try Terminal.printJSON(Output(path: model.path, predictorID: weights.predictorID,
                                              parameters: weights.parameterCount, metadata: weights.metadata, tensors: tensors))
                return
            }
            print("\(model.path): \(tensors.count) tensors, \(weights.parameterCount) parameters, predictor id \(weights.predictorID)")
            for (k, v) in weights.metadata.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
            for p in tensors { print("  \(p.name) \(p.shape)") }
        }
    }
}
