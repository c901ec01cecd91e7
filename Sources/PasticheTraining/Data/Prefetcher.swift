import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

/// Prepares batches on a background thread, `depth` ahead of the consumer, so decoding and
/// augmentation overlap with compute. Batches arrive in step order. (An NSCondition rather than
/// DispatchSemaphores: libdispatch traps when a semaphore is freed below its initial value,
/// which is exactly the state an early stop leaves.)
public final class Prefetcher: @unchecked Sendable {
    private let depth: Int
    private let cond = NSCondition()
    private var queue: [Result<Batch, Error>] = []
    private var cancelled = false

    public init(steps: Range<Int>, depth: Int = 2, make: @escaping (Int) throws -> Batch) {
        self.depth = depth
        let t = Thread { [self] in
            for s in steps {
                cond.lock()
                while queue.count >= depth && !cancelled { cond.wait() }
                let stop = cancelled
                cond.unlock()
                if stop { return }
                let r = Result { try make(s) }
                cond.lock(); queue.append(r); cond.broadcast(); cond.unlock()
            }
        }
        t.stackSize = 8 << 20
        t.start()
    }

    public func next() throws -> Batch {
        cond.lock()
        while queue.isEmpty { cond.wait() }
        let r = queue.removeFirst()
        cond.broadcast()
        cond.unlock()
        return try r.get()
    }

    /// Stops the producer after the batch it is making (it keeps this object alive until then).
    public func cancel() {
        cond.lock(); cancelled = true; cond.broadcast(); cond.unlock()
    }
}
