#!/usr/bin/env bash
# The whole test suite, on a fresh Debian 12 machine with Swift 6.3: everything the main job
# installs, plus onnxruntime (the reference implementation) and its reference outputs, then
# `swift test` in release mode (numeric tests are far too slow in a debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '==> %s\n' "$*" >&2; }

export SWIFT_BUILD_FLAGS="-Xswiftc -enable-testing"
bash scripts/setup.sh --no-demo
home=${PASTICHE_HOME:-$HOME/.pastiche}

# The reference side: onnxruntime, onnx, numpy and Pillow from PyPI, installed once; and
# scikit-image, whose SSIM the studio's browser test measures the preview against.
if ! python3 -c "import onnxruntime, onnx, numpy, PIL, skimage" 2>/dev/null; then
    say "installing onnxruntime, onnx, numpy, pillow, scikit-image (pip)"
    python3 -m pip install --quiet --disable-pip-version-check "onnxruntime>=1.20" onnx numpy pillow scikit-image
fi

# The studio's browser tests: Debian's chromium and chromium-driver, Selenium from PyPI.
# The distributed tests: Open MPI (mpirun, and the libmpi that --distributed loads at run time).
need=()
for pkg in chromium chromium-driver openmpi-bin libopenmpi-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c "import selenium" 2>/dev/null; then
    say "installing selenium (pip)"
    python3 -m pip install --quiet --disable-pip-version-check selenium
fi

say "computing onnxruntime reference outputs"
python3 training/reference/ort_reference.py --models "$home/models" --out "$home/reference" \
    --styles styles/s01_vangogh_starry_night.jpg styles/s03_hokusai_great_wave.png styles/s04_kandinsky_composition_viii.png \
    --photos docs/images/chelsea_cat.png docs/images/summer_palace.jpg >&2

say "building the fuzz targets' replay binary (the suite's fuzz smoke run)"
# shellcheck disable=SC2086
swift build -c release --product pastiche-fuzz ${SWIFT_BUILD_FLAGS:-} 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2

# The test bundle as a product, with the flags the binary was built with: that reuses every
# object of the binary's build. `swift test` building for itself compiles the whole package (and
# SwiftNIO, Hummingbird) again with other flags, and `swift build --build-tests` also builds the
# dependencies' plugin tools (swift-protobuf's protoc, in C++), which nothing here uses.
say "building the tests"
# shellcheck disable=SC2086
swift build -c release --product PastichePackageTests ${SWIFT_BUILD_FLAGS:-} 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2

say "running the tests"
# shellcheck disable=SC2086
PASTICHE_HOME="$home" PASTICHE_REFERENCE_DIR="$home/reference" PASTICHE_REQUIRE_REFERENCE=1 PASTICHE_REQUIRE_MPI=1 \
    swift test -c release ${SWIFT_BUILD_FLAGS:-} --skip-build 2>&1

# The studio in a real browser, then under load, both against the binary just tested.
# shellcheck disable=SC2086
bin=$(swift build -c release --show-bin-path ${SWIFT_BUILD_FLAGS:-})/pastiche
say "driving the studio in headless Chromium"
PASTICHE_HOME="$home" python3 Tests/studio/browser_test.py --binary "$bin"
say "the studio under load (8 clients)"
PASTICHE_HOME="$home" python3 scripts/studio-bench.py --binary "$bin" --renders 30 --seconds 15
# Faults (docs/faults.md): the studio under silent, half-sent and non-reading clients and
# SIGTERM; kills, full disks (tmpfs; needs root, as CI runs) and a read-only library.
say "the studio under hostile clients"
PASTICHE_HOME="$home" python3 Tests/faults/studio_faults.py --binary "$bin"
say "fault injection: kills, full disks, a read-only library"
PASTICHE_HOME="$home" python3 Tests/faults/fault_injection.py --binary "$bin" --trials 3
