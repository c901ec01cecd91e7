import CPasticheKernels

/// A weight matrix A [m × k] copied once into `pk_gemm`'s pass order (`pk_gemm_pack_a`): each
/// pass of up to 6 output rows reads one contiguous stream of 6 floats per k step instead of
/// broadcasting from 6 rows `lda` apart, which on the 8²/16² layers, where the weights are the
/// large operand and come from L3, cost 5–15 % of the product. Multiply with `pk_gemm_ex` and
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
