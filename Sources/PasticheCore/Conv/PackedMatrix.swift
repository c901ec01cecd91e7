import CPasticheKernels
import Foundation

/// A weight matrix A [m × k] copied once into `pk_gemm`'s pass order (`pk_gemm_pack_a`): each
/// pass of up to 6 output rows reads one contiguous stream of 6 floats per k step instead of
/// broadcasting from 6 rows `lda` apart, which costs most on the 8²/16² layers, where the weights
/// are the large operand and come from L3. Multiply with `pk_gemm` and
/// `lda` 0.
public struct PackedMatrix {
    public let m: Int, k: Int
    private let storage: Tensor

    /// Rows `rows` and columns `columns` of `a` ([rows × lda] row-major).
    public init(_ a: Tensor, lda: Int, rows: Range<Int>, columns: Range<Int>) {
        precondition(rows.upperBound * lda <= a.count && columns.upperBound <= lda, "packed matrix bounds")
        m = rows.count
        k = columns.count
        storage = Tensor(shape: [1, 1, 1, max(1, m * k)], zeroed: false)
        pk_gemm_pack_a(a.pointer + rows.lowerBound * lda + columns.lowerBound, lda, Int32(m), Int32(k),
                       storage.pointer)
    }

    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
}

/// Row slices of one weight matrix [m × k], packed the first time a split asks for them and
/// kept (a layer splits its output channels the same way on every call with the same plane
/// size). Safe to share between threads.
public final class PackedRows: @unchecked Sendable {
    public let weight: Tensor
    public let k: Int
    private var slices: [Range<Int>: PackedMatrix] = [:]
    private let lock = NSLock()

    public init(_ weight: Tensor, columns k: Int) {
        precondition(k > 0 && weight.count % k == 0, "packed rows shape")
        self.weight = weight
        self.k = k
    }

    public func rows(_ range: Range<Int>) -> PackedMatrix {
        lock.lock()
        defer { lock.unlock() }
        if let p = slices[range] { return p }
        let p = PackedMatrix(weight, lda: k, rows: range, columns: 0..<k)
        slices[range] = p
        return p
    }
}
