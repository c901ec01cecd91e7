import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): seeded and reproducible on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Float = 0, _ hi: Float = 1) -> Float {
        let u = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return lo + Float(u) * (hi - lo)
    }
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
    /// A generator for one (seed, stream, index) triple, independent of any earlier draws:
    /// this is what makes a resumed run draw exactly what the uninterrupted run would have.
    public static func derived(_ seed: UInt64, _ stream: UInt64, _ index: UInt64) -> SplitMix64 {
        var g = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        g.state ^= index &* 0x9E37_79B9_7F4A_7C15
        _ = g.next()
        return g
    }
}
