import Foundation
import PasticheCore

/// The parameters of both networks, addressed by dotted names that match the safetensors file
/// (`transfer.residual.1.conv1.norm.gamma.weight`). Loading checks every expected name and shape.
public final class ModelWeights: @unchecked Sendable {
    public static let architecture = "magenta-arbitrary-v1-256"
    public private(set) var tensors: [String: Tensor]
    public var metadata: [String: String]

    public init(tensors: [String: Tensor], metadata: [String: String] = [:]) throws {
        self.tensors = tensors
        self.metadata = metadata
        try validate()
    }

    /// The parameters of Magenta's model (predictor width 1.0).
    public static var expectedParameters: [(String, [Int])] {
        PredictorArchitecture.standard.parameters + TransferArchitecture.parameters
    }

    /// The predictor's shape: width 1.0 unless the metadata says otherwise (`predictor_width`,
    /// written for students of `train distill --width`).
    public var predictorArchitecture: PredictorArchitecture {
        metadata["predictor_width"].flatMap(Double.init).map { PredictorArchitecture(width: $0) } ?? .standard
    }

    public var expectedParameters: [(String, [Int])] {
        predictorArchitecture.parameters + TransferArchitecture.parameters
    }

    public static func load(path: String) throws -> ModelWeights {
        let file = try Safetensors.read(path: path)
        do {
            let weights = try ModelWeights(tensors: file.tensors, metadata: file.metadata)
            // `save` wrote the id of exactly these tensors: reuse it instead of hashing ~14 MB
            // on every start (a noticeable part of a one-photo command). Only a loaded file is
            // trusted this way; weights built or changed in memory are hashed.
            if let id = file.metadata["predictor_id"], id.count == 16, id.allSatisfy(\.isHexDigit) {
                weights.cachedPredictorID = id
            }
            return weights
        } catch let error as ModelError {
            throw ModelError("\(path): \(error.description)")
        }
    }

    public func save(to path: String) throws {
        var meta = metadata
        meta["architecture"] = ModelWeights.architecture
        meta["predictor_id"] = predictorID
        try Safetensors.write(tensors, metadata: meta, to: path)
    }

    func validate() throws {
        if let w = metadata["predictor_width"], !(Double(w).map { $0 > 0 && $0 <= 4 } ?? false) {
            throw ModelError("predictor_width '\(w)' is not a width multiplier")
        }
        var missing: [String] = []
        for (name, shape) in expectedParameters {
            guard let t = tensors[name] else { missing.append(name); continue }
            if t.shape != shape {
                throw ModelError("parameter \(name) has shape \(t.shape), expected \(shape)")
            }
        }
        if !missing.isEmpty {
            let more = missing.count > 3 ? " and \(missing.count - 3) more" : ""
            throw ModelError("missing parameter\(missing.count > 1 ? "s" : "") \(missing.prefix(3).joined(separator: ", "))\(more)")
        }
        if let arch = metadata["architecture"], arch != ModelWeights.architecture {
            throw ModelError("architecture '\(arch)' is not \(ModelWeights.architecture)")
        }
        for (name, t) in tensors where !t.data.allSatisfy({ $0.isFinite }) {
            throw ModelError("parameter \(name) contains NaN or infinity")
        }
    }

    public subscript(name: String) -> Tensor {
        guard let t = tensors[name] else { preconditionFailure("unknown parameter \(name)") }
        return t
    }

    /// Replaces a parameter (same shape), e.g. after a training step.
    public func set(_ name: String, _ t: Tensor) {
        precondition(tensors[name]?.shape == t.shape, "set \(name): shape mismatch")
        tensors[name] = t
        cachedPredictorID = nil
    }

    private var cachedPredictorID: String?
    /// Identifies the predictor's weights: the first 16 hex digits of the SHA-256 of its
    /// parameters (names and float bytes, in name order). Library records carry it so an
    /// embedding made by other weights is never reused.
    public var predictorID: String {
        if let id = cachedPredictorID { return id }
        var h = SHA256()
        for name in tensors.keys.sorted() where name.hasPrefix("predictor.") {
            h.update(Array(name.utf8))
            let t = tensors[name]!
            h.update(UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))
        }
        let id = h.finalizeHex(bytes: 8)
        cachedPredictorID = id
        return id
    }

    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    // MARK: What the model is

    /// Metadata keys of a model's kind and its own style (a per-style network's).
    public static let kindKey = "model_kind"
    public static let styleNameKey = "style_name"
    /// The style's embedding as comma-separated floats, each printed in Swift's shortest form
    /// that reads back to the same bits.
    public static let styleEmbeddingKey = "style_embedding"

    /// Arbitrary (any style, Ghiasi et al.; the default) or per-style (`train transfer
    /// --style-image`, Johnson et al.).
    public var kind: ModelKind { metadata[Self.kindKey].flatMap(ModelKind.init(rawValue:)) ?? .arbitrary }

    /// A per-style network's own style, painted when a command is given no style.
    public var ownStyle: (name: String, embedding: Embedding)? {
        guard kind == .perStyle, let text = metadata[Self.styleEmbeddingKey] else { return nil }
        let values = text.split(separator: ",").compactMap { Float(String($0)) }
        guard values.count == PredictorArchitecture.embeddingSize, values.allSatisfy(\.isFinite) else { return nil }
        return (metadata[Self.styleNameKey] ?? "style", values)
    }
}

/// What a model paints: any style from its predictor's embedding (arbitrary), or one style it
/// was trained for (per-style).
public enum ModelKind: String, Sendable, CaseIterable {
    case arbitrary
    case perStyle = "per-style"
}
