import Foundation

/// A style embedding: the predictor's 100 floats (Ghiasi et al. 2017, §3.2).
public typealias Embedding = [Float]

/// Blend weights, one per style: parsed and checked once, normalised to sum 1.
public struct BlendWeights: Equatable, Sendable {
    /// The weights as given, divided by their sum.
    public let normalized: [Float]

    /// Weights must be finite, non-negative and not all zero.
    public init(_ weights: [Float]) throws {
        guard !weights.isEmpty else { throw ModelError("no weights given") }
        for w in weights where !w.isFinite || w < 0 {
            throw ModelError("weights must be finite and non-negative, got \(w)")
        }
        let sum = weights.reduce(0, +)
        guard sum > 0 else { throw ModelError("weights must not all be zero") }
        normalized = weights.map { $0 / sum }
    }

    /// "0.3,0.7" (nil: equal weights) for `count` styles.
    public init(parsing text: String?, count: Int) throws {
        guard let text else {
            try self.init([Float](repeating: 1, count: count))
            return
        }
        let values = try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let v = Float(trimmed) else { throw ModelError("'\(trimmed)' is not a number") }
            return v
        }
        guard values.count == count else {
            throw ModelError("\(count) style\(count == 1 ? "" : "s") but \(values.count) weight\(values.count == 1 ? "" : "s")")
        }
        try self.init(values)
    }
}

/// Arithmetic on style embeddings, in one place: strength, blends and interpolation (and later
/// spatial mixing). The embedding space is smooth (Ghiasi et al. 2017 §4.3), so convex
/// combinations of style embeddings give plausible mixed styles.
public enum EmbeddingMath {
    /// Magenta's identity interpolation (`--strength`): strength·style + (1 − strength)·own,
    /// where `own` is the content image's own embedding. Strength 1 returns `style` bit for bit.
    public static func withStrength(_ style: Embedding, strength: Float, own: Embedding) -> Embedding {
        if strength >= 1 { return style }
        return zip(style, own).map { strength * $0 + (1 - strength) * $1 }
    }

    /// Σ wᵢ·eᵢ. A weight of exactly 1 returns that embedding bit for bit.
    public static func blend(_ embeddings: [Embedding], weights: BlendWeights) throws -> Embedding {
        guard embeddings.count == weights.normalized.count else {
            throw ModelError("\(embeddings.count) styles but \(weights.normalized.count) weights")
        }
        let n = embeddings[0].count
        guard embeddings.allSatisfy({ $0.count == n }) else { throw ModelError("embeddings differ in length") }
        return weightedSum(embeddings, weights: weights.normalized)
    }

    /// Σ wᵢ·eᵢ with the weights as given (spatial control's constant masks, whose weights and
    /// the photo's own share already sum to 1). Zero weights are skipped, so a weight of
    /// exactly 1 returns that embedding bit for bit.
    public static func weightedSum(_ embeddings: [Embedding], weights: [Float]) -> Embedding {
        precondition(embeddings.count == weights.count, "one weight per embedding")
        var out = [Float](repeating: 0, count: embeddings.first?.count ?? 0)
        for (e, wi) in zip(embeddings, weights) where wi != 0 {
            for k in out.indices { out[k] += wi * e[k] }
        }
        return out
    }

    /// (1 − t)·a + t·b.
    public static func interpolate(_ a: Embedding, _ b: Embedding, t: Float) -> Embedding {
        zip(a, b).map { (1 - t) * $0 + t * $1 }
    }
}
