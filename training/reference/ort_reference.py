#!/usr/bin/env python3
"""Reference outputs from onnxruntime for Pastiche's parity tests.

For each style image: the 256x256 predictor input (PIL: shortest side 256 with LANCZOS, centre
crop) and the embeddings of the float graph and of the original int8 QDQ graph. For each photo
and size: the content input (PIL LANCZOS resize) and the transfer outputs of both graphs, using
the float embedding of the first style. Everything is raw little-endian float32 in NCHW order,
plus index.json describing files and shapes. The Swift tests read the same inputs, so the
comparison is network against network, not resampler against resampler.

usage: ort_reference.py --models DIR --out DIR --styles A.jpg B.png ... --photos P.jpg ...
"""
import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_float_onnx  # noqa: E402
import onnx  # noqa: E402


def load_rgb(path):
    im = Image.open(path)
    from PIL import ImageOps
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert("RGB")


def style_input(path, size=256):
    im = load_rgb(path)
    w, h = im.size
    s = size / min(w, h)
    im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.LANCZOS)
    w, h = im.size
    left, top = (w - size) // 2, (h - size) // 2
    im = im.crop((left, top, left + size, top + size))
    return np.asarray(im, dtype=np.float32)[None] / 255.0  # NHWC


def content_input(path, width, height):
    im = load_rgb(path).resize((width, height), Image.LANCZOS)
    return np.asarray(im, dtype=np.float32)[None] / 255.0


def float_graph(path, dynamic):
    model = make_float_onnx.fold(onnx.load(path))
    if dynamic:
        for v in list(model.graph.input) + list(model.graph.output):
            dims = v.type.tensor_type.shape.dim
            if len(dims) == 4 and dims[3].dim_value == 3:
                dims[1].dim_param = "H"
                dims[2].dim_param = "W"
    return model.SerializeToString()


def session(model_bytes_or_path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(model_bytes_or_path, opts, providers=["CPUExecutionProvider"])


def save(out, name, array, index):
    nchw = np.ascontiguousarray(array.transpose(0, 3, 1, 2)) if array.ndim == 4 and array.shape[-1] == 3 else array
    nchw.astype("<f4").tofile(os.path.join(out, name))
    index[name] = list(nchw.shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--styles", nargs="+", required=True)
    ap.add_argument("--photos", nargs="+", required=True)
    ap.add_argument("--sizes", nargs="+", default=["384x384", "452x300"])
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    p_path = os.path.join(a.models, "arbitrary_predict.onnx")
    t_path = os.path.join(a.models, "arbitrary_transform.onnx")
    pf, pq = session(float_graph(p_path, False)), session(p_path)
    tf, tq = session(float_graph(t_path, True)), session(t_path)
    emb_name = tf.get_inputs()[1].name
    index = {"styles": [], "photos": [], "shapes": {}}
    shapes = index["shapes"]
    first_embedding = None
    for i, path in enumerate(a.styles):
        x = style_input(path)
        ef = pf.run(None, {"style_image": x})[0].reshape(1, 100, 1, 1)
        eq = pq.run(None, {"style_image": x})[0].reshape(1, 100, 1, 1)
        save(a.out, f"style{i}.input", x, shapes)
        save(a.out, f"style{i}.embedding.float", ef, shapes)
        save(a.out, f"style{i}.embedding.int8", eq, shapes)
        index["styles"].append({"file": os.path.basename(path), "prefix": f"style{i}"})
        if first_embedding is None:
            first_embedding = ef
    nhwc_embedding = first_embedding.reshape(1, 1, 1, 100)
    for i, path in enumerate(a.photos):
        for size in a.sizes:
            w, h = map(int, size.split("x"))
            c = content_input(path, w, h)
            yf = tf.run(None, {"content_image": c, emb_name: nhwc_embedding})[0]
            prefix = f"photo{i}.{w}x{h}"
            save(a.out, f"{prefix}.input", c, shapes)
            save(a.out, f"{prefix}.output.float", yf, shapes)
            if (w, h) == (384, 384):  # the int8 graph has a static 384x384 input
                yq = tq.run(None, {"content_image": c, emb_name: nhwc_embedding})[0]
                save(a.out, f"{prefix}.output.int8", yq, shapes)
            index["photos"].append({"file": os.path.basename(path), "prefix": prefix, "width": w, "height": h})
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"reference outputs written to {a.out}")


if __name__ == "__main__":
    main()
