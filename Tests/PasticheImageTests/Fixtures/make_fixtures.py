#!/usr/bin/env python3
"""Generates the PasticheImageTests fixtures. Run from anywhere:

    python3 Tests/PasticheImageTests/Fixtures/make_fixtures.py

Needs numpy and Pillow (used only here; the Swift tests read the committed outputs).

PNG variants are written by the small PNG writer below (so 16-bit RGB, grey+alpha, palette+tRNS
and Adam7 interlacing are all under our control); their expected pixels are computed from the
ground-truth arrays: 8-bit = round(v16 / 65535 * 255), low bit depths scaled to 8 bit, alpha
composited onto WHITE: round((c/255 * a/255 + (1 - a/255)) * 255).

JPEG variants are written by Pillow; their expected pixels are Pillow's decode followed by
ImageOps.exif_transpose and convert("RGB"). CMYK JPEGs are written by Pillow with an Adobe
APP14 marker (inverted CMYK).

Each expected image is stored as a binary PPM (P6, 8-bit RGB) next to the fixture:
NAME.<ext> -> NAME.expected.ppm. Real photos copied from /work/shared/images get a compact
summary in real_expected.json instead (size, per-channel mean, sampled pixels from Pillow).
"""
import io
import json
import os
import shutil
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = "/work/shared/images"
W, H = 64, 48
rng = np.random.default_rng(1234)


# ----------------------------------------------------------------------------- PNG writer
def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_rows(arr, depth):
    """arr: (h, w, c) integer samples -> list of raw scanline bytes (no filter byte)."""
    h, w, c = arr.shape
    rows = []
    for y in range(h):
        row = arr[y].reshape(-1)
        if depth == 16:
            rows.append(row.astype(">u2").tobytes())
        elif depth == 8:
            rows.append(row.astype(np.uint8).tobytes())
        else:  # 1, 2, 4 bits, c == 1
            per = 8 // depth
            out = bytearray((len(row) * depth + 7) // 8)
            for i, v in enumerate(row):
                out[i // per] |= int(v) << (8 - depth * (i % per + 1))
            rows.append(bytes(out))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, arr, color_type, depth, palette=None, trns=None, interlace=False, extra_chunks=()):
    if arr.ndim == 2:
        arr = arr[:, :, None]
    h, w, _ = arr.shape
    raw = bytearray()
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            for r in pack_rows(sub, depth):
                raw += b"\x00" + r
    else:
        for r in pack_rows(arr, depth):
            raw += b"\x00" + r
    data = b"\x89PNG\r\n\x1a\n"
    data += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0))
    for kind, body in extra_chunks:
        data += chunk(kind, body)
    if palette is not None:
        data += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        data += chunk(b"tRNS", trns)
    data += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    data += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def write_ppm(path, rgb8):
    rgb8 = np.asarray(rgb8, dtype=np.uint8)
    h, w, _ = rgb8.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(rgb8.tobytes())


def over_white(rgb, alpha):
    """rgb, alpha: float arrays in [0, 1] -> uint8 composited on white."""
    out = rgb * alpha[..., None] + (1.0 - alpha[..., None])
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def to8(v, maxv):
    return np.round(v.astype(np.float64) / maxv * 255).astype(np.uint8)


# ----------------------------------------------------------------------------- base image
def base_image():
    """An asymmetric 64x48 RGB8 test card: smooth gradients, a red top-left block, a green bar
    along the top edge, a blue block bottom-right, a white diagonal line (all 8-px aligned so
    JPEG stays clean)."""
    y, x = np.mgrid[0:H, 0:W]
    img = np.zeros((H, W, 3), dtype=np.float64)
    img[..., 0] = 40 + 120 * x / (W - 1)
    img[..., 1] = 60 + 100 * y / (H - 1)
    img[..., 2] = 90 + 50 * np.sin(x / 7.0) * np.cos(y / 5.0)
    img[0:16, 0:16] = (230, 30, 30)
    img[0:8, 16:64] = (30, 200, 60)
    img[32:48, 48:64] = (20, 40, 220)
    for i in range(24, 40):
        img[i, i - 8] = (255, 255, 255)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def check_close(name, a, b, tol):
    d = np.abs(a.astype(int) - b.astype(int)).max()
    assert d <= tol, f"{name}: PIL cross-check differs by {d}"


