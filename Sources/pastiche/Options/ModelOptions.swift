import ArgumentParser
import Foundation
import PasticheCore
import PasticheImage
import PasticheModels
import PasticheTools

/// `--model PATH`: every command that runs a network takes it.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Weights file (safetensors). Default: $PASTICHE_HOME/models/\(ModelFetcher.modelFileName).")
    var model: String?

    var home: PasticheHome { PasticheHome() }
    var path: String { home.model(model) }

    /// The weights file, checked to exist when it is the default one (a given --model that is
    /// missing is reported by the loader, naming it).
    func existingPath() throws -> String {
        let p = path
        if model == nil && !FileManager.default.fileExists(atPath: p) {
            throw ModelError("no model at \(p); run `pastiche model fetch` first, or pass --model")
        }
        return p
    }

    func loadStylizer(options: ExecutionOptions = .default) throws -> Stylizer {
        try Stylizer(modelPath: try existingPath(), options: options)
    }
}
