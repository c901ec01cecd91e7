#!/usr/bin/env bash
# Quality over time for `pastiche optimize` (docs/optimize.md): objective against iteration and
# seconds for each start image (stylize, content, noise) with L-BFGS and Adam, on three photo ×
# style pairs at 512 px (the first pair with 500 L-BFGS iterations from the photo and from the
# feed-forward painting, the others 300: about 50 minutes on two cores in all); then one iteration's time at 512² and 1024² and peak RSS
# (/usr/bin/time -v) at 1024² and 2048². Results go to WORK (default out/optimize-quality):
# one JSON-lines file per run, the images, and time -v logs. scripts/optimize-report.py turns
# them into the tables and docs/images/optimize.jpg.
#   usage: scripts/optimize-quality.sh [--quick] [WORK]   (--quick: a few iterations, to try it)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0; [ "${1:-}" = "--quick" ] && { quick=1; shift; }
work=${1:-out/optimize-quality}
bin=${PASTICHE_BIN:-.build/release/pastiche}
shared=${PASTICHE_SHARED:-../shared/images}
mkdir -p "$work"

# pair name, photo, style, then iterations: L-BFGS content, stylize, noise; Adam (each init)
pairs=(
  "cat-vangogh docs/images/chelsea_cat.png styles/s01_vangogh_starry_night.jpg 500 500 200 100"
  "palace-hokusai docs/images/summer_palace.jpg styles/s03_hokusai_great_wave.png 300 300 100 50"
  "lighthouse-kandinsky $shared/photos/p11_lighthouse.jpg styles/s04_kandinsky_composition_viii.png 300 300 100 50"
)
for spec in "${pairs[@]}"; do
  read -r name photo style content stylize noise adam <<<"$spec"
  if [ "$quick" = 1 ]; then content=3; stylize=3; noise=3; adam=3; fi
  for run in "lbfgs stylize $stylize" "lbfgs content $content" "lbfgs noise $noise" \
             "adam stylize $adam" "adam content $adam" "adam noise $adam"; do
    read -r opt init its <<<"$run"
    out="$work/$name.$opt.$init"
    [ -s "$out.jsonl" ] && continue
    echo "== $name $opt $init ($its iterations)" >&2
    "$bin" optimize "$photo" --style-image "$style" --size 512 --iterations "$its" --optimizer "$opt" \
      --init "$init" --seed 1 -o "$out.png" --json > "$out.jsonl.part"
    mv "$out.jsonl.part" "$out.jsonl"
  done
done

# One iteration's time (a square crop of a photo, L-BFGS, init content), and peak memory.
square="$work/square.png"
python3 - docs/images/summer_palace.jpg "$square" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
side = min(im.size)
im.crop(((im.width - side) // 2, (im.height - side) // 2, (im.width + side) // 2, (im.height + side) // 2)).save(sys.argv[2])
PY
for size in 512 1024 2048; do
  its=5; [ "$size" = 2048 ] && its=2
  [ "$quick" = 1 ] && its=1
  out="$work/speed-$size"
  [ -s "$out.jsonl" ] && continue
  echo "== speed and memory at $size²" >&2
  /usr/bin/time -v "$bin" optimize "$square" --style-image styles/s01_vangogh_starry_night.jpg --size "$size" \
    --iterations "$its" --init content -o "$out.png" --json > "$out.jsonl.part" 2> "$out.time"
  mv "$out.jsonl.part" "$out.jsonl"
done
echo "done: $work" >&2
