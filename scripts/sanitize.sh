#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer: every Swift and C
# target (the kernels and the codec glue included) and the `pastiche` binary the CLI tests run.
#   bash scripts/sanitize.sh [swift test arguments, e.g. --filter LibraryDamageTests]
# Needs what scripts/test.sh installs (run it once first). A finding fails the run: ASan and
# UBSan stop the process with their report (UBSan's checks are made fatal below).
set -euo pipefail
cd "$(dirname "$0")/.."
home=${PASTICHE_HOME:-$HOME/.pastiche}
scratch=.build-sanitize
# Swift takes AddressSanitizer (swiftc has no UBSan on Linux); the C targets take both, and the
# link brings in both runtimes.
flags=(-c release --scratch-path "$scratch" --sanitize=address -Xswiftc -enable-testing
       -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
       -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined)
swift build "${flags[@]}" --product pastiche 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
swift build "${flags[@]}" --product pastiche-fuzz 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
swift build "${flags[@]}" --build-tests 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
# LMDB's map and the process-wide buffer pool live until exit by design: leaks are not findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
PASTICHE_HOME="$home" PASTICHE_REFERENCE_DIR="$home/reference" PASTICHE_REQUIRE_REFERENCE=1 \
    swift test "${flags[@]}" --skip-build "$@" 2>&1 | tee "$scratch/last-run.log" | grep -Ev '^Test Case .* (started|passed)'
