#!/usr/bin/env python3
"""The reference side of ExportTests: onnx.checker and onnxruntime on graphs `pastiche model
export` wrote, and numpy.load on `embed export --format npz`.

  ort_run.py check MODEL.onnx                      -> JSON: opset, ir_version, inputs, outputs, metadata
  ort_run.py run MODEL.onnx OUT.npy NAME=IN.npy... -> runs the graph (CPU), saves its first output
  ort_run.py npz FILE.npz                          -> JSON: every array, as lists (float32 exact in JSON)
"""
import json
import sys

import numpy as np


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check(path):
    import onnx
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    print(json.dumps({
        "ir_version": model.ir_version,
        "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")],
        "producer": model.producer_name,
        "inputs": {v.name: dims(v) for v in model.graph.input},
        "outputs": {v.name: dims(v) for v in model.graph.output},
        "metadata": {p.key: p.value for p in model.metadata_props},
    }))


def run(path, out, feeds):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    inputs = {}
    for feed in feeds:
        name, file = feed.split("=", 1)
        inputs[name] = np.load(file)
    result = session.run(None, inputs)[0]
    np.save(out, np.ascontiguousarray(result.astype(np.float32)))


def npz(path):
    with np.load(path) as archive:
        print(json.dumps({k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": v.tolist()}
                          for k, v in archive.items()}))


if __name__ == "__main__":
    verb = sys.argv[1]
    if verb == "check":
        check(sys.argv[2])
    elif verb == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif verb == "npz":
        npz(sys.argv[2])
    else:
        sys.exit(f"unknown verb {verb}")
