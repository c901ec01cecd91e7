import PasticheCore

/// AdaIN's networks (Huang & Belongie 2017), as naoto0804/pytorch-AdaIN defines them (`net.py`):
///
/// - **Encoder:** the normalised VGG-19 up to relu4_1. A leading 1×1 conv does the
///   preprocessing (its weights take [0, 1] RGB to mean-subtracted 0–255 BGR), then 3×3 convs
///   with reflection padding by 1, ReLU after each, and 2×2 max pooling in ceil mode between
///   blocks. Its relu1_1, relu2_1, relu3_1 and relu4_1 outputs feed the style loss.
/// - **Decoder:** the encoder's mirror from relu4_1 back to RGB: reflection padding, 3×3 convs,
///   ReLU after all but the last, nearest ×2 upsampling where the encoder pooled, and no
///   normalisation.
///
/// The one description both the inference forward and the import follow. Each layer keeps the
/// index it has in the authors' `nn.Sequential`, whose `state_dict` keys are "INDEX.weight" and
/// "INDEX.bias" (`docs/adain.md` has the table).
public enum AdaINArchitecture {
    public struct Layer: Sendable, Equatable {
        /// Dotted Pastiche name, e.g. "adain.encoder.conv3_1".
        public let name: String
        /// The layer's index in the authors' `nn.Sequential` (vgg_normalised.pth, decoder.pth).
        public let sequentialIndex: Int
        public let inChannels: Int
        public let outChannels: Int
        public let kernel: Int
        /// Encoder: a 2×2 ceil-mode max pool before the conv. Decoder: a nearest ×2 upsampling.
        public let resampleBefore: Bool
        public let relu: Bool

        /// Reflection padding by k/2 (none for the 1×1 preprocessing conv).
        public var geometry: ConvGeometry {
            ConvGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: 1, padding: .same(kernel / 2))
        }
        public var weightName: String { name + ".weight" }
        public var biasName: String { name + ".bias" }
    }

    /// The feature width AdaIN works at (relu4_1), and so the style statistics' size: a mean
    /// and a standard deviation per channel.
    public static let featureChannels = 512
    /// A style is the mean and std of relu4_1: 1024 values.
    public static let styleSize = 2 * featureChannels

    public static let encoder: [Layer] = [
        Layer(name: "adain.encoder.preprocess", sequentialIndex: 0, inChannels: 3, outChannels: 3, kernel: 1, resampleBefore: false, relu: false),
        Layer(name: "adain.encoder.conv1_1", sequentialIndex: 2, inChannels: 3, outChannels: 64, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.encoder.conv1_2", sequentialIndex: 5, inChannels: 64, outChannels: 64, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.encoder.conv2_1", sequentialIndex: 9, inChannels: 64, outChannels: 128, kernel: 3, resampleBefore: true, relu: true),
        Layer(name: "adain.encoder.conv2_2", sequentialIndex: 12, inChannels: 128, outChannels: 128, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.encoder.conv3_1", sequentialIndex: 16, inChannels: 128, outChannels: 256, kernel: 3, resampleBefore: true, relu: true),
        Layer(name: "adain.encoder.conv3_2", sequentialIndex: 19, inChannels: 256, outChannels: 256, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.encoder.conv3_3", sequentialIndex: 22, inChannels: 256, outChannels: 256, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.encoder.conv3_4", sequentialIndex: 25, inChannels: 256, outChannels: 256, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.encoder.conv4_1", sequentialIndex: 29, inChannels: 256, outChannels: 512, kernel: 3, resampleBefore: true, relu: true),
    ]

    /// The encoder layers whose ReLU outputs the style loss reads (relu1_1 … relu4_1).
    public static let styleLayers = ["adain.encoder.conv1_1", "adain.encoder.conv2_1", "adain.encoder.conv3_1", "adain.encoder.conv4_1"]

    public static let decoder: [Layer] = [
        Layer(name: "adain.decoder.conv4_1", sequentialIndex: 1, inChannels: 512, outChannels: 256, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.decoder.conv3_4", sequentialIndex: 5, inChannels: 256, outChannels: 256, kernel: 3, resampleBefore: true, relu: true),
        Layer(name: "adain.decoder.conv3_3", sequentialIndex: 8, inChannels: 256, outChannels: 256, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.decoder.conv3_2", sequentialIndex: 11, inChannels: 256, outChannels: 256, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.decoder.conv3_1", sequentialIndex: 14, inChannels: 256, outChannels: 128, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.decoder.conv2_2", sequentialIndex: 18, inChannels: 128, outChannels: 128, kernel: 3, resampleBefore: true, relu: true),
        Layer(name: "adain.decoder.conv2_1", sequentialIndex: 21, inChannels: 128, outChannels: 64, kernel: 3, resampleBefore: false, relu: true),
        Layer(name: "adain.decoder.conv1_2", sequentialIndex: 25, inChannels: 64, outChannels: 64, kernel: 3, resampleBefore: true, relu: true),
        Layer(name: "adain.decoder.conv1_1", sequentialIndex: 28, inChannels: 64, outChannels: 3, kernel: 3, resampleBefore: false, relu: false),
    ]

    /// Every parameter, name → shape.
    public static var parameters: [(String, [Int])] {
        (encoder + decoder).flatMap { l in [(l.weightName, l.geometry.weightShape), (l.biasName, [l.outChannels])] }
    }

    /// Spatial sizes the decoder gives back exactly: three poolings and three ×2 upsamplings.
    public static let sizeMultiple = 8
}
