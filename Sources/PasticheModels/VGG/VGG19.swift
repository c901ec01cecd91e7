import Foundation
import PasticheCore

/// VGG-19 as a frozen feature network: the one definition that `optimize` (Gatys et al.), the
/// training loss (`--loss-network vgg19`) and the ONNX export share. The forward keeps a tape of
/// the ReLU outputs; the backward turns gradients at any of them into the gradient w.r.t. the
/// input image. The weights are frozen, so the backward computes input gradients only: each
/// conv's is the forward conv with the kernel turned 180° and Cin/Cout swapped
/// (`Conv2D.transposedGeometry`), which runs on the same Winograd and direct kernels as the
/// forward, and needs no conv input, so the tape holds one tensor per conv.
public final class VGG19: @unchecked Sendable {
    public let architecture: VGG19Architecture
    public let pooling: VGGPooling
    public let metadata: [String: String]
    /// Per conv, in `architecture.layers` order: [Cout, Cin, 3, 3], [Cout], and the turned kernel
    /// [Cin, Cout, 3, 3] of the input gradient.
    let weights: [Tensor]
    let biases: [Tensor]
    let turned: [Tensor]
    /// Winograd's transform of `weights` and `turned` (nil where the layer does not run on it),
    /// made on a layer's first use and kept: the frozen weights are used every iteration, and
    /// layers past the deepest one a caller reads never cost memory.
    private var forwardWinograd: [Tensor??]
    private var backwardWinograd: [Tensor??]
    private let transformLock = NSLock()

    /// Planes smaller than this (32×32 and below) run as im2col + GEMM: there the Winograd
    /// kernel's per-band transforms cost more than its saved products.
    static let minimumWinogradPlane = 2048

    /// What the backward reads: the ReLU output of every conv through `last`.
    public final class Tape {
        public let last: VGGLayer
        public let architecture: VGG19Architecture
        /// outputs[i] is the ReLU output of `architecture.layers[i]`: [N, C, H/2^(b−1), W/2^(b−1)].
        /// The backward releases each once it has passed it.
        public internal(set) var outputs: [Tensor?]
        public let inputShape: (n: Int, h: Int, w: Int)
        init(last: VGGLayer, architecture: VGG19Architecture, outputs: [Tensor?], inputShape: (Int, Int, Int)) {
            self.last = last; self.architecture = architecture; self.outputs = outputs; self.inputShape = inputShape
        }
        public func output(_ layer: VGGLayer) -> Tensor {
            guard let i = architecture.index(of: layer), i < outputs.count, let t = outputs[i] else {
                preconditionFailure("VGG-19 tape: \(layer) was not recorded or was released")
            }
            return t
        }
    }

    /// `tensors` by the names of `VGG19Architecture.weightName/biasName`; the block widths are
    /// read from the shapes, so a narrow test network loads the same way.
    public init(tensors: [String: Tensor], metadata: [String: String] = [:], pooling: VGGPooling = .max,
                source: String = "VGG-19 weights") throws {
        func fail(_ why: String) -> ModelError { ModelError("\(source): not VGG-19 weights (\(why))") }
        var widths: [Int] = []
        for b in 1...5 {
            guard let w = tensors[VGG19Architecture.weightName(VGGLayer(block: b, conv: 1))], w.shape.count == 4 else {
                throw fail("no \(VGG19Architecture.weightName(VGGLayer(block: b, conv: 1)))")
            }
            guard w.shape[0] > 0 else { throw fail("\(VGG19Architecture.weightName(VGGLayer(block: b, conv: 1))) has no output channels") }
            widths.append(w.shape[0])
        }
        let arch = VGG19Architecture(widths: widths)
        for (name, shape) in arch.expectedParameters {
            guard let t = tensors[name] else { throw fail("no \(name)") }
            guard t.shape == shape else { throw fail("\(name) is \(t.shape), expected \(shape)") }
            guard t.data.allSatisfy({ $0.isFinite }) else { throw fail("\(name) holds a NaN or infinity") }
        }
        architecture = arch
        self.pooling = pooling
        self.metadata = metadata
        weights = arch.layers.map { tensors[VGG19Architecture.weightName($0)]! }
        biases = arch.layers.map { tensors[VGG19Architecture.biasName($0)]! }
        turned = zip(arch.layers, weights).map { Conv2D.turnedWeights($1, geometry: arch.geometry($0)) }
        forwardWinograd = Array(repeating: nil, count: arch.layers.count)
        backwardWinograd = Array(repeating: nil, count: arch.layers.count)
    }

