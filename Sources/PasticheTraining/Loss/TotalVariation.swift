import Foundation
import PasticheCore
import PasticheModels

/// Magenta's total variation loss (arbitrary_image_stylization_losses.total_variation_loss):
///   (l2(y[:, 1:] − y[:, :-1]) / ((H−1)·W·C) + l2(y[:, :, 1:] − y[:, :, :-1]) / (H·(W−1)·C)) / N
/// with l2(t) = Σ t² / 2.
public enum TotalVariation {
    /// Returns the unweighted loss; when `dx` is given, adds weight · dLoss/dy to it.
    public static func forward(_ y: Tensor, dx: Tensor?, weight: Float) -> Double {
        let n = y.n, c = y.c, h = y.h, w = y.w
        guard h > 1, w > 1 else { return 0 }
        let ySize = Double((h - 1) * w * c), xSize = Double(h * (w - 1) * c)
        var sy: Double = 0, sx: Double = 0
        let gy = Float(Double(weight) / ySize / Double(n)), gx = Float(Double(weight) / xSize / Double(n))
        for j in 0..<(n * c) {
            let p = y.pointer + j * h * w
            let d = dx.map { $0.pointer + j * h * w }
            for r in 0..<h {
                for col in 0..<w {
                    let v = p[r * w + col]
                    if r + 1 < h {
                        let diff = p[(r + 1) * w + col] - v
                        sy += Double(diff * diff)
                        if let d { d[(r + 1) * w + col] += gy * diff; d[r * w + col] -= gy * diff }
                    }
                    if col + 1 < w {
                        let diff = p[r * w + col + 1] - v
                        sx += Double(diff * diff)
                        if let d { d[r * w + col + 1] += gx * diff; d[r * w + col] -= gx * diff }
                    }
                }
            }
        }
        return (sy / 2 / ySize + sx / 2 / xSize) / Double(n)
    }
}
