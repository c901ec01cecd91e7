import PasticheCore
import PasticheImage

/// The largest |a[i] − b[i]|, the one loop every overload below runs over its buffers: infinity
/// when the lengths differ, NaN when any difference is NaN (so a `≤ tolerance` assertion fails
/// rather than passing over it), 0 for two empty buffers.
public func maxAbsDifference<A: Collection, B: Collection>(_ a: A, _ b: B) -> Float
    where A.Element == Float, B.Element == Float {
    guard a.count == b.count else { return .infinity }
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        let d = abs(x - y)
        if d.isNaN { return .nan }
        if d > worst { worst = d }
    }
    return worst
}

public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in maxAbsDifference(x, y) } }
}

/// Over the values; infinity when the shapes differ.
public func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return maxAbsDifference(UnsafeBufferPointer(start: a.pointer, count: a.count),
                            UnsafeBufferPointer(start: b.pointer, count: b.count))
}

/// Over the channel values in [0, 1]; infinity when the sizes differ.
public func maxAbsDifference(_ a: RGBImage, _ b: RGBImage) -> Float {
    guard a.width == b.width, a.height == b.height else { return .infinity }
    return maxAbsDifference(a.pixels, b.pixels)
}

/// The largest difference of two images in 8-bit levels (the difference in [0, 1] × 255,
/// rounded); Int.max when the sizes differ.
public func maxLevelDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
    let d = maxAbsDifference(a, b)
    return d.isFinite ? Int((d * 255).rounded()) : Int.max
}

/// Max and mean absolute difference and cosine similarity of two tensors' values (the parity
/// tests' summary of an output against a reference runtime's).
public struct Difference: CustomStringConvertible {
    public var maxAbs: Float = 0
    public var meanAbs: Double = 0
    public var cosine: Double = 0

    public init(_ a: Tensor, _ b: Tensor) {
        precondition(a.count == b.count)
        maxAbs = maxAbsDifference(UnsafeBufferPointer(start: a.pointer, count: a.count),
                                  UnsafeBufferPointer(start: b.pointer, count: b.count))
        var sum = 0.0, dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<a.count {
            sum += Double(abs(a.data[i] - b.data[i]))
            dot += Double(a.data[i]) * Double(b.data[i])
            na += Double(a.data[i]) * Double(a.data[i])
            nb += Double(b.data[i]) * Double(b.data[i])
        }
        meanAbs = sum / Double(a.count)
        cosine = dot / max(1e-30, (na * nb).squareRoot())
    }

    public var description: String { "max|Δ| \(maxAbs), mean|Δ| \(meanAbs), cosine \(cosine)" }
}
