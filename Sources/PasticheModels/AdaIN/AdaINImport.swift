import Foundation
import PasticheCore

extension ModelWeights {
    /// The authors' two files (naoto0804/pytorch-AdaIN releases): `vgg_normalised.pth`, the
    /// `state_dict` of the normalised VGG-19 `nn.Sequential` (only the layers up to relu4_1 are
    /// used), and `decoder.pth`, the decoder's. Either PyTorch format is read natively (the zip
    /// one of torch ≥ 1.6 or the legacy one); `nn.Sequential` indices map to named layers
    /// (`AdaINArchitecture.Layer.sequentialIndex`). A file of another shape is refused.
    public static func importAdaIN(encoderPath: String, decoderPath: String) throws -> ModelWeights {
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [
            "source": "AdaIN (Huang & Belongie 2017), weights in naoto0804/pytorch-AdaIN's format",
            "architecture": ModelWeights.adainArchitecture, ModelWeights.kindKey: ModelKind.adain.rawValue,
        ]
        for (path, layers, key) in [(encoderPath, AdaINArchitecture.encoder, "encoder"), (decoderPath, AdaINArchitecture.decoder, "decoder")] {
            let stored = try TorchZipFile.readAnyFormat(path: path)
            let what = key == "encoder" ? "vgg_normalised.pth (the normalised VGG-19)" : "decoder.pth (the AdaIN decoder)"
            for l in layers {
                for (name, suffix, shape) in [(l.weightName, "weight", l.geometry.weightShape), (l.biasName, "bias", [l.outChannels])] {
                    guard let t = stored["\(l.sequentialIndex).\(suffix)"] else {
                        throw ModelError("\(path): not \(what): no '\(l.sequentialIndex).\(suffix)'")
                    }
                    guard t.shape == shape else {
                        throw ModelError("\(path): not \(what): '\(l.sequentialIndex).\(suffix)' is \(t.shape), expected \(shape)")
                    }
                    guard t.dtype == .float32 else { throw ModelError("\(path): '\(l.sequentialIndex).\(suffix)' is \(t.dtype.rawValue), expected float32") }
                    tensors[name] = Tensor(shape: shape, values: t.floats())
                }
            }
            if key == "decoder" && stored.count != 2 * layers.count {
                throw ModelError("\(path): not \(what): it has \(stored.count) tensors, the decoder has \(2 * layers.count)")
            }
            let data = FileManager.default.contents(atPath: path) ?? Data()
            metadata["source_\(key)_file"] = URL(fileURLWithPath: path).lastPathComponent
            metadata["source_\(key)_sha256"] = SHA256.hex(data)
        }
        return try ModelWeights(tensors: tensors, metadata: metadata)
    }
}