    /// VGG-19's convs run F(4×4, 3×3) Winograd where they have 32 channels or more: the
    /// network is frozen and its losses are sums over whole layers, where F(4×4)'s float32
    /// rounding (about 1e-6 of a layer's largest value) is far below what the tests allow.
    static func options(_ base: ExecutionOptions) -> ExecutionOptions {
        var o = base
        o.winograd4x4 = true
        return o
    }

    private func winogradWeights(layer i: Int, backward: Bool, geometry g: ConvGeometry) -> Tensor? {
        transformLock.lock(); defer { transformLock.unlock() }
        if let cached = backward ? backwardWinograd[i] : forwardWinograd[i] { return cached }
        let w = backward ? turned[i] : weights[i]
        let t: Tensor? = Winograd4x4.applies(g, .plain, Self.options(.default)) ? Winograd4x4.transformedWeights(w, geometry: g)
            : Winograd.applies(g, .plain, .default) ? Winograd.transformedWeights(w, geometry: g) : nil
        if backward { backwardWinograd[i] = .some(t) } else { forwardWinograd[i] = .some(t) }
        return t
    }

    /// A conv of layer `i` (forward, or its input gradient with the turned kernel): Winograd
    /// with the transformed weights on planes of `minimumWinogradPlane` or more, im2col below.
    private func conv(_ x: Tensor, layer i: Int, backward: Bool, activation: Activation, options: ExecutionOptions) -> Tensor {
        let layer = architecture.layers[i]
        let g = backward ? Conv2D.transposedGeometry(architecture.geometry(layer))! : architecture.geometry(layer)
        var o = Self.options(options)
        if x.plane < Self.minimumWinogradPlane { o.winograd = false }
        let useWinograd = o.winograd && (Winograd.applies(g, .plain, o) || Winograd4x4.applies(g, .plain, o))
        return Conv2D.forward(x, weight: backward ? turned[i] : weights[i], bias: backward ? nil : biases[i], geometry: g,
                              activation: activation, options: o,
                              winogradWeights: useWinograd ? winogradWeights(layer: i, backward: backward, geometry: g) : nil)
    }

    /// Reads a safetensors file written by `VGG19Weights.convert` (or any with the same names).
    public static func load(path: String, pooling: VGGPooling = .max) throws -> VGG19 {
        let file = try Safetensors.read(path: path)
        return try VGG19(tensors: file.tensors, metadata: file.metadata, pooling: pooling, source: path)
    }

