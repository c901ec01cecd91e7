#!/usr/bin/env python3
"""AdaIN weight files in the authors' format, without torch, and an independent forward.

`write OUT [--format zip|legacy] [--seed N]` writes OUT/vgg_normalised.pth and OUT/decoder.pth:
the `state_dict`s of naoto0804/pytorch-AdaIN's `vgg` and `decoder` `nn.Sequential`s (keys
"INDEX.weight", "INDEX.bias", float32), with random He-scaled weights, plus
OUT/reference.safetensors holding the same arrays under Pastiche's names.

The files are built from the formats' specification with the standard library: pickle protocol 2
whose tensors reduce through `torch._utils._rebuild_tensor_v2` and whose storages are persistent
ids ('storage', torch.FloatStorage, key, 'cpu', numel), exactly what torch.save pickles; then
either torch >= 1.6's zip archive (stored entries archive/data.pkl, archive/data/KEY,
archive/version, archive/byteorder) or the legacy stream (magic number, protocol 1001, sys_info,
the pickle, the sorted storage keys, each storage as an int64 count and its bytes). torch aligns
zip storages to 64 bytes with padding in the local headers; this writer does not, and nothing in
the format depends on it.

`forward MODEL_DIR CONTENT STYLE OUT.npy [--alpha A]` runs AdaIN in float64 numpy (reflection
padding, convolution, ceil-mode max pooling, nearest upsampling, the unbiased-variance AdaIN of
naoto0804's `adaptive_instance_normalization`) on two raw float32 NCHW files and writes the
result: the independent reference the tests hold Pastiche's forward to.
"""
import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

# Layers as naoto0804/pytorch-AdaIN's net.py numbers them: (index, in, out, kernel, name).
ENCODER = [(0, 3, 3, 1, "preprocess"), (2, 3, 64, 3, "conv1_1"), (5, 64, 64, 3, "conv1_2"),
           (9, 64, 128, 3, "conv2_1"), (12, 128, 128, 3, "conv2_2"), (16, 128, 256, 3, "conv3_1"),
           (19, 256, 256, 3, "conv3_2"), (22, 256, 256, 3, "conv3_3"), (25, 256, 256, 3, "conv3_4"),
           (29, 256, 512, 3, "conv4_1")]
# The real vgg_normalised.pth goes on to relu5_4; one more layer shows the import ignores them.
ENCODER_EXTRA = [(32, 512, 512, 3)]
POOL_BEFORE = {"conv2_1", "conv3_1", "conv4_1"}
DECODER = [(1, 512, 256, "conv4_1"), (5, 256, 256, "conv3_4"), (8, 256, 256, "conv3_3"), (11, 256, 256, "conv3_2"),
           (14, 256, 128, "conv3_1"), (18, 128, 128, "conv2_2"), (21, 128, 64, "conv2_1"), (25, 64, 64, "conv1_2"),
           (28, 64, 3, "conv1_1")]
UPSAMPLE_BEFORE = {"conv3_4", "conv2_2", "conv1_2"}


# --- torch's pickle, without torch -------------------------------------------------------------

def fake_torch():
    """Modules named torch and torch._utils holding what torch.save's pickle refers to."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass
    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("only for pickling")
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2, torch._utils = FloatStorage, _rebuild_tensor_v2, utils
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    return torch


class Storage:
    def __init__(self, key, array):
        self.key, self.array = key, array


class Tensor:
    """Pickles as torch pickles a contiguous float32 tensor."""

    def __init__(self, storage):
        self.storage = storage

    def __reduce_ex__(self, protocol):
        a = self.storage.array
        stride = tuple(int(s // 4) for s in a.strides)
        return (sys.modules["torch._utils"]._rebuild_tensor_v2,
                (self.storage, 0, tuple(a.shape), stride, False, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", sys.modules["torch"].FloatStorage, obj.key, "cpu", int(obj.array.size))
        return None


def state_dict(arrays):
    """An OrderedDict of tensors with the `_metadata` attribute a module's state_dict carries."""
    d = collections.OrderedDict()
    storages = []
    for i, (key, a) in enumerate(arrays.items()):
        s = Storage(str(i), np.ascontiguousarray(a, dtype="<f4"))
        storages.append(s)
        d[key] = Tensor(s)
    d._metadata = collections.OrderedDict([("", {"version": 1})])
    return d, storages


def pickled(obj):
    out = io.BytesIO()
    TorchPickler(out, protocol=2).dump(obj)
    return out.getvalue()


def write_zip(path, arrays):
    d, storages = state_dict(arrays)
    data = pickled(d)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data)
        z.writestr("archive/byteorder", "little")
        for s in storages:
            z.writestr(f"archive/data/{s.key}", s.array.tobytes())
        z.writestr("archive/version", "3\n")


def write_legacy(path, arrays):
    d, storages = state_dict(arrays)
    with open(path, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001,
                       {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}):
            pickle.dump(header, f, protocol=2)
        f.write(pickled(d))
        pickle.dump([s.key for s in storages], f, protocol=2)
        for s in storages:
            f.write(struct.pack("<q", s.array.size))
            f.write(s.array.tobytes())


