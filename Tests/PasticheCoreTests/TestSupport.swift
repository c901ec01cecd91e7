import XCTest
import PasticheCore

extension SplitMix64 {
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
}

func randomTensor(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ rng: inout SplitMix64,
                  lo: Float = -1, hi: Float = 1) -> Tensor {
    let t = Tensor(n, c, h, w, zeroed: false)
    for i in 0..<t.count { t.data[i] = rng.uniform(lo, hi) }
    return t
}

func randomTensor(shape: [Int], _ rng: inout SplitMix64, lo: Float = -1, hi: Float = 1) -> Tensor {
    let t = Tensor(shape: shape, zeroed: false)
    for i in 0..<t.count { t.data[i] = rng.uniform(lo, hi) }
    return t
}

/// Index into a flat NCHW array.
@inline(__always)
func idx(_ n: Int, _ c: Int, _ y: Int, _ x: Int, _ C: Int, _ H: Int, _ W: Int) -> Int {
    ((n * C + c) * H + y) * W + x
}

/// Asserts max |actual − expected| ≤ tol · max(1, max |expected|) (a magnitude-relative bound:
/// the scale is the largest reference value, floored at 1 so tiny outputs use an absolute bound).
func assertClose(_ actual: [Float], _ expected: [Double], tol: Double = 1e-4, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): element count", file: file, line: line)
    guard actual.count == expected.count else { return }
    var maxErr = 0.0, maxRef = 0.0, worst = -1
    for i in 0..<actual.count {
        let e = abs(Double(actual[i]) - expected[i])
        if e.isNaN { maxErr = .infinity; worst = i; break }   // any NaN fails
        if e > maxErr { maxErr = e; worst = i }
        maxRef = max(maxRef, abs(expected[i]))
    }
    let bound = tol * max(1, maxRef)
    XCTAssert(maxErr <= bound,
              "\(what): max abs error \(maxErr) at \(worst) (got \(worst >= 0 ? actual[worst] : .nan), want \(worst >= 0 ? expected[worst] : .nan)) exceeds \(bound)",
              file: file, line: line)
}

func assertClose(_ actual: Tensor, _ expected: [Double], tol: Double = 1e-4, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual.array, expected, tol: tol, what, file: file, line: line)
}
