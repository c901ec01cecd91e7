#!/usr/bin/env bash
# Data-parallel training speed: the same run (global batch, size, steps) in one process and as
# N ranks under mpirun (TCP forced, one core per rank), side by side. Prints the median step
# time, the median time of the gradient allreduce and the samples per second of each.
#   scripts/distributed-bench.sh [--content DIR] [--styles DIR] [--ranks N] [--batch B] [--size S] [--steps K]
set -euo pipefail
cd "$(dirname "$0")/.."
content=docs/images styles=styles ranks=2 batch=8 size=256 steps=12
while [ $# -gt 0 ]; do
    case "$1" in
        --content) content=$2; shift 2 ;; --styles) styles=$2; shift 2 ;; --ranks) ranks=$2; shift 2 ;;
        --batch) batch=$2; shift 2 ;; --size) size=$2; shift 2 ;; --steps) steps=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
bin=$(swift build -c release --show-bin-path ${SWIFT_BUILD_FLAGS:-})/pastiche
command -v mpirun >/dev/null || { echo "no mpirun: apt install openmpi-bin libopenmpi-dev" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run=(train predictor --content "$content" --styles "$styles" --batch "$batch" --size "$size" --steps "$steps" --seed 1)

"$bin" "${run[@]}" -o "$work/one.safetensors" >/dev/null 2>&1
mpirun -q -np "$ranks" --oversubscribe --bind-to core --mca btl tcp,self --mca pml ob1 \
    "$bin" "${run[@]}" -o "$work/many.safetensors" --distributed >/dev/null 2>&1

python3 - "$work/one.train.jsonl" "$work/many.train.jsonl" "$ranks" "$batch" "$size" <<'PY'
import json, statistics, sys
def summary(path):
    rows = [json.loads(l) for l in open(path)]
    steps = [b["elapsed"] - a["elapsed"] for a, b in zip(rows, rows[1:])]   # the first step warms up
    reduce = [r.get("allreduce_seconds", 0.0) for r in rows[1:]]
    return statistics.median(steps), statistics.median(reduce)
one, many = summary(sys.argv[1]), summary(sys.argv[2])
ranks, batch, size = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"global batch {batch} at {size}², median over the steps after the first")
print(f"{'':12}{'step (s)':>10}{'allreduce (s)':>15}{'samples/s':>11}")
print(f"{'1 process':12}{one[0]:>10.3f}{'-':>15}{batch / one[0]:>11.2f}")
print(f"{str(ranks) + ' ranks':12}{many[0]:>10.3f}{many[1]:>15.4f}{batch / many[0]:>11.2f}")
PY
