import Foundation
import PasticheCore
import PasticheImage

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
    /// pixel), so the leading 1×1 conv is that map from [0, 1] RGB. Given `calibration` photos
    /// [N, 3, H, W], its convs are normalised on them as `vgg_normalised.pth` was
    /// (`normaliseEncoder`), so its features have the authors' scale and their loss weights
    /// carry over; without, they are VGG-19's as they are (activations in the hundreds).
    public static func adainFromVGG19(_ tensors: [String: Tensor], calibration: Tensor? = nil, seed: UInt64 = 0) throws -> ModelWeights {
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
        var metadata = [
            "architecture": ModelWeights.adainArchitecture, ModelWeights.kindKey: ModelKind.adain.rawValue,
            "source": "AdaIN encoder from Pastiche's VGG-19 (ImageNet, Simonyan & Zisserman, CC BY 4.0), decoder untrained",
        ]
        if let calibration {
            normaliseEncoder(&out, calibration: calibration)
            metadata["encoder_normalisation"] = "Gatys et al. 2016: each filter's mean ReLU activation is 1 over \(calibration.n) photos of \(calibration.h)×\(calibration.w)"
        }
        var rng = SplitMix64(seed: seed)
        for l in AdaINArchitecture.decoder {
            let w = Tensor(shape: l.geometry.weightShape)
            let sd = (2 / Float(l.inChannels * l.kernel * l.kernel)).squareRoot()
            for i in 0..<w.count { w.data[i] = rng.normal() * sd }
            out[l.weightName] = w
            out[l.biasName] = Tensor(shape: [l.outChannels])
        }
        // relu4_1's scale depends on the normalisation (unnormalised, activations run to the
        // hundreds): scale the decoder's first conv by the features' RMS on a test pattern, and
        // let the last one start near mid-grey, so the first steps paint images rather than
        // overflow the loss.
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
        return try ModelWeights(tensors: out, metadata: metadata)
    }

    /// Gatys et al. 2016's normalisation of VGG-19, which made the authors' `vgg_normalised.pth`:
    /// each filter's weights and bias are divided by its mean activation (after the ReLU, over
    /// the images and positions of `calibration`), and the next layer's weights over that
    /// channel are multiplied by it. ReLU and max pooling commute with a positive scale, so every
    /// feature map stays the original one times a positive per-channel factor, now with mean 1.
    /// A filter that never fires on these photos keeps its scale. Returns the factors, by layer.
    @discardableResult
    static func normaliseEncoder(_ weights: inout [String: Tensor], calibration: Tensor) -> [String: [Float]] {
        var x = calibration
        var previous: [Float]? = nil
        var factors: [String: [Float]] = [:]
        for l in AdaINArchitecture.encoder {
            let w = weights[l.weightName]!, b = weights[l.biasName]!
            let taps = l.kernel * l.kernel
            if let previous {
                for o in 0..<l.outChannels { for c in 0..<l.inChannels {
                    let start = (o * l.inChannels + c) * taps
                    for j in start..<(start + taps) { w.data[j] *= previous[c] }
                } }
            }
            if l.resampleBefore { x = MaxPool2x2.forwardCeil(x) }
            x = Conv2D.forward(x, weight: w, bias: b, geometry: l.geometry, input: ConvInput(upsample: 1, reflect: true),
                               activation: l.relu ? .relu : .none, options: .default)
            guard l.relu else { previous = nil; continue }  // the preprocessing conv is a fixed map
            var means = [Float](repeating: 1, count: l.outChannels)
            for c in 0..<l.outChannels {
                var sum = 0.0
                for n in 0..<x.n {
                    let start = (n * x.c + c) * x.plane
                    for i in start..<(start + x.plane) { sum += Double(x.data[i]) }
                }
                let mean = sum / Double(x.n * x.plane)
                if mean > 1e-12 { means[c] = Float(mean) }
            }
            for o in 0..<l.outChannels {
                let inverse = 1 / means[o]
                for j in (o * l.inChannels * taps)..<((o + 1) * l.inChannels * taps) { w.data[j] *= inverse }
                b.data[o] *= inverse
                for n in 0..<x.n {
                    let start = (n * x.c + o) * x.plane
                    for i in start..<(start + x.plane) { x.data[i] *= inverse }
                }
            }
            factors[l.name] = means.map { 1 / $0 }
            previous = means
        }
        return factors
    }

    /// Photos for `normaliseEncoder`: up to `count` of them, spread evenly over `paths`, each
    /// shortest side to `side` and centre-cropped square.
    public static func adainCalibrationBatch(paths: [String], count: Int = 16, side: Int = 256) throws -> Tensor {
        guard !paths.isEmpty else { throw ModelError("no JPEG or PNG photos to normalise the encoder on") }
        let picked = (0..<min(count, paths.count)).map { paths[$0 * paths.count / min(count, paths.count)] }
        let batch = Tensor(picked.count, 3, side, side, zeroed: false)
        for (i, path) in picked.enumerated() {
            let image = try ImageIO.read(path: path).resizedShortestSide(to: side).centerCropped(width: side, height: side)
            batch.image(i).update(from: image.pixels, count: 3 * side * side)
        }
        return batch
    }
}
