#!/usr/bin/env python3
"""Makes docs/images/masks.jpg: a photo, its two masks, and `pastiche stylize --masks` of it.

The masks are derived from the photo (docs/images/summer_palace.jpg): "sky and water" is the
bright, low-saturation, smooth part; "the rest" is its complement. Needs numpy and Pillow.

  scripts/masks-figure.py --binary .build/release/pastiche [--out docs/images/masks.jpg]
"""
import argparse, os, subprocess, tempfile
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--binary", required=True)
ap.add_argument("--out", default=os.path.join(root, "docs/images/masks.jpg"))
args = ap.parse_args()

photo_path = os.path.join(root, "docs/images/summer_palace.jpg")
photo = Image.open(photo_path).convert("RGB")
rgb = np.asarray(photo, np.float32) / 255
bright = rgb.mean(axis=2)
saturation = rgb.max(axis=2) - rgb.min(axis=2)
# Local contrast: the sky and the lake are smooth, leaves and roof tiles are not. (Padded by edge
# copies: FIND_EDGES would see a step at the frame's border.)
pad = 8
grey = Image.fromarray(np.pad((bright * 255).astype(np.uint8), pad, mode="edge"))
edges = np.asarray(grey.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.BoxBlur(4)), np.float32)[pad:-pad, pad:-pad] / 255
sky = (bright > 0.62) & (saturation < 0.22) & (edges < 0.05)
# Median, then close small holes (padded again, for the same reason).
mask = Image.fromarray(np.pad((sky * 255).astype(np.uint8), pad, mode="edge")).filter(ImageFilter.MedianFilter(9))
mask = mask.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.MinFilter(5))
mask = mask.crop((pad, pad, mask.width - pad, mask.height - pad))
rest = Image.fromarray(255 - np.asarray(mask))

with tempfile.TemporaryDirectory() as tmp:
    sky_path, rest_path, out_path = (os.path.join(tmp, n) for n in ("sky.png", "rest.png", "out.png"))
    mask.save(sky_path); rest.save(rest_path)
    subprocess.run([args.binary, "stylize", photo_path,
                    "--styles", os.path.join(root, "styles/s01_vangogh_starry_night.jpg") + "," +
                                os.path.join(root, "styles/s03_hokusai_great_wave.png"),
                    "--masks", sky_path + "," + rest_path, "--feather", "12", "-o", out_path], check=True)
    result = Image.open(out_path).convert("RGB")

w, h = photo.size
tile = (w // 2, h // 2)
label_h = 22
sheet = Image.new("RGB", (tile[0] * 4, tile[1] + label_h), "white")
draw = ImageDraw.Draw(sheet)
for i, (img, text) in enumerate([(photo, "photo"), (mask.convert("RGB"), "mask 1: Van Gogh"),
                                 (rest.convert("RGB"), "mask 2: Hokusai"), (result, "--masks, --feather 12")]):
    sheet.paste(img.resize(tile, Image.LANCZOS), (i * tile[0], label_h))
    draw.text((i * tile[0] + 6, 5), text, fill="black")
sheet.save(args.out, quality=90)
print(f"wrote {args.out} ({sheet.size[0]}x{sheet.size[1]})")
