import Foundation
import PasticheCore

/// Times the two networks (median of several runs after a warm-up) and, when python3 with
/// onnxruntime is installed, onnxruntime on the same shapes in the same run, so the ratio is
/// measured under the same machine load.
public enum Benchmark {
    public struct Case: Codable {
        public var name: String
        public var network: String
        public var size: Int
        public var gflop: Double
        public var pasticheMs: Double
        public var ortMs: Double?
        public var ratio: Double? { ortMs.map { pasticheMs / $0 } }
        public var gflops: Double { gflop / (pasticheMs / 1000) }
    }

    static func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func time(runs: Int, _ body: () -> Void) -> Double {
        body()  // warm-up: first-touch page faults, OpenBLAS thread start
        var samples: [Double] = []
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return median(samples)
    }

    static func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed
        let t = Tensor(shape: shape, zeroed: false)
        for i in 0..<t.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            t.data[i] = Float(state >> 40) / Float(1 << 24)
        }
        return t
    }

    /// `predictor: false` skips the predictor case, `transferSizes: []` the transfer cases (e.g.
    /// to profile one network). onnxruntime always runs Magenta's width-1 predictor.
    public static func run(stylizer: Stylizer, runs: Int, predictor: Bool = true, transferSizes: [Int] = [384, 1024],
                           onnxDirectory: String?, progress: (String) -> Void = { _ in }) -> [Case] {
        var cases: [Case] = []
        let style = randomTensor([1, 3, 256, 256], seed: 1)
        let embedding = stylizer.predictor(style)
        if predictor {
            progress("predictor 256²")
            let pms = time(runs: runs) { _ = stylizer.predictor(style) }
            cases.append(Case(name: "predict_256", network: "predictor", size: 256,
                              gflop: stylizer.predictor.architecture.flops(h: 256, w: 256) / 1e9, pasticheMs: pms))
        }
        for size in transferSizes {
            progress("transfer \(size)²")
            let content = randomTensor([1, 3, size, size], seed: UInt64(size))
            let tms = time(runs: size >= 1024 ? max(3, runs / 2) : runs) { _ = stylizer.transfer(content, embedding: embedding) }
            cases.append(Case(name: "transfer_\(size)", network: "transfer", size: size,
                              gflop: TransferNetwork.flops(h: size, w: size) / 1e9, pasticheMs: tms))
        }
        if let onnxDirectory, let ort = onnxRuntimeTimes(onnxDirectory: onnxDirectory, runs: runs, sizes: transferSizes) {
            for i in cases.indices { cases[i].ortMs = ort[cases[i].name] }
        }
        return cases
    }

    /// onnxruntime (2 threads) on the float graphs (weight dequantization folded, activation
    /// Q/DQ bypassed — the same network Pastiche computes). nil when python3 or onnxruntime is missing.
    static func onnxRuntimeTimes(onnxDirectory: String, runs: Int, sizes: [Int]) -> [String: Double]? {
        let script = """
            import json, sys, time
            import numpy as np, onnx, onnxruntime as ort
            from onnx import helper, numpy_helper
            def fold(m):
                g = m.graph; inits = {t.name: t for t in g.initializer}; nodes = []; folded = {}
                for n in g.node:
                    if n.op_type == "DequantizeLinear" and n.input[0] in inits:
                        ax = next((a.i for a in n.attribute if a.name == "axis"), 1)
                        q = numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
                        s = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
                        z = numpy_helper.to_array(inits[n.input[2]]).astype(np.float32) if len(n.input) > 2 else np.zeros(())
                        if s.size > 1:
                            sh = [1] * q.ndim; sh[ax] = -1; s = s.reshape(sh); z = z.reshape(sh)
                        folded[n.output[0]] = ((q - z) * s).astype(np.float32); continue
                    if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
                        nodes.append(helper.make_node("Identity", [n.input[0]], [n.output[0]])); continue
                    nodes.append(n)
                used = {i for n in nodes for i in n.input}
                keep = [t for t in g.initializer if t.name in used and t.name not in folded]
                keep += [numpy_helper.from_array(a, k) for k, a in folded.items() if k in used]
                del g.node[:]; g.node.extend(nodes); del g.initializer[:]; g.initializer.extend(keep); del g.value_info[:]
                for v in list(g.input) + list(g.output):
                    d = v.type.tensor_type.shape.dim
                    if len(d) == 4 and d[3].dim_value == 3: d[1].dim_param = "H"; d[2].dim_param = "W"
                return m.SerializeToString()
            def sess(path):
                o = ort.SessionOptions(); o.intra_op_num_threads = 2; o.inter_op_num_threads = 1
                return ort.InferenceSession(fold(onnx.load(path)), o, providers=["CPUExecutionProvider"])
            def med(f, n):
                f(); ts = []
                for _ in range(n):
                    t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1000)
                ts.sort(); return ts[len(ts) // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2
            d, runs = sys.argv[1], int(sys.argv[2]); sizes = [int(s) for s in sys.argv[3].split(",") if s]
            p = sess(d + "/arbitrary_predict.onnx"); t = sess(d + "/arbitrary_transform.onnx")
            rng = np.random.default_rng(0); x = rng.random((1, 256, 256, 3), dtype=np.float32)
            e = p.run(None, {"style_image": x})[0]; en = t.get_inputs()[1].name
            out = {"predict_256": med(lambda: p.run(None, {"style_image": x}), runs)}
            for s in sizes:
                c = rng.random((1, s, s, 3), dtype=np.float32)
                out["transfer_%d" % s] = med(lambda: t.run(None, {"content_image": c, en: e}), max(3, runs // 2) if s >= 1024 else runs)
            print(json.dumps(out))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, onnxDirectory, String(runs), sizes.map(String.init).joined(separator: ",")]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let result = try? JSONSerialization.jsonObject(with: data) as? [String: Double] else { return nil }
        return result
    }
}
