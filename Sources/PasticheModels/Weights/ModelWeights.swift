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
        PredictorArchitecture.standard.parameters + TransferArchitecture.standard.parameters
    }

    /// The predictor's shape: width 1.0 unless the metadata says otherwise (`predictor_width`,
    /// written for students of `train distill --width`).
    public var predictorArchitecture: PredictorArchitecture {
        metadata["predictor_width"].flatMap(Double.init).map { PredictorArchitecture(width: $0) } ?? .standard
    }

    /// The transfer network's shape: width 1 unless the metadata says otherwise
    /// (`transfer_width`, written for networks of `train transfer --width`).
    public var transferArchitecture: TransferArchitecture {
        metadata[Self.transferWidthKey].flatMap(Double.init).map { TransferArchitecture(width: $0) } ?? .standard
    }
    public static let transferWidthKey = "transfer_width"

    public var expectedParameters: [(String, [Int])] {
        if isAdaIN { return AdaINArchitecture.parameters }
        return predictorArchitecture.parameters + transferArchitecture.parameters
    }

    /// The architecture metadata of an AdaIN model (`AdaINArchitecture`).
    public static let adainArchitecture = "adain-vgg19-relu4_1"
    /// An AdaIN model: encoder and decoder, no predictor or transfer network.
    public var isAdaIN: Bool { metadata["architecture"] == Self.adainArchitecture }

    /// The length of the model's style embeddings: Ghiasi's 100, or AdaIN's mean and std of
    /// relu4_1 (1024).
    public var embeddingSize: Int { isAdaIN ? AdaINArchitecture.styleSize : PredictorArchitecture.embeddingSize }

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
            if let id = file.metadata["transfer_id"], id.count == 16, id.allSatisfy(\.isHexDigit) {
                weights.cachedTransferID = id
            }
            return weights
        } catch let error as ModelError {
            throw ModelError("\(path): \(error.description)")
        }
    }

    public func save(to path: String) throws {
        var meta = metadata
        meta["architecture"] = isAdaIN ? Self.adainArchitecture : ModelWeights.architecture
        meta["predictor_id"] = predictorID
        if kind == .nStyle { meta["transfer_id"] = transferID }
        try Safetensors.write(tensors, metadata: meta, to: path)
    }

    func validate() throws {
        if let w = metadata["predictor_width"], !(Double(w).map { $0 > 0 && $0 <= 4 } ?? false) {
            throw ModelError("predictor_width '\(w)' is not a width multiplier")
        }
        if let w = metadata[Self.transferWidthKey], !(Double(w).map { TransferArchitecture.widths.contains($0) } ?? false) {
            throw ModelError("transfer_width '\(w)' is not one of \(TransferArchitecture.widths.map { TransferArchitecture(width: $0).widthText }.joined(separator: ", "))")
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
        if let arch = metadata["architecture"], arch != ModelWeights.architecture, arch != Self.adainArchitecture {
            throw ModelError("architecture '\(arch)' is not \(ModelWeights.architecture) or \(Self.adainArchitecture)")
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
        cachedTransferID = nil
    }

    private var cachedTransferID: String?
    /// Identifies the transfer network's weights (style maps included) as `predictorID` does the
    /// predictor's. An N-style model's learned styles are embeddings of its style maps, so their
    /// library records carry this id.
    public var transferID: String {
        if let id = cachedTransferID { return id }
        let id = Self.hashID(tensors, prefix: "transfer.")
        cachedTransferID = id
        return id
    }

    /// The first 16 hex digits of the SHA-256 of the parameters under `prefix` (names and float
    /// bytes, in name order).
    static func hashID(_ tensors: [String: Tensor], prefix: String) -> String {
        var h = SHA256()
        for name in tensors.keys.sorted() where name.hasPrefix(prefix) {
            h.update(Array(name.utf8))
            let t = tensors[name]!
            h.update(UnsafeRawBufferPointer(start: t.pointer, count: t.count * 4))
        }
        return h.finalizeHex(bytes: 8)
    }

    private var cachedPredictorID: String?
    /// Identifies the predictor's weights: the first 16 hex digits of the SHA-256 of its
    /// parameters (names and float bytes, in name order). Library records carry it so an
    /// embedding made by other weights is never reused.
    public var predictorID: String {
        if let id = cachedPredictorID { return id }
        // An AdaIN model's embeddings are its encoder's statistics: the encoder is its "predictor".
        let id = Self.hashID(tensors, prefix: isAdaIN ? "adain.encoder." : "predictor.")
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

    /// Arbitrary (any style, Ghiasi et al.; the default), per-style (`train transfer
    /// --style-image`, Johnson et al.) or N-style (`train transfer --styles`, Dumoulin et al.).
    public var kind: ModelKind {
        if isAdaIN { return .adain }
        return metadata[Self.kindKey].flatMap(ModelKind.init(rawValue:)) ?? .arbitrary
    }

    /// A per-style network's own style, painted when a command is given no style.
    public var ownStyle: (name: String, embedding: Embedding)? {
        guard kind == .perStyle, let text = metadata[Self.styleEmbeddingKey] else { return nil }
        let values = text.split(separator: ",").compactMap { Float(String($0)) }
        guard values.count == PredictorArchitecture.embeddingSize, values.allSatisfy(\.isFinite) else { return nil }
        return (metadata[Self.styleNameKey] ?? "style", values)
    }

    /// The kind in words: "arbitrary model", "per-style model (style 'wave')", "n-style model
    /// (4 learned styles: a, b, c, d)", with a narrower network's width ("arbitrary model,
    /// transfer width 0.5").
    public var kindDescription: String {
        var text = "\(kind.rawValue) model"
        if let own = ownStyle { text += " (style '\(own.name)')" }
        if kind == .nStyle {
            let learned = learnedStyles
            let names = learned.prefix(8).map(\.name).joined(separator: ", ") + (learned.count > 8 ? ", …" : "")
            text += " (\(learned.count) learned styles: \(names))"
        }
        if transferArchitecture != .standard { text += ", transfer width \(transferArchitecture.widthText)" }
        if predictorArchitecture != .standard { text += ", predictor width \(predictorArchitecture.widthText)" }
        return text
    }

    /// Metadata key of an N-style model's learned styles (a JSON array of `LearnedStyle`).
    public static let learnedStylesKey = "learned_styles"

    /// An N-style model's learned styles, in training order (empty for other kinds).
    public var learnedStyles: [LearnedStyle] {
        guard kind == .nStyle, let text = metadata[Self.learnedStylesKey],
              let styles = try? JSONDecoder().decode([LearnedStyle].self, from: Data(text.utf8)) else { return [] }
        return styles.filter { $0.embedding.count == PredictorArchitecture.embeddingSize && $0.embedding.allSatisfy(\.isFinite) }
    }

    /// The learned embedding of the style image with these pixels (`StyleLibrary.pixelHash`), if
    /// this N-style model was trained on it: that image is painted as trained, not as predicted.
    public func learnedEmbedding(pixelHash: String) -> LearnedStyle? {
        learnedStyles.first { $0.pixelHash == pixelHash }
    }

    /// The id library records this model makes are stored under: its predictor's, except for an
    /// N-style model, whose styles (learned ones, and blends made with it) belong to its
    /// transfer network.
    public var styleOwnerID: String { kind == .nStyle ? transferID : predictorID }

    /// Whether a library record's embedding was made for this model: by its predictor, or (an
    /// N-style model) by its own training.
    public func owns(styleOf modelID: String) -> Bool {
        modelID == predictorID || (kind == .nStyle && modelID == transferID)
    }
}

/// One style an N-style network learned: its embedding, a free parameter trained with the
/// network (Dumoulin et al. 2017), and the image it was learned from.
public struct LearnedStyle: Codable, Equatable, Sendable {
    public var name: String
    /// `StyleLibrary.pixelHash` of the style image.
    public var pixelHash: String
    public var sourceFile: String
    public var width: Int
    public var height: Int
    public var embedding: [Float]

    public init(name: String, pixelHash: String, sourceFile: String, width: Int, height: Int, embedding: [Float]) {
        self.name = name; self.pixelHash = pixelHash; self.sourceFile = sourceFile
        self.width = width; self.height = height; self.embedding = embedding
    }

    enum CodingKeys: String, CodingKey {
        case name, pixelHash = "pixel_hash", sourceFile = "source_file", width, height, embedding
    }
}

/// What a model paints: any style from its predictor's embedding (arbitrary), or one style it
/// was trained for (per-style).
public enum ModelKind: String, Sendable, CaseIterable {
    case arbitrary
    case perStyle = "per-style"
    case nStyle = "n-style"
    /// AdaIN (Huang & Belongie 2017): any style, as its encoder's relu4_1 statistics.
    case adain
}
