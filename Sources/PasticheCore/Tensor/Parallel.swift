import CPasticheKernels
import Foundation

/// Splits `0..<count` into contiguous chunks run on all cores. Element-wise and per-channel
/// loops use it; GEMMs get their threads from OpenBLAS.
public enum Parallel {
    public static let cores: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(range)` over chunks of `0..<count`. Small work stays on the calling thread,
    /// where thread hand-off would cost more than it saves.
    @inline(__always)
    public static func forEachChunk(_ count: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
        let chunks = min(cores, max(1, count / max(1, minChunk)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        let step = (count + chunks - 1) / chunks
        run(chunks) { k in
            let lo = k * step
            let hi = min(count, lo + step)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// `body(i)` for i in 0..<count on the spinning pool (`pk_parallel_for`): GCD's
    /// concurrentPerform woke a parked thread on every call, and the predictor makes dozens of
    /// short parallel calls per image.
    @inline(__always)
    static func run(_ count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { p in
                pk_parallel_for(count, { context, i in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(i)
                }, p)
            }
        }
    }

    /// Runs `body(worker, item)` for every item in `0..<count` on `workers` threads, worker t
    /// taking items t, t + workers, …: each worker reuses its own scratch buffer for all its
    /// items (the conv bands, the depthwise channels). `cost` is per worker, as in `forEach`.
    @inline(__always)
    public static func forEachInterleaved(_ count: Int, workers: Int, cost: Int = Int.max / 4,
                                          _ body: (_ worker: Int, _ item: Int) -> Void) {
        forEach(workers, cost: cost) { t in
            var item = t
            while item < count {
                body(t, item)
                item += workers
            }
        }
    }

    /// Runs `body(worker, item)` for every item in `0..<count` on `workers` threads, each worker
    /// taking the next untaken item when it finishes one, so a core slowed by the host (or by
    /// a heavier item) takes fewer; `worker` indexes per-worker scratch as in
    /// `forEachInterleaved`. Which worker takes which item varies from run to run: an item's
    /// output must not depend on it (no sums carried across a worker's items), or results stop
    /// being reproducible (training resumes, `-o -` against `-o FILE`).
    @inline(__always)
    public static func forEachDynamic(_ count: Int, workers: Int, cost: Int = Int.max / 4,
                                      _ body: (_ worker: Int, _ item: Int) -> Void) {
        var next = 0
        withUnsafeMutablePointer(to: &next) { next in
            forEach(workers, cost: cost) { t in
                while true {
                    let item = pk_next_item(next)
                    if item >= count { break }
                    body(t, item)
                }
            }
        }
    }

    /// Runs `body(i)` for each `i` in `0..<count` (e.g. one per channel) on all cores.
    @inline(__always)
    public static func forEach(_ count: Int, cost: Int = 1 << 20, _ body: (Int) -> Void) {
        if count <= 1 || cost * count < 1 << 15 || cores == 1 {
            for i in 0..<count { body(i) }
            return
        }
        run(count, body)
    }
}
