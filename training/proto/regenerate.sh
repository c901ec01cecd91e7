#!/usr/bin/env bash
# Regenerates Sources/PasticheONNX/onnx.pb.swift from onnx.proto (copied from the `onnx`
# PyPI package 1.23.2, Apache-2.0). Never run in CI: the generated file is committed.
# Needs `protoc` (Debian protobuf-compiler) and protoc-gen-swift built from swift-protobuf 1.39.0:
#   swift build -c release --product protoc-gen-swift   (the package's own swift-protobuf)
# Visibility=Package: the ONNX messages are visible to every target of this package (the model
# importer, the VGG loss network's importer, later the exporter) and to nothing outside it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plugin=${PROTOC_GEN_SWIFT:-$here/../../.build/release/protoc-gen-swift}
protoc --plugin=protoc-gen-swift="$plugin" --swift_out="$here/../../Sources/PasticheONNX" \
    --swift_opt=Visibility=Package -I "$here" "$here/onnx.proto"
