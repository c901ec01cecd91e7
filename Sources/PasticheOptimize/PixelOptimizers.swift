import Foundation

/// Which update rule moves the pixels.
public enum PixelOptimizerKind: String, CaseIterable, Codable, Sendable {
    case lbfgs, adam
}

/// An update rule over one flat vector: given the objective's value and gradient at x, move x.
/// Each call follows exactly one evaluation, so iteration counts compare across optimizers.
public protocol PixelOptimizer {
    mutating func step(x: UnsafeMutableBufferPointer<Float>, loss: Double, gradient: UnsafeBufferPointer<Float>)
}

/// Limited-memory BFGS (Nocedal & Wright 2006, Algorithm 7.4, the two-loop recursion with the
/// initial Hessian sᵀy / yᵀy) taking one step per evaluation, as `torch.optim.LBFGS(max_iter=1,
/// lr=1)` does, with two safeguards that its fixed step lacks:
/// - a step that raised the objective is taken back: the next point is the last accepted one
///   plus a quarter of the step along the same direction (a backtracking line search run one
///   evaluation per iteration, so its evaluations count as iterations);
/// - with no curvature pair yet (the first step, or after the history was emptied) the step is
///   the gradient scaled so that no pixel moves by more than `firstStep` (torch's
///   min(1, 1/‖g‖₁) moves each pixel by about 1e-5 on an image, too little for the first pair's
///   yᵀs to rise above float32 rounding and the ReLU kinks).
/// A pair (s, y) enters the history only when sᵀy > 1e-10·‖s‖‖y‖ (the curvature condition, as a
/// scale-free angle). Dot products are summed in Double.
public struct LBFGS: PixelOptimizer {
    public let history: Int
    public let learningRate: Float
    /// The largest change of one value in a gradient step (pixels are in [0, 1]: 0.01 is 2.55 levels).
    public let firstStep: Float
    private var steps: [[Float]] = []        // s_k = x_{k+1} − x_k
    private var changes: [[Float]] = []      // y_k = g_{k+1} − g_k
    private var rho: [Double] = []           // 1 / (y_kᵀ s_k)
    private var hessianScale: Double = 1
    /// The last accepted point, its objective and gradient, and the direction and step from it.
    private var acceptedX: [Float] = []
    private var acceptedGradient: [Float] = []
    private var acceptedLoss = Double.infinity
    private var direction: [Float] = []
    private var stepLength: Float = 0
    public private(set) var iterations = 0
    /// Steps taken back because they raised the objective.
    public private(set) var rejected = 0

    public init(history: Int = 100, learningRate: Float = 1, firstStep: Float = 0.01) {
        precondition(history >= 1, "L-BFGS needs a history")
        self.history = history; self.learningRate = learningRate; self.firstStep = firstStep
    }

    /// Floats the optimizer holds for a vector of `n`: the history pairs, the last accepted point
    /// and gradient, the direction and the two-loop's work vector (for the memory estimate).
    public static func floats(n: Int, history: Int) -> Int { (2 * history + 4) * n }

