import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

extension ModelCommand {
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a weights file's parameters and shapes (the stylization model, or VGG-19 with --vgg).")
        @OptionGroup var model: ModelOptions
        @Flag(help: "Show VGG-19 (the loss network of optimize), not the stylization model.") var vgg = false
        @Option(name: .customLong("loss-network"), help: "With --vgg: VGG-19 weights. Default: $PASTICHE_HOME/models/\(VGG19Weights.fileName).")
        var lossNetwork: String?
        @Flag(help: "Print as JSON.") var json = false

        func validate() throws {
            if vgg && model.model != nil { throw ValidationError("--vgg shows VGG-19; give its file with --loss-network, not --model") }
            if lossNetwork != nil && !vgg { throw ValidationError("--loss-network goes with --vgg") }
        }

        struct VGGOutput: Codable {
            let path: String; let network: String; let widths: [Int]; let parameters: Int; let verified: Bool
            let metadata: [String: String]; let tensors: [Parameter]
        }

        func showVGG() throws {
            let path = lossNetwork ?? PasticheHome().vgg19Model
            if lossNetwork == nil && !FileManager.default.fileExists(atPath: path) {
                throw ModelError("no VGG-19 at \(path); run `pastiche model fetch` first, or pass --loss-network")
            }
            let net = try VGG19.load(path: path)
            let tensors = net.tensors
            let list = tensors.keys.sorted().map { Parameter(name: $0, shape: tensors[$0]!.shape) }
            let count = tensors.values.reduce(0) { $0 + $1.count }
            let verified = VGG19Weights.verified(path)
            if json {
                try Terminal.printJSON(VGGOutput(path: path, network: "vgg19", widths: net.architecture.widths, parameters: count,
                                                 verified: verified, metadata: net.metadata, tensors: list))
                return
            }
            print("\(path): VGG-19, \(list.count) tensors, \(count) parameters, block widths \(net.architecture.widths)"
                  + (verified ? ", verified" : ""))
            for (k, v) in net.metadata.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
            for p in list { print("  \(p.name) \(p.shape)") }
        }

        struct Parameter: Codable { let name: String; let shape: [Int] }
        struct Output: Codable {
            let path: String; let kind: String; let style: String?; let learnedStyles: [String]?; let predictorID: String
            let transferID: String; let transferWidth: String; let predictorWidth: String; let parameters: Int
            let metadata: [String: String]; let tensors: [Parameter]
        }

        func run() throws {
            if vgg { return try showVGG() }
            let weights = try ModelWeights.load(path: model.path)
            let tensors = weights.tensors.keys.sorted().map { Parameter(name: $0, shape: weights.tensors[$0]!.shape) }
            if json {
                try Terminal.printJSON(Output(path: model.path, kind: weights.kind.rawValue, style: weights.ownStyle?.name,
                                              learnedStyles: weights.kind == .nStyle ? weights.learnedStyles.map(\.name) : nil,
                                              predictorID: weights.predictorID, transferID: weights.transferID,
                                              transferWidth: weights.transferArchitecture.widthText,
                                              predictorWidth: weights.predictorArchitecture.widthText,
                                              parameters: weights.parameterCount, metadata: weights.metadata, tensors: tensors))
                return
            }
            print("\(model.path): \(weights.kindDescription), \(tensors.count) tensors, \(weights.parameterCount) parameters, predictor id \(weights.predictorID)"
                  + (weights.kind == .nStyle ? ", transfer id \(weights.transferID)" : ""))
            for (k, v) in weights.metadata.sorted(by: { $0.key < $1.key }) {
                // Embeddings are numbers for programs (--json has them all), not for reading.
                if k == ModelWeights.learnedStylesKey || k == ModelWeights.styleEmbeddingKey {
                    print("  \(k): \(k == ModelWeights.learnedStylesKey ? weights.learnedStyles.count : 1) × \(PredictorArchitecture.embeddingSize) values")
                } else {
                    print("  \(k): \(v)")
                }
            }
            for p in tensors { print("  \(p.name) \(p.shape)") }
        }
    }
}
