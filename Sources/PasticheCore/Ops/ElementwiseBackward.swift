extension Elementwise {
    /// Backward of y = a + b (`addInPlace`): the gradient passes through unchanged to both
    /// operands. da += dy, db += dy (either may be nil); all shapes equal.
    public static func addBackward(dy: Tensor, da: Tensor?, db: Tensor?) {
        if let da { accumulate(da, dy) }
        if let db { accumulate(db, dy) }
    }

    /// dst += src (same element count; shapes may differ, e.g. [N, C] vs [N, C, 1, 1]).
    public static func accumulate(_ dst: Tensor, _ src: Tensor) {
        precondition(dst.count == src.count, "accumulate: \(dst.shapeDescription) vs \(src.shapeDescription)")
        let a = dst.pointer, b = UnsafePointer(src.pointer)
        Parallel.forEachChunk(dst.count) { r in for i in r { a[i] += b[i] } }
    }
}
