import Dispatch
import Foundation

/// A serial queue with a bound on waiting work. Renders and embeddings go through one such
/// queue, so any number of clients share the cores the engine already spreads each job over,
/// instead of oversubscribing them; past the bound, work is refused (503), not buffered.
final class WorkQueue: @unchecked Sendable {
    private let queue: DispatchQueue
    private let limit: Int
    private let lock = NSLock()
    private var pending = 0

    init(label: String, limit: Int) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
        self.limit = limit
    }

    var waiting: Int { lock.withLock { pending } }

    /// Runs `body` on the queue and returns its result; throws `StudioError.busy` at once
    /// when `limit` jobs are already waiting or running.
    func run<T>(_ body: @escaping () throws -> T) async throws -> T {
        try reserve()
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                let result = Result { try body() }
                // The slot is free before the caller resumes: a client that sends its next
                // request as soon as this one returns is never refused for it.
                self.release()
                continuation.resume(with: result)
            }
        }
    }

    /// Queues `body` without waiting for it (a job the client polls).
    func submit(_ body: @escaping () -> Void) throws {
        try reserve()
        queue.async {
            defer { self.release() }
            body()
        }
    }

    private func reserve() throws {
        try lock.withLock {
            guard pending < limit else { throw StudioError.busy }
            pending += 1
        }
    }

    private func release() { lock.withLock { pending -= 1 } }
}
