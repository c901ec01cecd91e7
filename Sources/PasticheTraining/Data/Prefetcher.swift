import Foundation
import PasticheCore
import PasticheImage
import PasticheLibrary

/// Prepares batches on a background thread, `depth` ahead of the consumer, so decoding and
/// augmentation overlap with compute. Batches arrive in step order.
public final class Prefetcher: @unchecked Sendable {
    private let queue: BoundedQueue<Result<Batch, Error>>

    public init(steps: Range<Int>, depth: Int = 2, make: @escaping (Int) throws -> Batch) {
        let queue = BoundedQueue<Result<Batch, Error>>(capacity: depth)
        self.queue = queue
        let t = Thread {
            for s in steps where !queue.isClosed {
                if !queue.put(Result { try make(s) }) { return }
            }
        }
        t.stackSize = 8 << 20
        t.start()
    }

    public func next() throws -> Batch {
        try queue.take().get()
    }

    /// Stops the producer after the batch it is making (it keeps the queue alive until then).
    public func cancel() {
        queue.close()
    }
}
