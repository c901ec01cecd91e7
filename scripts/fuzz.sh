#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers that read untrusted bytes, with libFuzzer (Swift's
# -sanitize=fuzzer, the C codecs built with -fsanitize=fuzzer-no-link) and AddressSanitizer.
#   bash scripts/fuzz.sh TARGET SECONDS [JOBS]
# TARGET: png, jpeg, record, safetensors, json or library (Sources/PasticheFuzz/FuzzTargets.swift).
# The seed corpus is Tests/Fuzz/corpus/TARGET; new inputs go to .fuzz/TARGET/corpus, crashes to
# .fuzz/TARGET/ (both ignored by git). Prints libFuzzer's final stats: executions and crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz.sh TARGET SECONDS [JOBS]}
seconds=${2:?usage: fuzz.sh TARGET SECONDS [JOBS]}
jobs=${3:-1}
case "$target" in png|jpeg|record|safetensors|json|library) ;; *) echo "unknown target $target" >&2; exit 2 ;; esac

scratch=.build-fuzz
swift build -c release --product pastiche-fuzz --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
    -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)/pastiche-fuzz

work=.fuzz/$target
mkdir -p "$work/corpus"
export PASTICHE_FUZZ_TARGET=$target
# LMDB maps the library target's file: leaks of that map at exit are not findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
# More than one job: libFuzzer's fork mode, each worker logging to fuzz-N.log (kept in $work).
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-fork="$jobs")
# The Swift runtime's own crash backtracer would report instead of ASan/libFuzzer.
export SWIFT_BACKTRACE=enable=no
"$bin" "$work/corpus" "Tests/Fuzz/corpus/$target" -max_total_time="$seconds" -max_len=262144 \
    -rss_limit_mb=4096 -timeout=20 -artifact_prefix="$work/" -print_final_stats=1 "${parallel[@]}" \
    2>&1 | tee "$work/last-run.log" | grep -E '^(#[0-9]+.*DONE|stat::|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' || true
crashes=$(find "$work" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'oom-*' -o -maxdepth 1 -name 'timeout-*' | wc -l)
echo "$target: $(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$work/last-run.log" | tail -1 | grep -Eo '[0-9]+$' || echo '?') executions, $crashes crash/oom/timeout inputs in $work"
[ "$crashes" -eq 0 ]