    static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        let n = a.count
        var i = 0
        while i + 4 <= n {
            s0 += Double(a[i] * b[i]); s1 += Double(a[i + 1] * b[i + 1])
            s2 += Double(a[i + 2] * b[i + 2]); s3 += Double(a[i + 3] * b[i + 3])
            i += 4
        }
        while i < n { s0 += Double(a[i] * b[i]); i += 1 }
        return (s0 + s1) + (s2 + s3)
    }
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { dot(ap, $0) } }
    }

    public mutating func step(x: UnsafeMutableBufferPointer<Float>, loss: Double, gradient g: UnsafeBufferPointer<Float>) {
        let n = x.count
        precondition(g.count == n, "L-BFGS: gradient size")
        iterations += 1
        if !acceptedX.isEmpty && !(loss <= acceptedLoss) {
            // The step raised the objective (or left the finite numbers): back along the same direction.
            rejected += 1
            stepLength *= 0.25
            if stepLength * (direction.lazy.map(abs).max() ?? 0) < 1e-7 {
                // No progress along this direction at any length: forget the curvature and restart.
                steps.removeAll(); changes.removeAll(); rho.removeAll(); hessianScale = 1
                for i in 0..<n { x[i] = acceptedX[i] }
                stepLength = 0
                direction = [Float](repeating: 0, count: n)
                acceptedGradient.withUnsafeBufferPointer { takeGradientStep(x: x, gradient: $0) }
                return
            }
            let t = stepLength
            for i in 0..<n { x[i] = acceptedX[i] + t * direction[i] }
            return
        }
        if !acceptedX.isEmpty {
            var s = [Float](repeating: 0, count: n), y = [Float](repeating: 0, count: n)
            for i in 0..<n { s[i] = x[i] - acceptedX[i]; y[i] = g[i] - acceptedGradient[i] }
            let ys = Self.dot(y, s), yy = Self.dot(y, y), ss = Self.dot(s, s)
            if ys > 1e-10 * (ss * yy).squareRoot() {
                if steps.count == history { steps.removeFirst(); changes.removeFirst(); rho.removeFirst() }
                steps.append(s); changes.append(y); rho.append(1 / ys)
                hessianScale = ys / yy
            }
        }
        acceptedX = Array(x)
        acceptedGradient = Array(g)
        acceptedLoss = loss
        if steps.isEmpty { takeGradientStep(x: x, gradient: g); return }
        // Two-loop recursion: direction = −H g.
        var q = g.map { -$0 }
        var alpha = [Double](repeating: 0, count: steps.count)
        for k in stride(from: steps.count - 1, through: 0, by: -1) {
            let a = rho[k] * Self.dot(steps[k], q)
            alpha[k] = a
            let af = Float(a)
            changes[k].withUnsafeBufferPointer { yk in for i in 0..<n { q[i] -= af * yk[i] } }
        }
        let hs = Float(hessianScale)
        for i in 0..<n { q[i] *= hs }
        for k in 0..<steps.count {
            let b = rho[k] * Self.dot(changes[k], q)
            let c = Float(alpha[k] - b)
            steps[k].withUnsafeBufferPointer { sk in for i in 0..<n { q[i] += c * sk[i] } }
        }
        direction = q
        // A direction that does not descend (gᵀd ≥ 0, from rounding in a long history): gradient step.
        guard direction.withUnsafeBufferPointer({ Self.dot(g, $0) }) < 0 else {
            steps.removeAll(); changes.removeAll(); rho.removeAll(); hessianScale = 1
            takeGradientStep(x: x, gradient: g)
            return
        }
        stepLength = learningRate
        let t = stepLength
        for i in 0..<n { x[i] += t * direction[i] }
    }

    /// −g scaled so that the largest change is `firstStep`.
    private mutating func takeGradientStep(x: UnsafeMutableBufferPointer<Float>, gradient g: UnsafeBufferPointer<Float>) {
        let largest = g.lazy.map(abs).max() ?? 0
        guard largest > 0, largest.isFinite else { stepLength = 0; return }
        direction = g.map { -$0 }
        stepLength = firstStep / largest * learningRate
        let t = stepLength
        for i in 0..<x.count { x[i] += t * direction[i] }
    }
}

/// Adam (Kingma & Ba 2015) with bias correction, β₁ 0.9, β₂ 0.999, ε 1e-8.
public struct AdamPixels: PixelOptimizer {
    public let learningRate: Float
    private var m: [Float] = [], v: [Float] = []
    private var t = 0
    public init(learningRate: Float) { self.learningRate = learningRate }
    public static func floats(n: Int) -> Int { 2 * n }

    public mutating func step(x: UnsafeMutableBufferPointer<Float>, loss: Double, gradient g: UnsafeBufferPointer<Float>) {
        let n = x.count
        if m.isEmpty { m = [Float](repeating: 0, count: n); v = m }
        t += 1
        let b1: Float = 0.9, b2: Float = 0.999
        let c1 = 1 - powf(b1, Float(t)), c2 = 1 - powf(b2, Float(t))
        let lr = learningRate
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                for i in 0..<n {
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    x[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + 1e-8)
                }
            }
        }
    }
}