def png_variants(base):
    y, x = np.mgrid[0:H, 0:W]
    out = {}

    # 16-bit RGB: full-range ramps with low bytes that matter.
    rgb16 = np.stack([
        (x * 65535 // (W - 1)),
        (y * 65535 // (H - 1)),
        ((x * 977 + y * 1553) * 37) % 65536,
    ], axis=-1).astype(np.uint16)
    write_png(f"{HERE}/png_rgb16.png", rgb16, 2, 16)
    out["png_rgb16"] = to8(rgb16, 65535)

    # 16-bit RGBA.
    a16 = ((x + y) * 65535 // (W + H - 2)).astype(np.uint16)
    rgba16 = np.concatenate([rgb16, a16[..., None]], axis=-1)
    write_png(f"{HERE}/png_rgba16.png", rgba16, 6, 16)
    out["png_rgba16"] = over_white(rgb16 / 65535.0, a16 / 65535.0)

    # 16-bit grey.
    g16 = ((x * 1031 + y * 877) * 13 % 65536).astype(np.uint16)
    write_png(f"{HERE}/png_grey16.png", g16, 0, 16)
    g8 = to8(g16, 65535)
    out["png_grey16"] = np.stack([g8] * 3, axis=-1)

    # 4-bit grey (low bit depth expansion: v * 17).
    g4 = ((x // 4 + y // 3) % 16).astype(np.uint8)
    write_png(f"{HERE}/png_grey4.png", g4, 0, 4)
    out["png_grey4"] = np.stack([g4 * 17] * 3, axis=-1).astype(np.uint8)

    # 8-bit grey with a tRNS colour key (value 100 is fully transparent -> white).
    g = ((x * 3 + y * 2) % 256).astype(np.uint8)
    g[10:20, 10:20] = 100
    write_png(f"{HERE}/png_grey_trns.png", g, 0, 8, trns=struct.pack(">H", 100))
    e = np.stack([g] * 3, axis=-1).copy()
    e[g == 100] = 255
    out["png_grey_trns"] = e

    # grey + alpha, 8 bit.
    ga = np.stack([(x * 4) % 256, (y * 5 + x) % 256], axis=-1).astype(np.uint8)
    write_png(f"{HERE}/png_grey_alpha.png", ga, 4, 8)
    gf = ga[..., 0] / 255.0
    out["png_grey_alpha"] = over_white(np.stack([gf] * 3, axis=-1), ga[..., 1] / 255.0)

    # RGBA 8 bit (base image with an alpha ramp).
    alpha = ((x * 255) // (W - 1)).astype(np.uint8)
    rgba = np.concatenate([base, alpha[..., None]], axis=-1)
    write_png(f"{HERE}/png_rgba.png", rgba, 6, 8)
    out["png_rgba"] = over_white(base / 255.0, alpha / 255.0)

    # Palette with tRNS (partial alphas), 8-bit indices.
    palette = rng.integers(0, 256, size=(32, 3))
    trns = bytes([255 if i % 4 == 0 else (i * 8) % 256 for i in range(32)])
    idx = ((x // 2 + y // 3) % 32).astype(np.uint8)
    write_png(f"{HERE}/png_palette_trns.png", idx, 3, 8, palette=palette, trns=trns)
    pal_a = np.frombuffer(trns, dtype=np.uint8).astype(np.float64) / 255.0
    out["png_palette_trns"] = over_white(palette[idx] / 255.0, pal_a[idx])

    # Adam7 interlaced RGB 8 bit (odd size to exercise partial passes).
    inter = base[:45, :61]
    write_png(f"{HERE}/png_interlaced.png", inter, 2, 8, interlace=True)
    out["png_interlaced"] = inter.copy()

    # Cross-check the writer with Pillow (Pillow truncates 16-bit samples to 8 bits, hence 2 for those; 1 otherwise).
    for name, exp in out.items():
        im = Image.open(f"{HERE}/{name}.png")
        im.load()
        if im.mode in ("I;16", "I;16B", "I"):
            pil = np.stack([to8(np.asarray(im), 65535)] * 3, axis=-1)
        elif "A" in im.getbands() or "transparency" in im.info:
            rgba = np.asarray(im.convert("RGBA")).astype(np.float64) / 255.0
            pil = over_white(rgba[..., :3], rgba[..., 3])
        else:
            pil = np.asarray(im.convert("RGB"))
        check_close(name, pil, exp, 2 if "16" in name else 1)
    for name, exp in out.items():
        write_ppm(f"{HERE}/{name}.expected.ppm", exp)


def exif_bytes(orientation, big_endian):
    if big_endian:
        tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
        tiff += struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    else:
        tiff = b"II\x2a\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
        tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    return b"Exif\x00\x00" + tiff


def pil_expected(path):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "P"):
        rgba = np.asarray(im.convert("RGBA")).astype(np.float64) / 255.0
        return over_white(rgba[..., :3], rgba[..., 3])
    return np.asarray(im.convert("RGB"))


def jpeg_variants(base):
    im = Image.fromarray(base, "RGB")
    files = {
        "jpeg_baseline.jpg": lambda p: im.save(p, quality=90),
        "jpeg_progressive.jpg": lambda p: im.save(p, quality=90, progressive=True),
        "jpeg_grey.jpg": lambda p: im.convert("L").save(p, quality=90),
        "jpeg_cmyk.jpg": lambda p: im.convert("CMYK").save(p, quality=95),
    }
    for o in range(1, 9):
        # Odd orientations get big-endian ("MM") EXIF, even ones little-endian ("II").
        files[f"jpeg_orient{o}.jpg"] = (lambda o: lambda p: im.save(
            p, quality=95, subsampling=0, exif=exif_bytes(o, big_endian=(o % 2 == 1))))(o)
    # A PNG carrying an eXIf chunk (orientation 6), as Pillow writes it.
    files["png_exif6.png"] = lambda p: im.save(p, exif=exif_bytes(6, big_endian=False))
    for name, make in files.items():
        path = f"{HERE}/{name}"
        make(path)
        stem = name.rsplit(".", 1)[0]
        write_ppm(f"{HERE}/{stem}.expected.ppm", pil_expected(path))
    # The CMYK fixture must really be Adobe CMYK.
    with open(f"{HERE}/jpeg_cmyk.jpg", "rb") as f:
        assert b"Adobe" in f.read(), "Pillow did not write an Adobe APP14 marker"


REAL = [
    ("photos/p07_summer_palace_china.jpg", "real_summer_palace.jpg"),
    ("photos/p04_chelsea_cat.png", "real_chelsea_cat.png"),
    ("textures/t01_brick_gray.png", "real_brick_gray.png"),
]


def real_files():
    summary = {}
    for src, dst in REAL:
        shutil.copyfile(f"{SHARED}/{src}", f"{HERE}/{dst}")
        rgb = pil_expected(f"{HERE}/{dst}")
        h, w, _ = rgb.shape
        pts = [(int(px), int(py)) for px, py in zip(rng.integers(0, w, 24), rng.integers(0, h, 24))]
        summary[dst] = {
            "width": w,
            "height": h,
            "mean": [float(rgb[..., c].mean() / 255.0) for c in range(3)],
            "samples": [{"x": px, "y": py, "rgb": [int(v) for v in rgb[py, px]]} for px, py in pts],
        }
    with open(f"{HERE}/real_expected.json", "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    base = base_image()
    write_ppm(f"{HERE}/base.ppm", base)
    png_variants(base)
    jpeg_variants(base)
    real_files()
    print("fixtures written to", HERE)
