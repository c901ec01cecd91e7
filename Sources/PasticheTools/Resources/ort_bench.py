#!/usr/bin/env python3
"""onnxruntime's side of `pastiche bench`: times Magenta's two networks on the float graphs
(weight dequantization folded into float initializers, activation Q/DQ pairs bypassed: the same
network Pastiche computes), 2 threads, in the same run as Pastiche's side.

usage: ort_bench.py ONNX_DIRECTORY [VGG19.onnx]
Prints "ready", then answers each "CASE RUNS" line on stdin (CASE: predict_256, transfer_SIZE, or
vgg_SIZE with the exported VGG-19 of `pastiche model export --vgg`) with a JSON list of
milliseconds, one per run.
"""
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
def plain(path):
    o = ort.SessionOptions(); o.intra_op_num_threads = 2; o.inter_op_num_threads = 1
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
d = sys.argv[1]
vgg = plain(sys.argv[2]) if len(sys.argv) > 2 else None
rng = np.random.default_rng(0); x = rng.random((1, 256, 256, 3), dtype=np.float32)
contents = {}
if vgg is None:
    p = sess(d + "/arbitrary_predict.onnx"); t = sess(d + "/arbitrary_transform.onnx")
    e = p.run(None, {"style_image": x})[0]; en = t.get_inputs()[1].name
def case(name):
    if name.startswith("vgg_"):
        s = int(name.split("_")[1])
        v = contents.setdefault(("vgg", s), (rng.random((1, 3, s, s), dtype=np.float32) * 255 - 120).astype(np.float32))
        return lambda: vgg.run(None, {"vgg_input": v})
    if name == "predict_256": return lambda: p.run(None, {"style_image": x})
    s = int(name.split("_")[1])
    c = contents.setdefault(s, rng.random((1, s, s, 3), dtype=np.float32))
    return lambda: t.run(None, {"content_image": c, en: e})
print("ready", flush=True)
for line in sys.stdin:
    name, n = line.split(); f = case(name); ts = []
    for _ in range(int(n)):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1000)
    print(json.dumps(ts), flush=True)
