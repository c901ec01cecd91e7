#!/usr/bin/env python3
"""docs/images/stroke-scale.jpg: one photo stylized at 512, 1024, 2048 and 4000 px on its long
side, with --stroke-scale native (top row: the network at full size, as before) and the default
stroke scale (bottom row), each shown at the same display size; and docs/images/stroke-scale-crop.jpg:
a 512-px crop of the 4000-px render, native | plain bicubic upscale of the 512-px render | default.

    scripts/stroke-scale-figure.py --binary .build/release/pastiche --photo P --style S [--out docs/images]
"""
import argparse, os, subprocess, tempfile
from PIL import Image, ImageDraw


def run(binary, *args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--photo", required=True)
    ap.add_argument("--style", required=True)
    ap.add_argument("--out", default="docs/images")
    ap.add_argument("--thumb", type=int, default=300)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="stroke-figure-")
    photo = Image.open(args.photo).convert("RGB")
    sizes = [512, 1024, 2048, 4000]
    rows = {"native": [], "1": []}
    for side in sizes:
        k = side / max(photo.size)
        src = os.path.join(work, f"photo-{side}.png")
        photo.resize((round(photo.size[0] * k), round(photo.size[1] * k)), Image.LANCZOS).save(src)
        for scale in rows:
            out = os.path.join(work, f"out-{side}-{scale}.png")
            run(args.binary, "stylize", src, "--style-image", args.style, "--stroke-scale", scale, "-o", out)
            im = Image.open(out).convert("RGB")
            if side == 4000:
                im.save(os.path.join(work, f"full-{scale}.png"))
            t = args.thumb / im.size[1]
            rows[scale].append(im.resize((round(im.size[0] * t), args.thumb), Image.LANCZOS))
    w = sum(t.size[0] for t in rows["1"]) + 10 * (len(sizes) - 1)
    label = 22
    sheet = Image.new("RGB", (w, 2 * (args.thumb + label) + 10), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (scale, thumbs) in enumerate(rows.items()):
        x = 0
        y = r * (args.thumb + label + 10)
        for side, t in zip(sizes, thumbs):
            draw.text((x + 4, y + 4), f"{side} px, " + ("--stroke-scale native (before)" if scale == "native" else "default (stroke scale 1)"), fill="black")
            sheet.paste(t, (x, y + label))
            x += t.size[0] + 10
    sheet.save(os.path.join(args.out, "stroke-scale.jpg"), quality=88)
    # The crop: native 4000 | bicubic upscale of the 512 render | default 4000.
    native = Image.open(os.path.join(work, "full-native.png"))
    new = Image.open(os.path.join(work, "full-1.png"))
    small = Image.open(os.path.join(work, "out-512-1.png")).resize(new.size, Image.BICUBIC)
    cx, cy, s = new.size[0] // 2 - 256, new.size[1] // 2 - 256, 512
    crop = Image.new("RGB", (3 * s + 20, s + label), "white")
    draw = ImageDraw.Draw(crop)
    for i, (name, im) in enumerate((("native (before)", native), ("512-px render, bicubic upscale", small), ("default: detail transfer", new))):
        draw.text((i * (s + 10) + 4, 4), name, fill="black")
        crop.paste(im.crop((cx, cy, cx + s, cy + s)), (i * (s + 10), label))
    crop.save(os.path.join(args.out, "stroke-scale-crop.jpg"), quality=88)


if __name__ == "__main__":
    main()
