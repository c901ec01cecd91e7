import Foundation
import PasticheImage

/// Full-size renders in flight and their results, for the page's progress bar and download.
/// Only the newest `kept` finished jobs are kept; older ones answer 404.
final class RenderJobs: @unchecked Sendable {
    private struct Job {
        var state = "queued"
        var progress = 0.0
        var error: String?
        var result: [UInt8]?
        var format: ImageFormat?
        let order: Int
    }

    private let kept: Int
    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var counter = 0

    init(kept: Int) { self.kept = kept }

    func create() -> String {
        lock.withLock {
            counter += 1
            let id = "job\(counter)-\(UInt32.random(in: 0...UInt32.max))"
            jobs[id] = Job(order: counter)
            return id
        }
    }

    func update(_ id: String, state: String, progress: Double) {
        lock.withLock {
            guard var job = jobs[id] else { return }
            job.state = state
            job.progress = max(job.progress, progress)
            jobs[id] = job
        }
    }

    func finish(_ id: String, result: [UInt8], format: ImageFormat) {
        lock.withLock {
            jobs[id]?.state = "done"
            jobs[id]?.progress = 1
            jobs[id]?.result = result
            jobs[id]?.format = format
            trim()
        }
    }

    func fail(_ id: String, _ message: String) {
        lock.withLock {
            jobs[id]?.state = "failed"
            jobs[id]?.error = message
            trim()
        }
    }

    func status(_ id: String) -> API.Job? {
        lock.withLock {
            jobs[id].map {
                API.Job(job: id, state: $0.state, progress: $0.progress, error: $0.error,
                        result: $0.state == "done" ? "/api/jobs/\(id)/result" : nil)
            }
        }
    }

    func result(_ id: String) throws -> (bytes: [UInt8], format: ImageFormat) {
        try lock.withLock {
            guard let job = jobs[id] else { throw StudioError.notFound("no job '\(id)' (finished jobs are kept only a while)") }
            guard let bytes = job.result, let format = job.format else {
                throw StudioError(409, "job '\(id)' is \(job.state)\(job.error.map { ": \($0)" } ?? ""), no result yet")
            }
            return (bytes, format)
        }
    }

    /// Keeps the newest `kept` finished jobs; running ones always stay.
    private func trim() {
        let finished = jobs.filter { $0.value.state == "done" || $0.value.state == "failed" }
            .sorted { $0.value.order > $1.value.order }
        for (id, _) in finished.dropFirst(kept) { jobs[id] = nil }
    }
}