def write_safetensors(path, named):
    header, blobs, offset = {}, [], 0
    for name, a in named.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write(out, fmt, seed):
    rng = np.random.default_rng(seed)
    fake_torch()

    def conv(cin, cout, k):
        w = rng.normal(0, (2.0 / (cin * k * k)) ** 0.5, (cout, cin, k, k)).astype("<f4")
        return w, rng.normal(0, 0.01, cout).astype("<f4")
    encoder, decoder, reference = collections.OrderedDict(), collections.OrderedDict(), {}
    for index, cin, cout, k, name in ENCODER:
        w, b = conv(cin, cout, k)
        if name == "preprocess":  # as vgg_normalised's: [0, 1] RGB to mean-subtracted 0-255 BGR
            w = np.zeros((3, 3, 1, 1), "<f4")
            for o in range(3):
                w[o, 2 - o, 0, 0] = 255
            b = -np.array([103.939, 116.779, 123.68], "<f4")
        elif name == "conv1_1":
            w = (w / 40).astype("<f4")  # it reads 0-255 input: bring its activations to order 1
        encoder[f"{index}.weight"], encoder[f"{index}.bias"] = w, b
        reference[f"adain.encoder.{name}.weight"], reference[f"adain.encoder.{name}.bias"] = w, b
    for index, cin, cout, k in ENCODER_EXTRA:
        encoder[f"{index}.weight"], encoder[f"{index}.bias"] = conv(cin, cout, k)
    for index, cin, cout, name in DECODER:
        w, b = conv(cin, cout, 3)
        if name == "conv1_1":  # paint around mid-grey with contrast, so outputs are not clamped or flat
            w, b = (w * 0.25).astype("<f4"), (b + 0.2).astype("<f4")
        decoder[f"{index}.weight"], decoder[f"{index}.bias"] = w, b
        reference[f"adain.decoder.{name}.weight"], reference[f"adain.decoder.{name}.bias"] = w, b
    writer = write_zip if fmt == "zip" else write_legacy
    writer(f"{out}/vgg_normalised.pth", encoder)
    writer(f"{out}/decoder.pth", decoder)
    write_safetensors(f"{out}/reference.safetensors", reference)


# --- the independent forward ---------------------------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(blob[a:b], "<f4").reshape(e["shape"]).astype(np.float64)
    return out


def conv2d(x, w, b, relu):
    k = w.shape[2]
    if k > 1:
        x = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    n, c, h, wd = x.shape
    oh, ow = h - k + 1, wd - k + 1
    cols = np.stack([x[:, :, i:i + oh, j:j + ow] for i in range(k) for j in range(k)], axis=2)  # n, c, k*k, oh, ow
    y = np.einsum("nckhw,ock->nohw", cols, w.reshape(w.shape[0], c, k * k)) + b[None, :, None, None]
    return np.maximum(y, 0) if relu else y


def pool_ceil(x):
    n, c, h, w = x.shape
    x = np.pad(x, ((0, 0), (0, 0), (0, h % 2), (0, w % 2)), constant_values=-np.inf)
    return x.reshape(n, c, x.shape[2] // 2, 2, x.shape[3] // 2, 2).max(axis=(3, 5))


def encode(p, x):
    for _, _, _, _, name in ENCODER:
        if name in POOL_BEFORE:
            x = pool_ceil(x)
        x = conv2d(x, p[f"adain.encoder.{name}.weight"], p[f"adain.encoder.{name}.bias"], relu=name != "preprocess")
    return x


def moments(f):
    n, c = f.shape[:2]
    v = f.reshape(n, c, -1)
    return v.mean(axis=2)[:, :, None, None], np.sqrt(v.var(axis=2, ddof=1) + 1e-5)[:, :, None, None]


def forward(model_dir, content_path, style_path, out_path, alpha):
    p = read_safetensors(f"{model_dir}/reference.safetensors")
    content, style = np.load(content_path).astype(np.float64), np.load(style_path).astype(np.float64)
    fc, fs = encode(p, content), encode(p, style)
    (mc, sc), (ms, ss) = moments(fc), moments(fs)
    t = alpha * (ss * (fc - mc) / sc + ms) + (1 - alpha) * fc
    for _, _, _, name in DECODER:
        if name in UPSAMPLE_BEFORE:
            t = t.repeat(2, axis=2).repeat(2, axis=3)
        t = conv2d(t, p[f"adain.decoder.{name}.weight"], p[f"adain.decoder.{name}.bias"], relu=name != "conv1_1")
    np.save(out_path, t[:, :, :content.shape[2], :content.shape[3]].astype(np.float32))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "write":
        fmt = a[a.index("--format") + 1] if "--format" in a else "zip"
        seed = int(a[a.index("--seed") + 1]) if "--seed" in a else 0
        write(a[1], fmt, seed)
    elif a and a[0] == "forward":
        alpha = float(a[a.index("--alpha") + 1]) if "--alpha" in a else 1.0
        forward(a[1], a[2], a[3], a[4], alpha)
    else:
        sys.exit(__doc__)
