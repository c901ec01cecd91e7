import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools

extension ModelCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import the predictor and transfer ONNX graphs, or AdaIN's two PyTorch files, into a Pastiche weights file.",
            discussion: """
                pastiche model import arbitrary_predict.onnx arbitrary_transform.onnx -o model.safetensors
                pastiche model import --adain-encoder vgg_normalised.pth --adain-decoder decoder.pth -o adain.safetensors
                pastiche model import --adain-encoder ~/.pastiche/models/vgg19.safetensors --calibration photos/ -o scratch.safetensors

                With Pastiche's VGG-19 as the encoder and no --adain-decoder, the decoder starts \
                at random, for `train adain` to train. --calibration normalises that encoder as \
                the authors' vgg_normalised.pth was (Gatys et al. 2016: every filter's mean \
                activation 1, over up to 16 of the folder's photos), so AdaIN's loss weights suit it.

                AdaIN's files are the authors' (naoto0804/pytorch-AdaIN releases), read natively \
                in either PyTorch format; docs/adain.md has the layer table.
                """)
        @Argument(help: "arbitrary_predict.onnx") var predict: String?
        @Argument(help: "arbitrary_transform.onnx") var transform: String?
        @Option(name: .customLong("adain-encoder"), help: "AdaIN: the normalised VGG-19 (vgg_normalised.pth).") var adainEncoder: String?
        @Option(name: .customLong("adain-decoder"), help: "AdaIN: its decoder (decoder.pth).") var adainDecoder: String?
        @Option(help: "With vgg19.safetensors: a folder of photos to normalise the encoder on (as vgg_normalised.pth).") var calibration: String?
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
                if adainDecoder == nil && calibration == nil {
                    throw ValidationError("give --calibration DIR, photos to normalise VGG-19 on as the authors' vgg_normalised.pth was (its raw features are too large for AdaIN's loss weights)")
                }
                if adainDecoder != nil && calibration != nil {
                    throw ValidationError("--calibration normalises Pastiche's vgg19.safetensors; the authors' vgg_normalised.pth already is")
                }
                if predict != nil || transform != nil { throw ValidationError("give the two ONNX graphs or the two AdaIN files, not both") }
                try refuseOverwritingInputs(output: output, inputs: [adainEncoder] + (adainDecoder.map { [$0] } ?? []))
            } else {
                if calibration != nil { throw ValidationError("--calibration goes with --adain-encoder vgg19.safetensors") }
                guard let predict, let transform else {
                    throw ValidationError("give arbitrary_predict.onnx and arbitrary_transform.onnx (or --adain-encoder and --adain-decoder)")
                }
                try refuseOverwritingInputs(output: output, inputs: [predict, transform])
            }
        }

        func run() throws {
            if let adainEncoder {
                let weights = try adainDecoder.map { try ModelWeights.importAdaIN(encoderPath: adainEncoder, decoderPath: $0) }
                    ?? ModelWeights.adainFromVGG19(try Safetensors.read(path: adainEncoder).tensors,
                                                   calibration: try ModelWeights.adainCalibrationBatch(paths: calibrationPhotos()))
                try weights.save(to: output)
                print("wrote \(output): AdaIN model, \(weights.tensors.count) tensors, encoder id \(weights.predictorID)")
                return
            }
            let weights = try ONNXImporter.importModels(predictPath: predict!, transformPath: transform!)
            try weights.save(to: output)
            print("wrote \(output): \(weights.tensors.count) tensors, \(weights.parameterCount) parameters, predictor id \(weights.predictorID)")
        }

        /// The photos of --calibration: a folder (as every command scans one) or one image.
        private func calibrationPhotos() throws -> [String] {
            guard let calibration else { return [] }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: calibration, isDirectory: &isDirectory) else {
                throw ModelError("--calibration \(calibration): no such file or directory")
            }
            let photos = isDirectory.boolValue ? ImageFolder.scan(calibration) : [calibration]
            if photos.isEmpty { throw ModelError("--calibration \(calibration): no JPEG or PNG photos in it") }
            return photos
        }
    }
}
