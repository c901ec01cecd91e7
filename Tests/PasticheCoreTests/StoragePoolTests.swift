import XCTest
@testable import PasticheCore

/// Large tensor buffers are reused by exact size, come back zeroed when asked, and the pool
/// never holds more than its cap.
final class StoragePoolTests: XCTestCase {
    func testReuseZeroingAndCap() {
        let count = 3 << 18  // 3 MB of floats: pooled, and on huge pages
        var first: Tensor? = Tensor(shape: [count], zeroed: false)
        first!.fill(7)
        let address = first!.pointer
        first = nil
        let reused = Tensor(shape: [count], zeroed: true)
        XCTAssertEqual(reused.pointer, address, "a freed buffer of the same size is handed out again")
        XCTAssertTrue(reused.data.allSatisfy { $0 == 0 }, "zeroed: true clears a recycled buffer")

        // A request for a new, bigger size releases the smaller buffers held.
        var small: Tensor? = Tensor(shape: [1 << 19], zeroed: false)  // 2 MB
        small = nil
        let held = StoragePool.retained
        XCTAssertGreaterThanOrEqual(held, 2 << 20)
        let bigger = Tensor(shape: [5 << 18 + 1], zeroed: false)  // a size never used before: a miss
        XCTAssertLessThanOrEqual(StoragePool.retained, held - (2 << 20), "a miss frees the smaller buffers")
        _ = (small, bigger)

        // Freeing more than the cap keeps at most the cap.
        let big = StoragePool.capacityBytes / 4 / 3 + 1
        var many: [Tensor] = (0..<4).map { _ in Tensor(shape: [big], zeroed: false) }
        many.removeAll()
        XCTAssertLessThanOrEqual(StoragePool.retained, StoragePool.capacityBytes)
        _ = many
    }
}
