#!/usr/bin/env bash
# Runs two pastiche binaries on the same inputs and checks that their outputs are byte-identical:
# `stylize` (three photos × three styles), `blend`, `interpolate`, `embed add` (the stored
# embeddings, exported as JSON) and four steps of `train predictor` and `train distill` (losses
# to the last digit). For refactors that must not change behaviour:
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
untimed() { sed -E 's/"(elapsed|eta|samplesPerSecond|addedAtMilliseconds)" *: *[0-9.e+-]+,? *//g'; }
trainStyles=Tests/PasticheTrainingTests/Fixtures/styles

run_all() {
    local bin=$1 out=$2
    rm -rf "$out"; mkdir -p "$out"
    local lib="$out/library"
    "$bin" embed add "${styles[@]}" --library "$lib" >/dev/null 2>&1
    "$bin" embed export "$out/embeddings.raw.json" --library "$lib" >/dev/null 2>&1
    untimed < "$out/embeddings.raw.json" > "$out/embeddings.json"; rm "$out/embeddings.raw.json"
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
    "$bin" train predictor --content "$content" --styles "$trainStyles" --steps 4 --batch 2 --size 128 --json \
        -o "$out/trained.safetensors" 2>/dev/null | untimed > "$out/train.jsonl"
    "$bin" train distill --styles "$trainStyles" --width 0.5 --steps 4 --batch 2 --json \
        -o "$out/distilled.safetensors" 2>/dev/null | untimed > "$out/distill.jsonl"
    for log in "$out"/*.train.jsonl; do untimed < "$log" > "$log.untimed"; mv "$log.untimed" "$log"; done
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
