import Foundation
import XCTest
import PasticheImage
@testable import PasticheStudio

/// The studio's in-memory state: the page's files, the photo cache, the render queue's bound
/// and the finished renders kept for download.
final class StudioStateTests: XCTestCase {
    func testContentTypesCoverThePagesFiles() {
        XCTAssertEqual(Set(WebAssets.contentTypes.keys), ["html", "css", "js", "svg"])
        XCTAssertEqual(WebAssets.contentTypes["html"], "text/html; charset=utf-8")
        XCTAssertEqual(WebAssets.contentTypes["css"], "text/css; charset=utf-8")
        XCTAssertEqual(WebAssets.contentTypes["js"], "text/javascript; charset=utf-8")
        XCTAssertEqual(WebAssets.contentTypes["svg"], "image/svg+xml")
    }

    /// The resource bundle SwiftPM builds beside the test binary, as beside `pastiche`.
    func testThePageLoadsWithATypeForEveryFile() throws {
        let web = try WebAssets.load()
        let index = try XCTUnwrap(web.assets["index.html"])
        XCTAssertEqual(index.contentType, "text/html; charset=utf-8")
        XCTAssertTrue(String(decoding: index.bytes, as: UTF8.self).contains("studio.js"))
        XCTAssertEqual(web.assets["studio.js"]?.contentType, "text/javascript; charset=utf-8")
        for (name, asset) in web.assets {
            let ext = (name as NSString).pathExtension.lowercased()
            XCTAssertEqual(asset.contentType, WebAssets.contentTypes[ext], name)
            XCTAssertFalse(asset.bytes.isEmpty, name)
        }
    }

    private func photo(_ side: Int, _ value: Float) -> RGBImage { RGBImage(width: side, height: side, fill: value) }

    func testPhotoIDIsAContentAddress() {
        let a = PhotoCache.id(of: Array("one photo".utf8)), b = PhotoCache.id(of: Array("another".utf8))
        XCTAssertEqual(a.count, 32)
        XCTAssertTrue(a.allSatisfy { $0.isHexDigit }, a)
        XCTAssertEqual(a, PhotoCache.id(of: Array("one photo".utf8)))
        XCTAssertNotEqual(a, b)
    }

    func testPhotoCacheFitsAndEvictsTheLeastRecentlyUsed() throws {
        // A 10×10 photo costs 1200 bytes: two fit in 2500, not three.
        let cache = PhotoCache(budget: 2500)
        try cache.insert("a", photo(10, 0.1))
        try cache.insert("b", photo(10, 0.2))
        XCTAssertEqual(try cache.content("a", maxSize: nil), photo(10, 0.1))  // a is now the more recent
        try cache.insert("c", photo(10, 0.3))
        XCTAssertTrue(cache.contains("a"))
        XCTAssertFalse(cache.contains("b"), "the least recently used photo goes first")
        XCTAssertTrue(cache.contains("c"))
        XCTAssertEqual(cache.summary.count, 2)
        XCTAssertLessThanOrEqual(cache.summary.bytes, 2500)
        XCTAssertThrowsError(try cache.content("b", maxSize: nil)) { error in
            XCTAssertEqual((error as? StudioError)?.code, 404, "\(error)")
        }
        XCTAssertEqual(cache.size(of: "c")?.width, 10)
        XCTAssertNil(cache.size(of: "b"))
    }

    func testPhotoCacheFitsPreviewsLikeStylizeMaxSize() throws {
        let cache = PhotoCache(budget: 1 << 20)
        let original = RGBImage(width: 40, height: 20, fill: (0.1, 0.5, 0.9))
        try cache.insert("p", original)
        let fitted = try cache.content("p", maxSize: 10)
        XCTAssertEqual([fitted.width, fitted.height], [10, 5])
        XCTAssertEqual(fitted, original.resizedToFit(maxSide: 10))
        XCTAssertEqual(try cache.content("p", maxSize: nil), original)
        var made = 0
        let embedding = { () -> [Float] in made += 1; return [Float](repeating: 0.5, count: 100) }
        _ = try cache.ownEmbedding("p", maxSize: 10, make: embedding)
        _ = try cache.ownEmbedding("p", maxSize: 10, make: embedding)
        XCTAssertEqual(made, 1, "an embedding is computed once per size")
    }

    func testAPhotoLargerThanTheCacheIs413() {
        let cache = PhotoCache(budget: 1000)
        XCTAssertThrowsError(try cache.insert("big", photo(20, 0.5))) { error in
            XCTAssertEqual((error as? StudioError)?.code, 413, "\(error)")
        }
        XCTAssertFalse(cache.contains("big"))
    }

    func testWorkQueueRefusesWorkBeyondItsBound() async throws {
        let queue = WorkQueue(label: "test", limit: 1)
        let gate = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0)
        try queue.submit { started.signal(); gate.wait() }
        started.wait()
        XCTAssertEqual(queue.waiting, 1)
        XCTAssertThrowsError(try queue.submit {}) { error in
            XCTAssertEqual((error as? StudioError)?.code, 503, "\(error)")
        }
        gate.signal()
        // The slot is free once the job has returned.
        let deadline = Date().addingTimeInterval(10)
        while queue.waiting > 0 && Date() < deadline { usleep(1000) }
        XCTAssertEqual(queue.waiting, 0)
        let value = try await queue.run { 6 * 7 }
        XCTAssertEqual(value, 42)
        XCTAssertEqual(queue.waiting, 0)
    }

    func testRenderJobsReportProgressAndKeepTheNewestResults() throws {
        let jobs = RenderJobs(kept: 1)
        let first = jobs.create(), second = jobs.create()
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(jobs.status(first)?.state, "queued")
        jobs.update(first, state: "running", progress: 0.5)
        jobs.update(first, state: "running", progress: 0.25)
        XCTAssertEqual(jobs.status(first)?.progress, 0.5, "progress never goes back")
        XCTAssertThrowsError(try jobs.result(first)) { error in
            XCTAssertEqual((error as? StudioError)?.code, 409, "\(error)")
        }
        jobs.finish(first, result: [1, 2, 3], format: .png)
        XCTAssertEqual(jobs.status(first)?.state, "done")
        XCTAssertEqual(jobs.status(first)?.result, "/api/jobs/\(first)/result")
        XCTAssertEqual(try jobs.result(first).bytes, [1, 2, 3])
        XCTAssertEqual(try jobs.result(first).format, .png)
        jobs.fail(second, "out of memory")
        XCTAssertEqual(jobs.status(second)?.state, "failed")
        XCTAssertEqual(jobs.status(second)?.error, "out of memory")
        XCTAssertNil(jobs.status(second)?.result)
        XCTAssertNil(jobs.status(first), "only the newest finished job is kept")
        XCTAssertThrowsError(try jobs.result(first)) { error in
            XCTAssertEqual((error as? StudioError)?.code, 404, "\(error)")
        }
    }
}