    /// The parameters by name (for the exporter and `model info`).
    public var tensors: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, l) in architecture.layers.enumerated() {
            out[VGG19Architecture.weightName(l)] = weights[i]
            out[VGG19Architecture.biasName(l)] = biases[i]
        }
        return out
    }

    // MARK: - Input map

    /// v = 255 · x in BGR order, minus the mean pixel: RGB [0, 1] → Caffe's input.
    public static func caffeInput(_ image: Tensor) -> Tensor {
        precondition(image.c == 3, "VGG-19: image must be [N, 3, H, W]")
        let v = Tensor(image.n, 3, image.h, image.w, zeroed: false)
        let mean = VGG19Architecture.meanBGR
        for i in 0..<image.n {
            for c in 0..<3 {
                let src = UnsafePointer(image.plane(i, 2 - c)), dst = v.plane(i, c), m = mean[c]
                Parallel.forEachChunk(image.plane) { r in for k in r { dst[k] = 255 * src[k] - m } }
            }
        }
        return v
    }

    /// The adjoint of `caffeInput`: dx[RGB c] = 255 · dv[BGR 2 − c].
    static func caffeInputBackward(_ dv: Tensor) -> Tensor {
        let dx = Tensor(dv.n, 3, dv.h, dv.w, zeroed: false)
        for i in 0..<dv.n {
            for c in 0..<3 {
                let src = UnsafePointer(dv.plane(i, 2 - c)), dst = dx.plane(i, c)
                Parallel.forEachChunk(dv.plane) { r in for k in r { dst[k] = 255 * src[k] } }
            }
        }
        return dx
    }

    // MARK: - Forward and backward

    /// Runs `image` ([N, 3, H, W] RGB in [0, 1]) through every conv up to `last`:
    /// per block [pool →] (3×3 conv, pad 1 → ReLU)×k. H and W must be at least
    /// `architecture.minimumSide(through: last)`.
    public func forward(_ image: Tensor, through last: VGGLayer, options: ExecutionOptions = .default) -> Tape {
        let side = architecture.minimumSide(through: last)
        precondition(image.h >= side && image.w >= side, "VGG-19: \(image.w)×\(image.h) is too small for \(last)")
        guard let lastIndex = architecture.index(of: last) else { preconditionFailure("VGG-19 has no \(last)") }
        var x = Self.caffeInput(image)
        var outputs: [Tensor?] = []
        for (i, layer) in architecture.layers.prefix(lastIndex + 1).enumerated() {
            if layer.conv == 1 && layer.block > 1 {
                x = pooling == .max ? MaxPool2x2.forward(x) : AveragePool2x2.forward(x)
            }
            x = conv(x, layer: i, backward: false, activation: .relu, options: options)
            outputs.append(x)
        }
        return Tape(last: last, architecture: architecture, outputs: outputs, inputShape: (image.n, image.h, image.w))
    }

    /// The gradient w.r.t. the input image ([N, 3, H, W], RGB [0, 1] units) of a loss whose
    /// gradients w.r.t. ReLU outputs are `gradients` (any recorded layers). The gradient tensors
    /// are consumed (masked in place).
    public func backward(_ tape: Tape, gradients: [VGGLayer: Tensor], options: ExecutionOptions = .default) -> Tensor {
        backward(tape, options: options) { layer, _ in gradients[layer] }
    }

    /// The same, with each layer's gradient asked for only when the backward reaches that layer
    /// (`gradient(layer, its ReLU output)`, nil where the loss does not read it), so the gradients
    /// of the shallow, large layers are never alive beside the deep ones. The tape's outputs are
    /// released as the backward passes them: the peak is the tape plus three working planes.
    public func backward(_ tape: Tape, options: ExecutionOptions = .default,
                         gradient: (VGGLayer, Tensor) -> Tensor?) -> Tensor {
        let layers = architecture.layers
        guard let lastIndex = architecture.index(of: tape.last) else { preconditionFailure("VGG-19 tape") }
        var d: Tensor? = nil   // gradient w.r.t. the ReLU output of layers[i]
        for i in stride(from: lastIndex, through: 0, by: -1) {
            let layer = layers[i]
            if let output = tape.outputs[i], let g = gradient(layer, output) {
                if let acc = d { Elementwise.accumulate(acc, g) } else { d = g }
            }
            guard let dy = d else { tape.outputs[i] = nil; continue }
            let y = tape.outputs[i]!
            // ReLU: the gradient passes where the output is positive.
            let yp = UnsafePointer(y.pointer), dp = dy.pointer
            Parallel.forEachChunk(y.count) { r in for k in r { dp[k] = yp[k] > 0 ? dp[k] : 0 } }
            tape.outputs[i] = nil
            let dIn = conv(dy, layer: i, backward: true, activation: .none, options: options)
            if layer.conv == 1 && layer.block > 1 {
                // dIn is the gradient w.r.t. the pool's output; the pool read layers[i − 1]'s output.
                let poolInput = tape.outputs[i - 1]!
                let dPrev = Tensor(poolInput.n, poolInput.c, poolInput.h, poolInput.w)
                if pooling == .max {
                    MaxPool2x2.backward(poolInput, dy: dIn, dx: dPrev)
                } else {
                    AveragePool2x2.backward(dy: dIn, dx: dPrev)
                }
                d = dPrev
            } else {
                d = dIn
            }
        }
        guard let dv = d else {
            return Tensor(tape.inputShape.n, 3, tape.inputShape.h, tape.inputShape.w)
        }
        return Self.caffeInputBackward(dv)
    }
}
