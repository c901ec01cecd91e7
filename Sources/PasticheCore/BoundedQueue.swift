import Foundation

/// A blocking FIFO of at most `capacity` items between threads: the stages of `video` and the
/// training data prefetcher hand their work on through it. `close()` wakes every waiter: a
/// producer's `put` then returns false and drops the item, so a stage whose consumer stopped
/// early never blocks. (An NSCondition rather than DispatchSemaphores: libdispatch traps when a
/// semaphore is freed below its initial value, which is exactly the state an early stop leaves.)
public final class BoundedQueue<Item>: @unchecked Sendable {
    private var items: [Item] = []
    private let capacity: Int
    private var closed = false
    private let condition = NSCondition()

    public init(capacity: Int) {
        precondition(capacity > 0, "a queue holds at least one item")
        self.capacity = capacity
    }

    /// Waits for room, then appends; false (item dropped) once the queue is closed.
    @discardableResult
    public func put(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !closed { condition.wait() }
        guard !closed else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Waits for an item.
    public func take() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        condition.broadcast()
        return items.removeFirst()
    }

    /// Drops what is queued and refuses more: producers waiting in `put` return false.
    public func close() {
        condition.lock()
        closed = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    public var isClosed: Bool { condition.withLock { closed } }
}
