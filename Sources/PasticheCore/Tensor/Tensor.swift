/// A dense Float32 tensor in NCHW layout (batch, channels, height, width), row-major and
/// contiguous. NCHW keeps every channel plane contiguous, so a convolution is one GEMM per
/// image: weights [Cout × Cin·kh·kw] × columns [Cin·kh·kw × H·W] (see Conv.swift).
///
/// A `Tensor` is a reference type that owns its storage (64-byte aligned, large buffers recycled
/// through `StoragePool`); hot loops take its
/// `data` buffer pointer directly. Copy explicitly with `copy()`.
public final class Tensor: @unchecked Sendable {
    public let n: Int
    public let c: Int
    public let h: Int
    public let w: Int
    public let data: UnsafeMutableBufferPointer<Float>

    public var count: Int { n * c * h * w }
    /// The shape as created (rank 1...4); the data is the same as [n, c, h, w].
    public let shape: [Int]
    /// Elements in one channel plane.
    public var plane: Int { h * w }
    public var pointer: UnsafeMutablePointer<Float> { data.baseAddress! }
    /// For a view (`init(viewing:offset:shape:)`): the buffer it points into, kept alive by it.
    private let viewed: FlatStorage?

    /// Zero-filled tensor of shape (n, c, h, w).
    public convenience init(_ n: Int, _ c: Int, _ h: Int, _ w: Int, zeroed: Bool = true) {
        precondition(n >= 0 && c >= 0 && h >= 0 && w >= 0, "negative tensor dimension")
        self.init(n, c, h, w, shape: [n, c, h, w], zeroed: zeroed)
    }

    private init(_ n: Int, _ c: Int, _ h: Int, _ w: Int, shape: [Int], zeroed: Bool) {
        self.n = n; self.c = c; self.h = h; self.w = w
        self.shape = shape
        viewed = nil
        let count = max(1, n * c * h * w)
        let raw = StoragePool.allocate(byteCount: count * MemoryLayout<Float>.stride)
        let typed = raw.bindMemory(to: Float.self, capacity: count)
        data = UnsafeMutableBufferPointer(start: typed, count: n * c * h * w)
        if zeroed { typed.initialize(repeating: 0, count: count) }
    }

    public convenience init(shape: [Int], zeroed: Bool = true) {
        precondition(shape.count >= 1 && shape.count <= 4, "tensor rank must be 1...4")
        let s = Array(repeating: 1, count: 4 - shape.count) + shape
        self.init(s[0], s[1], s[2], s[3], shape: shape, zeroed: zeroed)
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape, zeroed: false)
        precondition(values.count == count, "value count \(values.count) does not match shape \(shape)")
        values.withUnsafeBufferPointer { src in
            _ = data.initialize(from: src)
        }
    }

    /// A tensor over `shape.product` floats of `storage` from `offset`, not a copy: writes go
    /// to the shared buffer (llm.c's layout: every parameter tensor points into one allocation,
    /// so the optimizer and an allreduce run over all of it in place).
    public init(viewing storage: FlatStorage, offset: Int, shape: [Int]) {
        precondition(shape.count >= 1 && shape.count <= 4, "tensor rank must be 1...4")
        let s = Array(repeating: 1, count: 4 - shape.count) + shape
        let count = s.reduce(1, *)
        precondition(offset >= 0 && offset + count <= storage.buffer.count, "view past the end of its buffer")
        (n, c, h, w) = (s[0], s[1], s[2], s[3])
        self.shape = shape
        viewed = storage
        data = UnsafeMutableBufferPointer(start: storage.buffer.baseAddress! + offset, count: count)
    }

    deinit {
        guard viewed == nil else { return }
        StoragePool.release(UnsafeMutableRawPointer(data.baseAddress!),
                            byteCount: max(1, count) * MemoryLayout<Float>.stride)
    }

    public func copy() -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    public var array: [Float] { Array(data) }

    public func fill(_ value: Float) { data.update(repeating: value) }

    /// Pointer to image `i`, channel `ch`.
    @inline(__always)
    public func plane(_ i: Int, _ ch: Int) -> UnsafeMutablePointer<Float> {
        pointer + (i * c + ch) * h * w
    }

    /// Pointer to image `i` (all its channels).
    @inline(__always)
    public func image(_ i: Int) -> UnsafeMutablePointer<Float> {
        pointer + i * c * h * w
    }

    public func sameShape(_ other: Tensor) -> Bool {
        n == other.n && c == other.c && h == other.h && w == other.w
    }

    public var shapeDescription: String { "\(shape)" }
}

/// One zero-filled Float allocation that tensors view (`Tensor(viewing:offset:shape:)`); it
/// lives as long as the last of them.
public final class FlatStorage: @unchecked Sendable {
    public let buffer: UnsafeMutableBufferPointer<Float>

    public init(count: Int) {
        buffer = .allocate(capacity: max(1, count))
        buffer.initialize(repeating: 0)
    }

    deinit { buffer.deallocate() }
}
