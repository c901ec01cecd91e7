#!/usr/bin/env python3
"""Tables and the figure of docs/optimize.md from the runs of scripts/optimize-quality.sh.

usage: scripts/optimize-report.py [WORK] [--figure docs/images/optimize.jpg] [--binary .build/release/pastiche]
Prints markdown: per pair, the objective at chosen iterations and the seconds taken for each
optimizer and start image, the iterations each start needs to reach what the photo start reaches
at its last iteration; then one iteration's time and the peak memory per size.
"""
import argparse
import glob
import json
import os
import re
import subprocess

from PIL import Image, ImageDraw

CHECKPOINTS = [0, 10, 25, 50, 100, 150, 200, 300, 500]
VGG_WIDTHS = [64, 128, 256, 512, 512]
CONVS = [2, 2, 4, 4, 4]


def load(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if "iteration" in r], next((r for r in rows if r.get("summary")), None)


def fmt(v):
    return f"{v:.3g}" if v < 1e4 else f"{v:.3e}".replace("e+0", "e").replace("e+", "e")


def quality(work):
    out = []
    pairs = sorted({os.path.basename(p).split(".")[0] for p in glob.glob(f"{work}/*.lbfgs.content.jsonl")})
    for pair in pairs:
        runs = {}
        for opt in ["lbfgs", "adam"]:
            for init in ["stylize", "content", "noise"]:
                p = f"{work}/{pair}.{opt}.{init}.jsonl"
                if os.path.exists(p):
                    runs[(opt, init)] = load(p)
        if not runs:
            continue
        photo_at = runs.get(("lbfgs", "content"))
        out.append(f"**{pair}** (512 px; objective = content + style, `--tv-weight 0`)\n")
        last = max(len(rows) - 1 for rows, _ in runs.values())
        cols = [c for c in CHECKPOINTS if c <= last]
        out.append("| optimizer | start | " + " | ".join(f"it {c}" for c in cols) + " | last (it, s) |")
        out.append("|---|---|" + "---|" * len(cols) + "---|")
        for (opt, init), (rows, summary) in runs.items():
            by = {r["iteration"]: r for r in rows}
            cells = [fmt(by[c]["total"]) if c in by else "" for c in cols]
            end = rows[-1]
            out.append(f"| {opt} | {init} | " + " | ".join(cells) + f" | {fmt(end['total'])} ({end['iteration']}, {end['seconds']:.0f} s) |")
        if photo_at:
            by = {r["iteration"]: r for r in photo_at[0]}
            marks = [m for m in [25, 50, 100, 200, 300, 500] if m in by]
            out.append("")
            out.append("Iterations (seconds) each run needs to reach the objective L-BFGS from the photo has at "
                       "iteration N; — where the run ended first:")
            out.append("")
            out.append("| optimizer | start | " + " | ".join(f"N = {m} ({fmt(by[m]['total'])})" for m in marks) + " |")
            out.append("|---|---|" + "---|" * len(marks))
            for (opt, init), (rows, _) in runs.items():
                cells = []
                for m in marks:
                    hit = next((r for r in rows if r["total"] <= by[m]["total"]), None)
                    cells.append(f"{hit['iteration']} ({hit['seconds']:.0f} s)" if hit else "—")
                out.append(f"| {opt} | {init} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def gflop_per_iteration(w, h):
    """Forward through relu5_1 plus the backward's input gradients (the same convs): 2 × forward."""
    total, cin = 0.0, 3
    for b, (width, n) in enumerate(zip(VGG_WIDTHS, CONVS)):
        hh, ww = h >> b, w >> b
        for k in range(n):
            if b == 4 and k > 0:
                break
            total += 2 * width * cin * 9 * hh * ww
            cin = width
    return 2 * total / 1e9


def speed(work):
    out = ["| size | seconds per iteration | GFLOP per iteration | GFLOP/s | peak RSS | planned peak |", "|---|---|---|---|---|---|"]
    for size in [512, 1024, 2048]:
        p = f"{work}/speed-{size}.jsonl"
        if not os.path.exists(p):
            continue
        rows, summary = load(p)
        grad = [r for r in rows if r["iteration"] < rows[-1]["iteration"]]
        per = (grad[-1]["seconds"] - grad[0]["seconds"]) / max(1, len(grad) - 1)
        w, h = rows[0]["width"], rows[0]["height"]
        g = gflop_per_iteration(w, h)
        rss = ""
        tp = f"{work}/speed-{size}.time"
        if os.path.exists(tp):
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(tp).read())
            rss = f"{int(m.group(1)) / 1e6:.2f} GB" if m else ""
        planned = f"{summary['estimated_peak_bytes'] / 1e9:.2f} GB" if summary else ""
        out.append(f"| {w}×{h} | {per:.2f} | {g:.0f} | {g / per:.0f} | {rss} | {planned} |")
    return "\n".join(out)


def figure(work, path, binary):
    pair = "cat-vangogh"
    photo, style = "docs/images/chelsea_cat.png", "styles/s01_vangogh_starry_night.jpg"
    ff = f"{work}/{pair}.feedforward.png"
    if not os.path.exists(ff):
        subprocess.run([binary, "stylize", photo, "--style-image", style, "--max-size", "512", "-o", ff], check=True)
    panels = [(photo, "photo"), (style, "style"), (ff, "feed-forward (stylize)")]
    for init in ["stylize", "content", "noise"]:
        p = f"{work}/{pair}.lbfgs.{init}.jsonl"
        if os.path.exists(p):
            rows, _ = load(p)
            panels.append((f"{work}/{pair}.lbfgs.{init}.png", f"L-BFGS from {init}, it {rows[-1]['iteration']}"))
    h = 256
    images = []
    for p, label in panels:
        im = Image.open(p).convert("RGB")
        im = im.resize((round(im.width * h / im.height), h), Image.LANCZOS)
        canvas = Image.new("RGB", (im.width, h + 22), "white")
        canvas.paste(im, (0, 22))
        ImageDraw.Draw(canvas).text((4, 5), label, fill="black")
        images.append(canvas)
    rows = [images[:3], images[3:]]
    width = max(sum(i.width for i in r) + 6 * (len(r) - 1) for r in rows)
    sheet = Image.new("RGB", (width, 2 * (h + 22) + 6), "white")
    y = 0
    for r in rows:
        x = 0
        for im in r:
            sheet.paste(im, (x, y))
            x += im.width + 6
        y += h + 28
    sheet.save(path, quality=88)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="out/optimize-quality")
    ap.add_argument("--figure")
    ap.add_argument("--binary", default=".build/release/pastiche")
    a = ap.parse_args()
    print(quality(a.work))
    print(speed(a.work))
    if a.figure:
        figure(a.work, a.figure, a.binary)


if __name__ == "__main__":
    main()
