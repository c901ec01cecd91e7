import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Keeps freed large tensor buffers for the next tensor of the same size.
///
/// glibc maps every allocation above 32 MB (its mmap threshold ceiling) afresh and unmaps it on
/// free, so each new full-resolution activation paid one page fault and one page clear per
/// 4 KB, a visible share of a full-resolution `blend`. The network allocates the same few sizes layer
/// after layer and image after image, so exact-size reuse catches nearly all of them.
/// Retained memory is capped (`capacityBytes` in all, `maxBufferBytes` per buffer): a buffer
/// that does not fit is freed as before. Holding big buffers raises peak memory, which is why
/// activations above `maxBufferBytes` are left to malloc (docs/performance-log.md has the
/// measurements).
enum StoragePool {
    /// Buffers smaller than this come from malloc's own free lists anyway.
    static let minimumBytes = 1 << 20
    static let capacityBytes = 320 << 20
    static let maxBufferBytes = 120 << 20
    /// Buffers this big or bigger are asked to live on transparent huge pages.
    static let hugePageBytes = 2 << 20

    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var retainedBytes = 0

    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumBytes {
            lock.lock()
            let reused = free[byteCount]?.popLast()
            if reused != nil { retainedBytes -= byteCount }
            lock.unlock()
            if let reused { return reused }
        }
        guard byteCount >= hugePageBytes else {
            return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        }
        // Big activations on 2 MB pages where the kernel offers them (transparent huge pages in
        // `madvise` mode): one fault per 2 MB instead of 512 when the buffer is first written.
        let p = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: hugePageBytes)
        #if os(Linux)
        _ = madvise(p, byteCount / hugePageBytes * hugePageBytes, MADV_HUGEPAGE)
        #endif
        return p
    }


    static func release(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        if byteCount >= minimumBytes {
            lock.lock()
            let keep = byteCount <= maxBufferBytes && retainedBytes + byteCount <= capacityBytes
            if keep {
                free[byteCount, default: []].append(p)
                retainedBytes += byteCount
            }
            lock.unlock()
            if keep { return }
        }
        p.deallocate()
    }

    /// Bytes held for reuse now (tests).
    static var retained: Int {
        lock.lock(); defer { lock.unlock() }
        return retainedBytes
    }
}
