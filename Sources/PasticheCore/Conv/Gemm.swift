import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Single-precision GEMM on all cores without oversubscription: OpenBLAS runs single-threaded
/// and Pastiche splits the product itself (along N, else M) across `Parallel.cores`. With
/// OpenBLAS's own threads, its workers busy-wait between calls and fight the threads that run
/// im2col, instance norm and the other element-wise work (docs/performance-log.md).
public enum Gemm {
    /// Called once before the first product (and by the executable at start, `useSingleThreadedBLAS`).
    static let singleThreadedBLAS: Void = {
        openblas_set_num_threads(1)
        // The pthreads build starts its worker threads when the library loads, and they spin on
        // sched_yield for a while before sleeping, taking a core from Pastiche's own workers.
        // With one thread they have nothing to do: stop them. Looked up, not
        // linked, as serial and OpenMP builds need not export it.
        if let stop = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            _ = unsafeBitCast(stop, to: (@convention(c) () -> Int32).self)()
        }
    }()

    /// Makes OpenBLAS single-threaded and stops its idle workers now, before other work starts.
    public static func useSingleThreadedBLAS() { _ = singleThreadedBLAS }

    /// Same arguments as `cblas_sgemm` (row-major only): C = alpha·op(A)·op(B) + beta·C,
    /// op(A) [m × k], op(B) [k × n], C [m × n].
    public static func sgemm(_ order: CBLAS_ORDER, _ transA: CBLAS_TRANSPOSE, _ transB: CBLAS_TRANSPOSE,
                             _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float,
                             _ a: UnsafePointer<Float>, _ lda: Int32, _ b: UnsafePointer<Float>, _ ldb: Int32,
                             _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int32) {
        precondition(order == CblasRowMajor, "Gemm.sgemm is row-major only")
        _ = singleThreadedBLAS
        let cores = Parallel.cores
        let flops = 2 * Int(m) * Int(n) * Int(k)
        if cores == 1 || flops < 4_000_000 {
            cblas_sgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        if Int(n) >= 32 * cores {
            // Column blocks: op(B)[:, j0..<j1] and C[:, j0..<j1]; multiples of 16 keep vectors aligned.
            let step = ((Int(n) + cores - 1) / cores + 15) / 16 * 16
            Parallel.forEach(cores, cost: Int.max / 4) { t in
                let j0 = t * step, j1 = min(Int(n), j0 + step)
                guard j0 < j1 else { return }
                let bj = transB == CblasNoTrans ? b + j0 : b + j0 * Int(ldb)
                cblas_sgemm(order, transA, transB, m, Int32(j1 - j0), k, alpha, a, lda, bj, ldb, beta, c + j0, ldc)
            }
        } else if Int(m) >= 2 * cores {
            let step = (Int(m) + cores - 1) / cores
            Parallel.forEach(cores, cost: Int.max / 4) { t in
                let i0 = t * step, i1 = min(Int(m), i0 + step)
                guard i0 < i1 else { return }
                let ai = transA == CblasNoTrans ? a + i0 * Int(lda) : a + i0
                cblas_sgemm(order, transA, transB, Int32(i1 - i0), n, k, alpha, ai, lda, b, ldb, beta, c + i0 * Int(ldc), ldc)
            }
        } else {
            cblas_sgemm(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
    }
}
