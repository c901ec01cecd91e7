#!/usr/bin/env python3
"""Stroke scale and per-region statistics, measured (docs/stroke-scale.md).

  scripts/stroke-scale-report.py --old OLD_PASTICHE --new NEW_PASTICHE --photos P1 P2 .. --styles S1 S2 .. [--out DIR]

For every photo × style pair, the photo is resampled to 4000 px on its long side (Lanczos),
rendered by both binaries at that size and by each binary with --max-size 512 (the studio's
preview), and compared:
  * consistency: SSIM (scikit-image, 8-bit, channel_axis) of the full-size render shrunk to the
    preview's size (Lanczos) against the preview render;
  * detail: correlation of the luminance detail (minus a sigma = 4 px Gaussian blur) of the
    full-size render with the photo's; also for a plain bicubic upscale of the preview.
Masks: the first two photos at their own size (old binary; new binary; new binary with
--stroke-scale native, the old binary's resolution), split into left/right halves (feathered), the
first two styles, one per half; the mean gradient magnitude of each half away from the seam
(the middle third left out) against the whole-photo render with that half's style.
Prints a table as JSON lines and writes crops and a mask figure into --out.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage.metrics import structural_similarity


def load(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255


def luminance(a):
    return a @ np.array([0.299, 0.587, 0.114], np.float32)


def detail_correlation(a, b):
    x = luminance(a); y = luminance(b)
    x = x - gaussian_filter(x, 4); y = y - gaussian_filter(y, 4)
    return float(np.corrcoef(x.ravel(), y.ravel())[0, 1])


def shrink(path, size):
    return np.asarray(Image.open(path).convert("RGB").resize(size, Image.LANCZOS), dtype=np.float32) / 255


def ssim(a, b):
    return float(structural_similarity((a * 255).round().astype(np.uint8), (b * 255).round().astype(np.uint8),
                                       channel_axis=2, data_range=255))


def run(binary, *args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def gradient(a):
    gy, gx = np.gradient(luminance(a) * 255)
    return np.hypot(gx, gy)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--photos", nargs="+", required=True)
    ap.add_argument("--styles", nargs="+", required=True)
    ap.add_argument("--side", type=int, default=4000)
    ap.add_argument("--out", default="stroke-scale-report")
    ap.add_argument("--masks-only", action="store_true", help="only the masks part")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="stroke-scale-")
    rows = []
    for photo in [] if args.masks_only else args.photos:
        name = os.path.splitext(os.path.basename(photo))[0]
        im = Image.open(photo).convert("RGB")
        k = args.side / max(im.size)
        big = os.path.join(work, name + ".png")
        im.resize((round(im.size[0] * k), round(im.size[1] * k)), Image.LANCZOS).save(big)
        full = load(big)
        for style in args.styles:
            sname = os.path.splitext(os.path.basename(style))[0]
            out = {}
            for tag, binary in (("old", args.old), ("new", args.new)):
                out[tag] = os.path.join(work, f"{name}-{sname}-{tag}.png")
                out[tag + "512"] = os.path.join(work, f"{name}-{sname}-{tag}512.png")
                run(binary, "stylize", big, "--style-image", style, "-o", out[tag])
                run(binary, "stylize", big, "--style-image", style, "--max-size", "512", "-o", out[tag + "512"])
            preview = load(out["new512"])
            size = (preview.shape[1], preview.shape[0])
            plain = np.asarray(Image.open(out["new512"]).resize((full.shape[1], full.shape[0]), Image.BICUBIC),
                               dtype=np.float32) / 255
            old_full, new_full = load(out["old"]), load(out["new"])
            row = {
                "photo": name, "style": sname,
                "ssim_old": ssim(shrink(out["old"], size), load(out["old512"])),
                "ssim_new": ssim(shrink(out["new"], size), preview),
                "detail_old": detail_correlation(old_full, full),
                "detail_new": detail_correlation(new_full, full),
                "detail_plain_upscale": detail_correlation(plain, full),
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
            if photo == args.photos[0] and style == args.styles[0]:
                h, w = full.shape[:2]
                y, x, s = h // 2 - 256, w // 2 - 256, 512
                crop = np.concatenate([c[y:y + s, x:x + s] for c in (old_full, plain, new_full)], 1)
                Image.fromarray((crop * 255).round().astype(np.uint8)).save(os.path.join(args.out, "crops.png"))
            for key in ("old", "new", "old512", "new512"):
                os.remove(out[key])
    # Masks: two photos at their own size, left/right halves.
    for photo in args.photos[:2]:
        name = os.path.splitext(os.path.basename(photo))[0]
        im = Image.open(photo).convert("RGB")
        w, h = im.size
        left = np.zeros((h, w), np.uint8); left[:, : w // 2] = 255
        lp, rp = os.path.join(work, "left.png"), os.path.join(work, "right.png")
        Image.fromarray(left).save(lp); Image.fromarray(255 - left).save(rp)
        figure = []
        # new_native: the new binary at the photo's resolution, as the old one paints, so the
        # statistics alone differ.
        for tag, binary, extra in (("old", args.old, []), ("new", args.new, []),
                                   ("new_native", args.new, ["--stroke-scale", "native"])):
            masked = os.path.join(work, f"masked-{tag}.png")
            run(binary, "stylize", photo, "--styles", ",".join(args.styles[:2]), "--masks", f"{lp},{rp}",
                "--feather", str(max(2, w // 100)), "-o", masked, *extra)
            whole = []
            for style in args.styles[:2]:
                p = os.path.join(work, f"whole-{tag}-{len(whole)}.png")
                run(binary, "stylize", photo, "--style-image", style, "-o", p, *extra)
                whole.append(load(p))
            m = load(masked)
            g = gradient(m)
            third = w // 3
            for side, cols in (("left", slice(0, third)), ("right", slice(w - third, w))):
                ref = gradient(whole[0 if side == "left" else 1])
                region, reference = float(g[:, cols].mean()), float(ref[:, cols].mean())
                row = {"masks": name, "binary": tag, "half": side, "size": f"{w}x{h}", "gradient": region,
                       "whole_photo_gradient": reference, "change": region / reference - 1}
                print(json.dumps(row), flush=True)
            figure.append(m)
        fig = np.concatenate(figure, 1)
        Image.fromarray((fig * 255).round().astype(np.uint8)).save(os.path.join(args.out, f"masks-{name}.png"))


if __name__ == "__main__":
    main()
