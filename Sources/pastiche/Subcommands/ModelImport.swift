import ArgumentParser
import Foundation
import PasticheModels
import PasticheTools

extension ModelCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import the predictor and transfer ONNX graphs, or AdaIN's two PyTorch files, into a Pastiche weights file.",
            discussion: """
                pastiche model import arbitrary_predict.onnx arbitrary_transform.onnx -o model.safetensors
                pastiche model import --adain-encoder vgg_normalised.pth --adain-decoder decoder.pth -o adain.safetensors
                pastiche model import --adain-encoder ~/.pastiche/models/vgg19.safetensors -o scratch.safetensors

                With Pastiche's VGG-19 as the encoder and no --adain-decoder, the decoder starts \
                at random, for `train adain` to train.

                AdaIN's files are the authors' (naoto0804/pytorch-AdaIN releases), read natively \
                in either PyTorch format; docs/adain.md has the layer table.
                """)
        @Argument(help: "arbitrary_predict.onnx") var predict: String?
        @Argument(help: "arbitrary_transform.onnx") var transform: String?
        @Option(name: .customLong("adain-encoder"), help: "AdaIN: the normalised VGG-19 (vgg_normalised.pth).") var adainEncoder: String?
        @Option(name: .customLong("adain-decoder"), help: "AdaIN: its decoder (decoder.pth).") var adainDecoder: String?
        @Option(name: .shortAndLong, help: "Output safetensors file.") var output: String

        func validate() throws {
            let adain = adainEncoder != nil || adainDecoder != nil
            if adain {
                guard let adainEncoder else { throw ValidationError("give --adain-encoder (vgg_normalised.pth, or vgg19.safetensors for an untrained decoder)") }
                if adainDecoder == nil && !adainEncoder.hasSuffix(".safetensors") {
                    throw ValidationError("give --adain-decoder with the authors' vgg_normalised.pth (without one, the encoder is Pastiche's vgg19.safetensors and the decoder untrained)")
                }
                if adainDecoder != nil && adainEncoder.hasSuffix(".safetensors") {
                    throw ValidationError("--adain-decoder goes with the authors' vgg_normalised.pth, not with vgg19.safetensors")
                }
                if predict != nil || transform != nil { throw ValidationError("give the two ONNX graphs or the two AdaIN files, not both") }
                try refuseOverwritingInputs(output: output, inputs: [adainEncoder] + (adainDecoder.map { [$0] } ?? []))
            } else {
                guard let predict, let transform else {
                    throw ValidationError("give arbitrary_predict.onnx and arbitrary_transform.onnx (or --adain-encoder and --adain-decoder)")
                }
                try refuseOverwritingInputs(output: output, inputs: [predict, transform])
            }
        }

        func run() throws {
            if let adainEncoder {
                let weights = try adainDecoder.map { try ModelWeights.importAdaIN(encoderPath: adainEncoder, decoderPath: $0) }
                    ?? ModelWeights.adainFromVGG19(try Safetensors.read(path: adainEncoder).tensors)
                try weights.save(to: output)
                print("wrote \(output): AdaIN model, \(weights.tensors.count) tensors, encoder id \(weights.predictorID)")
                return
            }
            let weights = try ONNXImporter.importModels(predictPath: predict!, transformPath: transform!)
            try weights.save(to: output)
            print("wrote \(output): \(weights.tensors.count) tensors, \(weights.parameterCount) parameters, predictor id \(weights.predictorID)")
        }
    }
}
