#!/bin/sh
# Drops what a Linux image of one CPU architecture never loads from a production node_modules
# (run in the Dockerfile after `npm ci --omit=dev`; sizes in docs/images.md):
#   - onnxruntime-node's binaries for the other platforms (it ships darwin, win32 and linux, x64
#     and arm64, in one package); the GPU image's CUDA provider libraries sit in linux/x64 and stay;
#   - @temporalio/core-bridge's prebuilt bridges for the other platforms;
#   - source maps (*.map): nothing runs dependencies with --enable-source-maps.
# Usage: prune-node-modules.sh <node_modules dir> <arch: amd64|x64|arm64>
set -eu
nm=$1
case ${2:-amd64} in
  amd64 | x64) ort=x64 bridge=x86_64-unknown-linux-gnu ;;
  arm64) ort=arm64 bridge=aarch64-unknown-linux-gnu ;;
  *) echo "prune-node-modules.sh: unsupported architecture ${2}" >&2; exit 2 ;;
esac

for dir in "$nm"/onnxruntime-node/bin/napi-v*/*/*; do
  case $dir in */linux/$ort) ;; *) rm -rf "$dir" ;; esac
done
find "$nm"/onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d -empty -delete
for dir in "$nm"/@temporalio/core-bridge/releases/*; do
  [ "$(basename "$dir")" = "$bridge" ] || rm -rf "$dir"
done
find "$nm" -name '*.map' -type f -delete

# What stays must still be there: the platform's ONNX Runtime and Temporal bridge.
test -e "$nm/onnxruntime-node/bin/napi-v6/linux/$ort/onnxruntime_binding.node"
test -e "$nm/@temporalio/core-bridge/releases/$bridge/index.node"
