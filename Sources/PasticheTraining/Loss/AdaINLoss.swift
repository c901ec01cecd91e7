import PasticheCore
import PasticheModels

/// AdaIN's training objective (Huang & Belongie 2017, eqs. 11–13; naoto0804/pytorch-AdaIN's
/// `net.py`): the decoded image g is encoded again by the frozen encoder, and
///   L = w_c · MSE(relu4_1(g), t) + w_s · Σ_{l = relu1_1…relu4_1} [MSE(μ_l(g), μ_l(s)) + MSE(σ_l(g), σ_l(s))],
/// with t = AdaIN(relu4_1(content), relu4_1(style)) the target the decoder inverts, μ and σ as
/// `ChannelMoments`, every MSE the mean over its elements (torch's `MSELoss`), w_c = 1 and
/// w_s = 10 by default. `evaluate` returns dL/dg through the encoder's backward.
public struct AdaINLoss {
    public var contentWeight: Float = 1
    public var styleWeight: Float = 10
    /// The frozen encoder (and, unused here, the decoder) of an AdaIN model.
    let encoder: ParameterSource

    public init(weights: ModelWeights, contentWeight: Float = 1, styleWeight: Float = 10) {
        precondition(weights.isAdaIN, "not an AdaIN model")
        encoder = ParameterSource(trainable: nil, frozen: weights.tensors)
        self.contentWeight = contentWeight
        self.styleWeight = styleWeight
    }

    public struct Values: Sendable {
        public var content: Double = 0
        public var style: Double = 0
        public var total: Double { content + style }
    }

    /// What a batch's loss compares against: t, and the style's moments at every style layer.
    public struct Targets {
        public let t: Tensor
        public let styleMoments: [String: (mean: Tensor, std: Tensor)]
    }

    /// t = AdaIN(relu4_1(content), relu4_1(style)) and the style's moments at relu1_1…relu4_1
    /// (content and style [N, 3, H, W]; their sizes may differ).
    public func targets(content: Tensor, style: Tensor) -> Targets {
        let c = AdaINNetwork.Training.encode(content, encoder).output
        let s = AdaINNetwork.Training.encode(style, encoder)
        var moments: [String: (mean: Tensor, std: Tensor)] = [:]
        for name in AdaINArchitecture.styleLayers { moments[name] = ChannelMoments.forward(s.outputs[name]!) }
        let last = moments[AdaINArchitecture.styleLayers.last!]!
        return Targets(t: AdaIN.forward(c, styleMean: last.mean, styleStd: last.std), styleMoments: moments)
    }

    /// The loss of the decoded batch `g` and, when `gradient`, dL/dg.
    public func evaluate(_ g: Tensor, targets: Targets, gradient: Bool) -> (Values, Tensor?) {
        let tape = AdaINNetwork.Training.encode(g, encoder)
        var values = Values()
        var gradients: [String: Tensor] = [:]
        let relu41 = AdaINArchitecture.styleLayers.last!
        let features = tape.outputs[relu41]!
        values.content = Double(contentWeight) * Double(MSELoss.forward(features, targets.t))
        if gradient {
            let d = Tensor(shape: features.shape)
            MSELoss.backward(features, targets.t, dLoss: contentWeight, da: d, db: nil)
            gradients[relu41] = d
        }
        for name in AdaINArchitecture.styleLayers {
            let f = tape.outputs[name]!
            let (mean, std) = ChannelMoments.forward(f)
            let target = targets.styleMoments[name]!
            values.style += Double(styleWeight) * (Double(MSELoss.forward(mean, target.mean)) + Double(MSELoss.forward(std, target.std)))
            guard gradient else { continue }
            let dMean = Tensor(shape: mean.shape), dStd = Tensor(shape: std.shape)
            MSELoss.backward(mean, target.mean, dLoss: styleWeight, da: dMean, db: nil)
            MSELoss.backward(std, target.std, dLoss: styleWeight, da: dStd, db: nil)
            let df = gradients[name] ?? Tensor(shape: f.shape)
            ChannelMoments.backward(f, mean: mean, std: std, dMean: dMean, dStd: dStd, dx: df)
            gradients[name] = df
        }
        guard gradient else { return (values, nil) }
        return (values, AdaINNetwork.Training.backward(tape, gradients: gradients, encoder, needInput: true))
    }
}
