import ArgumentParser
import Foundation
import PasticheImage
import PasticheModels
import PasticheTools
import PasticheTraining

/// Loss network, weights and layers, shared by `train` and `eval` (they must match to compare numbers).
struct LossOptions: ParsableArguments {
    @Option(name: .customLong("content-weight"),
            help: "Weight of the content loss (default \(LossConfig().contentWeight); with --loss-network \(LossConfig.vgg16(path: "").contentWeight)).")
    var contentWeight: Float?
    @Option(name: .customLong("style-weight"),
            help: "Weight of each style layer's Gram loss (default \(LossConfig().styleWeight); with --loss-network \(LossConfig.vgg16(path: "").styleWeight)).")
    var styleWeight: Float?
    @Option(name: .customLong("tv-weight"),
            help: "Weight of the total variation loss (default \(LossConfig().tvWeight); with --loss-network \(LossConfig.vgg16(path: "").tvWeight)).")
    var tvWeight: Float?
    @Option(name: .customLong("loss-network"),
            help: "vgg19 (the VGG-19 of `model fetch`), a VGG-19 .safetensors, or a VGG-16 ONNX file (e.g. the ONNX model zoo's vgg16-12.onnx) to measure the loss with, on Magenta's layers (content conv3, style conv1…conv4). Default: the predictor's MobileNetV2.")
    var lossNetwork: String?

    /// `--loss-network vgg19` or a .safetensors file: VGG-19; other files: VGG-16 ONNX.
    var vgg19Path: String? {
        guard let lossNetwork else { return nil }
        if lossNetwork == "vgg19" { return PasticheHome().vgg19Model }
        return lossNetwork.hasSuffix(".safetensors") ? URL(fileURLWithPath: lossNetwork).standardizedFileURL.path : nil
    }
    @Option(name: .customLong("vgg-normalize"),
            help: "How images reach VGG: imagenet ((x − mean) / std, for model zoo / torchvision files; default) or magenta (x·255 − mean, TF-slim VGG).")
    var vggNormalize: String?
    @Option(name: .customLong("vgg-pooling"),
            help: "Pooling between VGG blocks: max (as the file; default) or avg (Magenta's VGG).")
    var vggPooling: String?

    /// The loss flags given on the command line (`--resume` takes all of them from the checkpoint).
    var setFlags: [String] {
        [("--content-weight", contentWeight != nil), ("--style-weight", styleWeight != nil), ("--tv-weight", tvWeight != nil),
         ("--loss-network", lossNetwork != nil), ("--vgg-normalize", vggNormalize != nil), ("--vgg-pooling", vggPooling != nil)]
            .filter(\.1).map(\.0)
    }
    var isSet: Bool { !setFlags.isEmpty }

    /// MobileNetV2's defaults, or Magenta's VGG-16 ones with --loss-network; given weights override.
    func config() -> LossConfig {
        var c = LossConfig()
        if let vgg19Path {
            c = LossConfig.vgg19(path: vgg19Path, pooling: vggPooling.flatMap(VGGPooling.init(rawValue:)) ?? .max)
        } else if let lossNetwork {
            c = LossConfig.vgg16(path: URL(fileURLWithPath: lossNetwork).standardizedFileURL.path,
                                 normalization: vggNormalize.flatMap(VGGNormalization.init(rawValue:)) ?? .imagenet,
                                 pooling: vggPooling.flatMap(VGGPooling.init(rawValue:)) ?? .max)
        }
        if let contentWeight { c.contentWeight = contentWeight }
        if let styleWeight { c.styleWeight = styleWeight }
        if let tvWeight { c.tvWeight = tvWeight }
        return c
    }

    func validate() throws {
        for (name, v) in [("--content-weight", contentWeight), ("--style-weight", styleWeight), ("--tv-weight", tvWeight)] {
            if let v, !(v >= 0 && v.isFinite) { throw ValidationError("\(name) must be a non-negative number") }
        }
        if let v = vggNormalize, VGGNormalization(rawValue: v) == nil {
            throw ValidationError("--vgg-normalize must be imagenet or magenta, not '\(v)'")
        }
        if let v = vggPooling, VGGPooling(rawValue: v) == nil {
            throw ValidationError("--vgg-pooling must be max or avg, not '\(v)'")
        }
        if let vgg19Path {
            if vggNormalize != nil { throw ValidationError("--vgg-normalize applies to VGG-16 ONNX files; VGG-19 takes Caffe's input") }
            guard FileManager.default.fileExists(atPath: vgg19Path) else {
                throw ValidationError(lossNetwork == "vgg19" ? "no VGG-19 at \(vgg19Path); run `pastiche model fetch` first"
                                                             : "--loss-network \(lossNetwork!): no such file")
            }
        } else if let lossNetwork {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: lossNetwork, isDirectory: &isDir), !isDir.boolValue else {
                throw ValidationError("--loss-network \(lossNetwork): no such file")
            }
        } else if let flag = [("--vgg-normalize", vggNormalize != nil), ("--vgg-pooling", vggPooling != nil)].first(where: \.1)?.0 {
            throw ValidationError("\(flag) needs --loss-network (it only applies to a VGG loss network)")
        }
    }
}
