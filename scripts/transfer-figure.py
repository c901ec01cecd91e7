#!/usr/bin/env python3
"""docs/images/per-style.jpg: for each per-style model, one held-out photo painted by the
arbitrary network (`stylize --style-image S`), by the fine-tuned per-style network
(`stylize --model M`, its own style) and the style image itself, one row per style.

    scripts/transfer-figure.py --binary .build/release/pastiche --photo P \\
        --pair styles/s01.jpg:vangogh.safetensors [--pair …] [--out docs/images/per-style.jpg]

Several per-style models of one style (e.g. trained on different loss networks) take one
column each: --pair STYLE:M1:M2 with --labels "on MobileNetV2,on VGG-19"
(docs/images/per-style-vgg19.jpg).
"""
import argparse, os, subprocess, tempfile
from PIL import Image, ImageDraw


def run(binary, *args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--photo", required=True)
    ap.add_argument("--pair", action="append", required=True, help="STYLE_IMAGE:MODEL[:MODEL…]")
    ap.add_argument("--labels", help="comma-separated titles of the model columns")
    ap.add_argument("--out", default="docs/images/per-style.jpg")
    ap.add_argument("--height", type=int, default=256)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="per-style-figure-")
    h = args.height
    rows = []
    for i, pair in enumerate(args.pair):
        style, *models = pair.split(":")
        arbitrary = os.path.join(work, f"a{i}.png")
        run(args.binary, "stylize", "--style-image", style, args.photo, "--max-size", "512", "-o", arbitrary)
        owns = []
        for j, model in enumerate(models):
            owns.append(os.path.join(work, f"f{i}-{j}.png"))
            run(args.binary, "stylize", "--model", model, args.photo, "--max-size", "512", "-o", owns[-1])
        cells = []
        for path in (arbitrary, *owns, style):
            im = Image.open(path).convert("RGB")
            cells.append(im.resize((round(im.size[0] * h / im.size[1]), h), Image.LANCZOS))
        rows.append(cells)
    label_h, gap = 22, 6
    width = max(sum(c.size[0] for c in r) + gap * (len(r) - 1) for r in rows)
    sheet = Image.new("RGB", (width, label_h + len(rows) * (h + gap) - gap), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    labels = args.labels.split(",") if args.labels else ["fine-tuned per-style network"]
    for title, cell in zip(["arbitrary network", *labels, "style"], rows[0]):
        draw.text((x + 4, 4), title, fill="black")
        x += cell.size[0] + gap
    for r, cells in enumerate(rows):
        x, y = 0, label_h + r * (h + gap)
        for cell in cells:
            sheet.paste(cell, (x, y))
            x += cell.size[0] + gap
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out} ({sheet.size[0]}×{sheet.size[1]})")


if __name__ == "__main__":
    main()
