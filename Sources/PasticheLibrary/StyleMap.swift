/// A 2-D map of a style library: the embeddings projected on their first two principal
/// components, so that styles the predictor finds similar sit close together.
public enum StyleMap {
    public struct Point: Equatable, Sendable {
        public let x: Float
        public let y: Float
    }

    /// One point per embedding (all of the same length). The axes are the top two eigenvectors
    /// of the embeddings' covariance, found by power iteration with deflation from a fixed start,
    /// so the same library always gives the same map; each axis is signed so that its largest
    /// component is positive. Fewer than three styles leave the missing axes at 0.
    public static func project(_ embeddings: [[Float]]) -> [Point] {
        let n = embeddings.count
        guard n > 0, let d = embeddings.first?.count, d > 0,
              embeddings.allSatisfy({ $0.count == d }) else { return embeddings.map { _ in Point(x: 0, y: 0) } }
        var mean = [Double](repeating: 0, count: d)
        for e in embeddings { for k in 0..<d { mean[k] += Double(e[k]) } }
        for k in 0..<d { mean[k] /= Double(n) }
        let centred = embeddings.map { e in (0..<d).map { Double(e[$0]) - mean[$0] } }

        // Covariance (d×d, d = 100): cheap next to any network run.
        var cov = [Double](repeating: 0, count: d * d)
        for x in centred {
            for i in 0..<d where x[i] != 0 {
                let xi = x[i]
                for j in 0..<d { cov[i * d + j] += xi * x[j] }
            }
        }
        let axes = topEigenvectors(cov, d: d, count: 2)
        return centred.map { x in
            let coordinates = axes.map { axis in zip(axis, x).reduce(0) { $0 + $1.0 * $1.1 } }
            return Point(x: Float(coordinates[0]), y: Float(coordinates[1]))
        }
    }

    /// The `count` leading eigenvectors of a symmetric positive semi-definite matrix; a zero
    /// vector where the remaining spectrum is (numerically) empty.
    static func topEigenvectors(_ m: [Double], d: Int, count: Int) -> [[Double]] {
        var a = m
        let trace = (0..<d).reduce(0.0) { $0 + m[$1 * d + $1] }
        var result: [[Double]] = []
        for _ in 0..<count {
            // A fixed, generic start vector: not orthogonal to any axis in practice.
            var v = (0..<d).map { 1 + 0.01 * Double($0 % 7) }
            var lambda = 0.0
            for _ in 0..<500 {
                var w = [Double](repeating: 0, count: d)
                for i in 0..<d {
                    var s = 0.0
                    for j in 0..<d { s += a[i * d + j] * v[j] }
                    w[i] = s
                }
                let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm <= 1e-12 * max(trace, 1e-300) { lambda = 0; break }
                let next = w.map { $0 / norm }
                let change = zip(next, v).reduce(0) { $0 + abs($1.0 - $1.1) }
                v = next
                lambda = norm
                if change < 1e-12 { break }
            }
            if lambda == 0 {
                result.append([Double](repeating: 0, count: d))
                continue
            }
            if let big = v.indices.max(by: { abs(v[$0]) < abs(v[$1]) }), v[big] < 0 { v = v.map { -$0 } }
            result.append(v)
            // Deflate: A ← A − λ v vᵀ.
            for i in 0..<d { for j in 0..<d { a[i * d + j] -= lambda * v[i] * v[j] } }
        }
        return result
    }
}
