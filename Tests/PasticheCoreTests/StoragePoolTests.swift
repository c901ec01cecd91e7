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

        // Freeing more than the cap keeps at most the cap.
        let big = StoragePool.capacityBytes / 4 / 3 + 1
        var many: [Tensor] = (0..<4).map { _ in Tensor(shape: [big], zeroed: false) }
        XCTAssertLessThanOrEqual(big * 4, StoragePool.maxBufferBytes)
        many.removeAll()
        XCTAssertLessThanOrEqual(StoragePool.retained, StoragePool.capacityBytes)
        _ = many
    }
}
