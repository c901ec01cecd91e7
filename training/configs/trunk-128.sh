#!/bin/sh
# The measured run of docs/training.md: --init trunk on ../shared/training-data at 128², batch 8.
# Stop it whenever the budget is spent; a checkpoint is written every 25 steps and
# `pastiche train predictor --resume CKPT --steps N` (N = the checkpoint's step) writes its model.
set -e
DATA=${DATA:-/work/shared/training-data}
pastiche train predictor --content "$DATA/content" --styles "$DATA/styles" \
    --init trunk --size 128 --batch 8 --lr 1e-3 --seed 1 --steps 2000 \
    -o trunk128.safetensors --checkpoint-dir ck128 --checkpoint-every 25 "$@"
