#!/usr/bin/env bash
# Runs two pastiche binaries on the same inputs and checks that their outputs are byte-identical:
# `stylize` (three photos × three styles), masked `stylize` and `blend` (soft masks, one mask,
# feathered), `blend`, `interpolate`, `optimize` (three iterations from the painter's start),
# `video` (a folder of frames, plain and masked), a studio render (`serve`, POST /api/render),
# `embed add` (the stored embeddings, exported as JSON) and four steps of `train predictor` and
# `train distill` (losses to the last digit). For refactors that must not change behaviour:
#   bash scripts/same-outputs.sh OLD_BINARY NEW_BINARY [WORKDIR]
# Exit status 0 when every output matches; otherwise each differing output is named.
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: same-outputs.sh OLD_BINARY NEW_BINARY [WORKDIR]}
new=${2:?usage: same-outputs.sh OLD_BINARY NEW_BINARY [WORKDIR]}
work=${3:-$(mktemp -d)}
photos=(docs/images/summer_palace.jpg docs/images/chelsea_cat.png Tests/PasticheImageTests/Fixtures/real_brick_gray.png)
styles=(styles/s01_vangogh_starry_night.jpg styles/s03_hokusai_great_wave.png styles/s04_kandinsky_composition_viii.png)
content=Tests/PasticheTrainingTests/Fixtures/content
# Wall-clock fields (timings, timestamps) are the only parts allowed to differ between runs.
untimed() {
    sed -E -e 's/"(elapsed|eta|samplesPerSecond|samples_per_second|addedAtMilliseconds|added_at_milliseconds)" *: *[0-9.e+-]+,? *//g' \
        -e 's/"(added|date|time)" *: *"[0-9T:.Z+-]+",? *//g'
}
trainStyles=Tests/PasticheTrainingTests/Fixtures/styles
# An `embed export` file, version 1 (camelCase) or 2 (snake_case), as the same canonical JSON:
# snake_case keys, without the version and the time each style was added.
canonical_export() {
    python3 -c '
import json, re, sys
snake = lambda k: {"modelID": "model_id"}.get(k, re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower())
def walk(v):
    if isinstance(v, list): return [walk(x) for x in v]
    if isinstance(v, dict): return {snake(k): walk(x) for k, x in v.items() if k not in ("added", "addedAtMilliseconds", "version")}
    return v
json.dump(walk(json.load(sys.stdin)), sys.stdout, indent=1, sort_keys=True)'
}

# JSON lines with camelCase keys (training logs before 2026-12-06) as snake_case, keys sorted.
snake_lines() {
    python3 -c '
import json, re, sys
for line in sys.stdin:
    if line.strip():
        d = json.loads(line)
        print(json.dumps({re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in d.items()}, sort_keys=True, separators=(",", ":")))'
}

