/// Mean squared error over all elements: L = Σ (a − b)² / count.
public enum MSELoss {
    /// a, b: same element count → L (accumulated in Double).
    public static func forward(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.count == b.count, "mse: \(a.shapeDescription) vs \(b.shapeDescription)")
        guard a.count > 0 else { return 0 }
        var acc: Double = 0
        for i in 0..<a.count { let d = Double(a.data[i]) - Double(b.data[i]); acc += d * d }
        return Float(acc / Double(a.count))
    }

    /// da += dLoss · 2 (a − b) / count,  db −= dLoss · 2 (a − b) / count  (either may be nil;
    /// dLoss is the upstream gradient, e.g. the loss weight).
    public static func backward(_ a: Tensor, _ b: Tensor, dLoss: Float = 1, da: Tensor?, db: Tensor?) {
        precondition(a.count == b.count, "mse backward: shapes")
        if let da { precondition(da.count == a.count, "mse backward: da shape") }
        if let db { precondition(db.count == a.count, "mse backward: db shape") }
        guard a.count > 0 else { return }
        let scale = 2 * dLoss / Float(a.count)
        let ap = UnsafePointer(a.pointer), bp = UnsafePointer(b.pointer)
        let dap = da?.pointer, dbp = db?.pointer
        Parallel.forEachChunk(a.count) { r in
            for i in r {
                let g = scale * (ap[i] - bp[i])
                dap?[i] += g
                dbp?[i] -= g
            }
        }
    }
}
