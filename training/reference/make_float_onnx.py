#!/usr/bin/env python3
"""Turn an int8 QDQ ONNX graph into the float reference graph that Pastiche is compared against.

Rule (see ../shared notes and docs/engine.md):
  * DequantizeLinear whose data input is an initializer -> a float initializer
    computed exactly as ONNX defines it: (q - zero_point) * scale, per-tensor or
    per-axis.
  * every other QuantizeLinear / DequantizeLinear (activation fake-quantisation)
    -> Identity.
The result computes the same network in float32 without the int8 rounding of
activations, which is what Pastiche's float engine implements.

usage: make_float_onnx.py IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def dequantize(q, scale, zero_point, axis):
    q = q.astype(np.float32)
    zp = zero_point.astype(np.float32)
    if scale.ndim == 0 or scale.size == 1:
        return ((q - zp.reshape(())) * scale.reshape(())).astype(np.float32)
    shape = [1] * q.ndim
    shape[axis] = -1
    return ((q - zp.reshape(shape)) * scale.reshape(shape)).astype(np.float32)


def fold(model):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    arrays = {}
    new_nodes = []
    folded = {}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits:
            axis = 1
            for a in n.attribute:
                if a.name == "axis":
                    axis = a.i
            q = numpy_helper.to_array(inits[n.input[0]])
            s = numpy_helper.to_array(inits[n.input[1]])
            zp = numpy_helper.to_array(inits[n.input[2]]) if len(n.input) > 2 and n.input[2] else np.zeros((), np.int8)
            folded[n.output[0]] = dequantize(q, s, zp, axis if axis >= 0 else q.ndim + axis)
            continue
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            new_nodes.append(helper.make_node("Identity", [n.input[0]], [n.output[0]], name=n.name))
            continue
        new_nodes.append(n)
    used = {i for n in new_nodes for i in n.input}
    kept = [t for t in g.initializer if t.name in used and t.name not in folded]
    kept += [numpy_helper.from_array(a, name) for name, a in folded.items() if name in used]
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(kept)
    del g.value_info[:]
    return model


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_float_onnx.py IN.onnx OUT.onnx")
    model = fold(onnx.load(sys.argv[1]))
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])


if __name__ == "__main__":
    main()
