#!/usr/bin/env python3
"""Figures of several models side by side, painted by the Pastiche binary.

`models`: one row per (photo, style) pair, one column per model (`stylize --model M
--style-image S`), each column titled with its label. With --reconstruction, a last row of the
first photo at --strength 0 (for AdaIN, α = 0: the decoder's reconstruction of the photo's own
features, how well it has learned to invert the encoder). docs/images/adain-training.jpg (a
`train adain` run at several points; `train export` makes a model of a checkpoint) and
docs/images/narrow-transfer.jpg (the teacher and narrower students):

    scripts/figure-sheet.py models --binary .build/release/pastiche \\
        --point "step 100:step100.safetensors" --point "step 600:step600.safetensors" \\
        --pair photo.jpg:style.png [--pair …] [--reconstruction] [--out sheet.jpg]

`controls` (docs/images/adain-controls.jpg): what AdaIN's controls do with one model on one
photo. Row 1: the photo, then α (`--strength`) at 0, 0.25, 0.5 and 1 with style A. Row 2: styles
A and B, their 1:1 blend (the authors' interpolation), A with `--preserve-color`, and A | B by
a left/right mask pair (each half with its own statistics).

    scripts/figure-sheet.py controls --binary .build/release/pastiche --model adain.safetensors \\
        --photo photo.jpg --style-a a.png --style-b b.png [--out docs/images/adain-controls.jpg]
"""
import argparse, os, subprocess, sys, tempfile
from PIL import Image, ImageDraw


def run(binary, *args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def fit(path, h):
    im = Image.open(path).convert("RGB")
    return im.resize((round(im.size[0] * h / im.size[1]), h), Image.LANCZOS)


def models(argv):
    ap = argparse.ArgumentParser(prog="figure-sheet.py models")
    ap.add_argument("--binary", required=True)
    ap.add_argument("--point", action="append", required=True, help="LABEL:MODEL")
    ap.add_argument("--reconstruction", action="store_true", help="add a row of the first photo at --strength 0")
    ap.add_argument("--pair", action="append", required=True, help="PHOTO:STYLE")
    ap.add_argument("--out", required=True)
    ap.add_argument("--height", type=int, default=180)
    ap.add_argument("--max-size", default="384")
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="figure-sheet-")
    points = [p.split(":", 1) for p in args.point]
    pairs = [p.split(":", 1) for p in args.pair]
    h = args.height
    rows, labels = [], []
    for r, (photo, style) in enumerate(pairs + ([(pairs[0][0], None)] if args.reconstruction else [])):
        cells = [fit(photo, h), fit(style, h) if style else Image.new("RGB", (h, h), "white")]
        for k, (_, model) in enumerate(points):
            out = os.path.join(work, f"r{r}-{k}.png")
            extra = ["--style-image", style] if style else ["--style-image", photo, "--strength", "0"]
            run(args.binary, "stylize", "--model", model, *extra, photo, "--max-size", args.max_size, "-o", out)
            cells.append(fit(out, h))
        rows.append(cells)
        labels.append(None if style else "alpha = 0: reconstruction")
    label_h, gap = 22, 6
    widths = [max(r[c].size[0] for r in rows) for c in range(len(rows[0]))]
    sheet = Image.new("RGB", (sum(widths) + gap * (len(widths) - 1), label_h + len(rows) * (h + gap) - gap), "white")
    draw = ImageDraw.Draw(sheet)
    titles = ["photo", "style"] + [label for label, _ in points]
    x = 0
    for c, w in enumerate(widths):
        draw.text((x + 4, 4), titles[c], fill="black")
        for r, row in enumerate(rows):
            sheet.paste(row[c], (x, label_h + r * (h + gap)))
        x += w + gap
    for r, label in enumerate(labels):
        if label:
            draw.text((widths[0] + gap + 4, label_h + r * (h + gap) + 4), label, fill="black")
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out}: {len(rows)} rows × {len(points)} models")



def controls(argv):
    ap = argparse.ArgumentParser(prog="figure-sheet.py controls")
    ap.add_argument("--binary", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--photo", required=True)
    ap.add_argument("--style-a", required=True)
    ap.add_argument("--style-b", required=True)
    ap.add_argument("--out", default="docs/images/adain-controls.jpg")
    ap.add_argument("--height", type=int, default=200)
    ap.add_argument("--max-size", default="512")
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="adain-controls-")
    b, m, photo, sa, sb = args.binary, args.model, args.photo, args.style_a, args.style_b

    def paint(name, *flags, command="stylize"):
        out = os.path.join(work, name + ".png")
        run(b, command, "--model", m, *flags, photo, "--max-size", args.max_size, "-o", out)
        return out

    w, h = Image.open(photo).size
    left, right = os.path.join(work, "left.png"), os.path.join(work, "right.png")
    mask = Image.new("L", (w, h), 0)
    mask.paste(255, (0, 0, w // 2, h))
    mask.save(left)
    Image.eval(mask, lambda v: 255 - v).save(right)
    rows = [
        [("photo", photo)] + [(f"alpha = {a}", paint(f"a{a}", "--style-image", sa, "--strength", a)) for a in ("0", "0.25", "0.5", "1")],
        [("style A", sa), ("style B", sb),
         ("blend A:B = 1:1", paint("blend", "--styles", f"{sa},{sb}", "--weights", "1,1", command="blend")),
         ("A, --preserve-color", paint("colour", "--style-image", sa, "--preserve-color")),
         ("masks: A | B", paint("masks", "--styles", f"{sa},{sb}", "--masks", f"{left},{right}"))],
    ]
    cells = [[(t, fit(p, args.height)) for t, p in row] for row in rows]
    label_h, gap, hh = 18, 6, args.height
    width = max(sum(im.size[0] for _, im in row) + gap * (len(row) - 1) for row in cells)
    sheet = Image.new("RGB", (width, len(cells) * (label_h + hh + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for row in cells:
        x = 0
        for title, im in row:
            draw.text((x + 4, y + 3), title, fill="black")
            sheet.paste(im, (x, y + label_h))
            x += im.size[0] + gap
        y += label_h + hh + gap
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out}")



if __name__ == "__main__":
    figures = {"models": models, "controls": controls}
    if len(sys.argv) < 2 or sys.argv[1] not in figures:
        sys.exit("usage: figure-sheet.py models|controls …  (see the docstring)")
    figures[sys.argv[1]](sys.argv[2:])