run_all() {
    local bin=$1 out=$2
    rm -rf "$out"; mkdir -p "$out"
    local lib="$out/library"
    "$bin" embed add "${styles[@]}" --library "$lib" >/dev/null 2>&1
    "$bin" embed export "$out/embeddings.raw.json" --library "$lib" >/dev/null 2>&1
    canonical_export < "$out/embeddings.raw.json" > "$out/embeddings.json"; rm "$out/embeddings.raw.json"
    local i=0
    for s in "${styles[@]}"; do
        for p in "${photos[@]}"; do
            "$bin" stylize --style-image "$s" "$p" -o "$out/stylize.$i.png" 2>/dev/null
            i=$((i + 1))
        done
    done
    "$bin" stylize --style-image "${styles[0]}" --strength 0.6 "${photos[0]}" -o "$out/strength.png" 2>/dev/null
    "$bin" stylize --style-image "${styles[1]}" --tile 7 "${photos[1]}" -o "$out/tile.png" 2>/dev/null
    "$bin" blend --library "$lib" --styles s01_vangogh_starry_night,s03_hokusai_great_wave,s04_kandinsky_composition_viii \
        --weights 0.2,0.3,0.5 "${photos[0]}" -o "$out/blend.png" 2>/dev/null
    "$bin" interpolate --library "$lib" --from s01_vangogh_starry_night --to s04_kandinsky_composition_viii --steps 3 --max-size 384 \
        "${photos[1]}" -o "$out/interpolate.png" 2>/dev/null
    # Masks: two soft regions, one feathered mask, and a masked blend.
    "$bin" stylize --library "$lib" --styles s01_vangogh_starry_night,s03_hokusai_great_wave \
        --masks "$masks/left.png,$masks/right.png" "${photos[0]}" -o "$out/masks.png" 2>/dev/null
    "$bin" stylize --style-image "${styles[2]}" --mask "$masks/left.png" --feather 12 --strength 0.8 \
        "${photos[1]}" -o "$out/mask-feather.png" 2>/dev/null
    "$bin" blend --library "$lib" --styles s01_vangogh_starry_night,s04_kandinsky_composition_viii \
        --masks "$masks/left.png,$masks/right.png" --preserve-color "${photos[2]}" -o "$out/masked-blend.png" 2>/dev/null
    # Video frames: a folder of frames in and out, plain (with the carried statistics) and masked.
    "$bin" video "$frames" -o "$out/video-plain/" --style-image "${styles[0]}" 2>/dev/null
    "$bin" video "$frames" -o "$out/video-masks/" --library "$lib" --styles s01_vangogh_starry_night,s03_hokusai_great_wave \
        --masks "$masks/left.png,$masks/right.png" 2>/dev/null
    for d in video-plain video-masks; do
        for f in "$out/$d"/*.png; do mv "$f" "$out/$d.$(basename "$f")"; done
        rmdir "$out/$d"
    done
    # optimize's start image is the painter's (--init stylize); three L-BFGS iterations on it.
    "$bin" optimize "${photos[1]}" --style-image "${styles[0]}" --style-image "${styles[1]}" --style-weights 0.3,0.7 \
        --size 128 --iterations 3 -o "$out/optimize.png" 2>/dev/null
    # A studio render: the same request as a browser's full-size render.
    studio_render "$bin" "$lib" "$out/studio.png"
    "$bin" train predictor --content "$content" --styles "$trainStyles" --steps 4 --batch 2 --size 128 --json \
        -o "$out/trained.safetensors" 2>/dev/null | untimed > "$out/train.jsonl"
    "$bin" train predictor --content "$content" --styles "$trainStyles" --steps 3 --batch 2 --size 64 --train-transfer --json \
        -o "$out/joint.safetensors" 2>/dev/null | untimed > "$out/joint.jsonl"
    "$bin" train distill --styles "$trainStyles" --width 0.5 --steps 4 --batch 2 --json \
        -o "$out/distilled.safetensors" 2>/dev/null | untimed > "$out/distill.jsonl"
    # The log file's keys became snake_case on 2026-12-06 (as --json's were): compare them so.
    for log in "$out"/*.train.jsonl; do snake_lines < "$log" | untimed > "$log.untimed"; mv "$log.untimed" "$log"; done
}

# Masks (left and right halves with a soft edge) and four frames of a moving test pattern,
# made once so both binaries read the same files.
masks=$work/masks; frames=$work/frames
mkdir -p "$masks" "$frames"
python3 - "$masks" <<'PY'
import sys, zlib, struct
def png(path, w, h, value):
    rows = b"".join(b"\0" + bytes(value(x, y) for x in range(w)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
ramp = lambda x: max(0, min(255, int((x - 120) * 255 / 40)))
png(sys.argv[1] + "/left.png", 300, 200, lambda x, y: 255 - ramp(x))
png(sys.argv[1] + "/right.png", 300, 200, lambda x, y: ramp(x))
PY
ffmpeg -v error -f lavfi -i testsrc=size=192x128:rate=10 -frames:v 4 "$frames/%04d.png"

# `serve` on a free port, one photo upload and one render; the PNG is the render's bytes.
studio_render() {
    local bin=$1 lib=$2 dest=$3
    local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$bin" serve --library "$lib" --port "$port" >/dev/null 2>&1 &
    local pid=$!
    python3 - "$port" "${photos[0]}" "$dest" <<'PY'
import json, sys, time, urllib.request
port, photo, dest = sys.argv[1:4]
base = f"http://127.0.0.1:{port}"
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/api/stats", timeout=1); break
    except Exception:
        time.sleep(0.1)
def post(path, data, kind):
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": kind}, method="POST")
    return urllib.request.urlopen(req, timeout=120).read()
photo_id = json.loads(post("/api/photos", open(photo, "rb").read(), "image/jpeg"))["photo"]
body = {"photo": photo_id, "styles": [{"name": "s01_vangogh_starry_night", "weight": 0.4},
        {"name": "s03_hokusai_great_wave", "weight": 0.6}], "strength": 0.9, "max_size": 400, "format": "png"}
open(dest, "wb").write(post("/api/render", json.dumps(body).encode(), "application/json"))
PY
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_all "$old" "$work/old"
run_all "$new" "$work/new"
status=0
count=0
for f in "$work/old"/*; do
    name=$(basename "$f")
    [ -f "$f" ] || continue
    count=$((count + 1))
    if ! cmp -s "$f" "$work/new/$name"; then
        echo "differs: $name"
        status=1
    fi
done
echo "$count outputs compared in $work: $([ $status = 0 ] && echo 'all byte-identical' || echo 'some differ')"
exit $status
