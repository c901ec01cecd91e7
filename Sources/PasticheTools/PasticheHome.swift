import Foundation
import PasticheModels

/// Where Pastiche keeps its files: `$PASTICHE_HOME` (default `~/.pastiche`) holds `models/`
/// (the fetched ONNX files and the imported weights) and `library/` (the LMDB style library).
public struct PasticheHome: Sendable {
    public let path: String

    public init(path: String? = nil) {
        if let path {
            self.path = path
        } else if let env = ProcessInfo.processInfo.environment["PASTICHE_HOME"], !env.isEmpty {
            self.path = env
        } else {
            self.path = NSHomeDirectory() + "/.pastiche"
        }
    }

    public var modelsDirectory: String { path + "/models" }
    public var defaultModel: String { modelsDirectory + "/" + ModelFetcher.modelFileName }
    public var defaultLibrary: String { path + "/library" }
    /// VGG-19, converted by `model fetch` (the loss network of `optimize` and of training).
    public var vgg19Model: String { modelsDirectory + "/" + VGG19Weights.fileName }
    public var predictONNX: String { modelsDirectory + "/arbitrary_predict.onnx" }
    public var transformONNX: String { modelsDirectory + "/arbitrary_transform.onnx" }

    /// `--model PATH` if given, else the imported default.
    public func model(_ override: String?) -> String { override ?? defaultModel }
    public func library(_ override: String?) -> String { override ?? defaultLibrary }
}
