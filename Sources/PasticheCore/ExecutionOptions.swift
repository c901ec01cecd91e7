/// How the ops split their work and which kernels they may choose: a value handed to the
/// networks (and from them to every op), never a global, so two networks in one process can run
/// differently and a test changes only the call it makes. None of these choices changes what is
/// computed; most change no bit at all (each output is one sum in a fixed order whatever the
/// bands), the rest only the rounding, within the tolerances the tests state.
public struct ExecutionOptions: Sendable, Equatable {
    /// Output rows per band in every banded op, the predictor's blocks included (`--tile N`);
    /// nil: each op sizes its bands from its cache budget.
    public var bandRows: Int?
    /// Column floats per band of an im2col convolution (and its backward), when `bandRows` is
    /// nil: the unfolded patches stay in cache and memory does not grow with the image.
    public var convBandFloats: Int = 1 << 19
    /// Stride-1 convolutions with few output channels through the direct kernel (`DirectConv`);
    /// off: im2col + GEMM.
    public var directConv = true
    /// 3×3 stride-1 convolutions through Winograd F(2×2, 3×3); off: im2col + GEMM.
    public var winograd = true
    /// 3×3 stride-1 convolutions with at least `Winograd4x4.minimumChannels` channels each way
    /// through Winograd F(4×4, 3×3) instead of F(2×2, 3×3): 4× fewer products than direct
    /// instead of 2.25×, at float32 errors near 1e-6 of a layer's largest value instead of 1e-7.
    /// Off by default (the stylization engine's bits stay as they are); VGG-19 turns it on.
    public var winograd4x4 = false
    /// 3×3 depthwise layers through the kernel that takes a run of channels per call; off: one
    /// call per channel (the same bits).
    public var depthwiseChannelsKernel = true
    /// Inverted-residual blocks on planes with fewer pixels than this split their hidden
    /// channels between the cores instead of bands of rows.
    public var minimumBandedPlane: Int = 32 * 32
    /// Shares of the output channels per core in `PooledPointwise` (taken in turn).
    public var pooledSharesPerCore: Int = 2
    /// Input gradients of stride-1 convolutions as forward convolutions; off: GEMM + col2im.
    public var transposedInputGradient = true

    public init(bandRows: Int? = nil) { self.bandRows = bandRows }

    public static let `default` = ExecutionOptions()
}
