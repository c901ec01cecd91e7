#!/usr/bin/env bash
# Regenerates Sources/PasticheModels/ONNX/onnx.pb.swift from onnx.proto (copied from the `onnx`
# PyPI package 1.23.2, Apache-2.0). Never run in CI: the generated file is committed.
# Needs `protoc` (Debian protobuf-compiler) and protoc-gen-swift built from swift-protobuf 1.39.0:
#   git clone -b 1.39.0 /opt/swift-packages/apple/swift-protobuf.git /tmp/swift-protobuf
#   (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plugin=${PROTOC_GEN_SWIFT:-/tmp/swift-protobuf/.build/release/protoc-gen-swift}
protoc --plugin=protoc-gen-swift="$plugin" --swift_out="$here/../../Sources/PasticheModels/ONNX" \
    --swift_opt=Visibility=Internal -I "$here" "$here/onnx.proto"
