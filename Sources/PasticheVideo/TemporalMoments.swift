import PasticheModels

/// Temporal stability for feed-forward stylization: each normalised layer's per-channel mean
/// and variance, and the photo's own embedding (the `--strength` term), follow an exponential
/// moving average over frames instead of being each frame's own. Instance norm computes fresh
/// statistics per frame, so small changes in the frame swing every channel's scale and shift
/// (the flicker of Huang et al. 2017's "real-time neural style transfer for videos"); carrying
/// them smooths that without optical flow or retraining. Stability 0 is per-frame exactly.
final class TemporalMoments {
    let stability: Float
    private var layers: [String: (mean: [Float], variance: [Float])] = [:]
    private var own: Embedding?

    init(stability: Float) { self.stability = stability }

    /// m_t = K·m_{t−1} + (1 − K)·m(frame t), for the mean and the variance; the first frame's are its own.
    func layerMoments(_ layer: String, _ mean: [Float], _ variance: [Float]) -> (mean: [Float], variance: [Float]) {
        guard let previous = layers[layer], stability > 0 else {
            layers[layer] = (mean, variance)
            return (mean, variance)
        }
        let smoothed = (mean: blend(previous.mean, mean), variance: blend(previous.variance, variance))
        layers[layer] = smoothed
        return smoothed
    }

    /// The photo-embedding term of `--strength`, smoothed the same way.
    func ownEmbedding(_ e: Embedding) -> Embedding {
        guard let previous = own, stability > 0 else { own = e; return e }
        let smoothed = blend(previous, e)
        own = smoothed
        return smoothed
    }

    private func blend(_ previous: [Float], _ current: [Float]) -> [Float] {
        let k = stability
        return zip(previous, current).map { k * $0 + (1 - k) * $1 }
    }
}
