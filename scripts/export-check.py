#!/usr/bin/env python3
"""How exactly onnxruntime on `pastiche model export`'s graphs reproduces Pastiche, following
docs/export.md's Python example, with the style image prepared two ways: by
`pastiche image convert --style-input` (Pastiche's own resize, as the predictor sees it) and by
PIL's bicubic resize. Prints the embeddings' relative difference from Pastiche's and the
largest difference of the painted pixels, in 8-bit levels.

    python3 scripts/export-check.py --binary .build/release/pastiche [--style S] [--photo P]
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import onnxruntime as ort
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("--binary", required=True)
ap.add_argument("--style", default="styles/s03_hokusai_great_wave.png")
ap.add_argument("--photo", default="docs/images/chelsea_cat.png")
a = ap.parse_args()
work = tempfile.mkdtemp(prefix="pastiche-export-check-")
run = lambda *args: subprocess.run([a.binary, *args], check=True, capture_output=True)

run("model", "export", "-o", work + "/")
lib = work + "/library"
run("embed", "add", a.style, "--name", "s", "--library", lib)
run("embed", "export", work + "/styles.npz", "--library", lib)
reference_embedding = np.load(work + "/styles.npz")["embeddings"][0]
run("stylize", "--style-image", a.style, a.photo, "--stroke-scale", "native", "-o", work + "/pastiche.png")
reference = np.asarray(Image.open(work + "/pastiche.png").convert("RGB"), np.int16)

def load(path, size=None):
    img = Image.open(path).convert("RGB")
    if size:
        s = size / min(img.size)
        img = img.resize((round(img.width * s), round(img.height * s)), Image.BICUBIC)
        l, t = (img.width - size) // 2, (img.height - size) // 2
        img = img.crop((l, t, l + size, t + size))
    return np.asarray(img, np.float32)[None] / 255.0

predictor = ort.InferenceSession(work + "/predictor.onnx")
transfer = ort.InferenceSession(work + "/transfer.onnx")
run("image", "convert", a.style, work + "/style-input.png", "--style-input")
photo = load(a.photo)
for how, style_input in [("image convert --style-input", load(work + "/style-input.png")),
                         ("PIL bicubic", load(a.style, 256))]:
    e = predictor.run(None, {"style_image": style_input})[0]
    rel = np.linalg.norm(e[0] - reference_embedding) / np.linalg.norm(reference_embedding)
    out = transfer.run(None, {"content_image": photo, "style_embedding": e.astype(np.float32)})[0]
    pixels = (out[0] * 255 + 0.5).clip(0, 255).astype(np.int16)
    print(f"{how:28s} embedding off by {100 * rel:.3f} %, pixels up to {np.abs(pixels - reference).max()} levels "
          f"(mean {np.abs(pixels - reference).mean():.3f})")
