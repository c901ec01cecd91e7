#!/bin/sh
# The measured distillation of docs/training.md: a width-0.5 MobileNetV2 student from scratch,
# trained on the pretrained predictor's embeddings of ../shared/training-data/styles at 256²,
# batch 8, 800 steps (8.5 min on the 2-core machine), then scored on held-out images.
set -e
DATA=${DATA:-/work/shared/training-data}
IMAGES=${IMAGES:-/work/shared/images}
TEACHER=${TEACHER:-${PASTICHE_HOME:-$HOME/.pastiche}/models/pastiche-v1-256.safetensors}
pastiche train distill --styles "$DATA/styles" --width 0.5 --steps 800 --batch 8 --size 256 \
    --teacher "$TEACHER" -o student-w050.safetensors --checkpoint-dir ck-distill --checkpoint-every 200 "$@"
pastiche eval --model student-w050.safetensors --teacher "$TEACHER" --content "$IMAGES/photos" \
    --styles "$IMAGES/styles" "$IMAGES/textures" --size 128
pastiche bench --only predictor --model student-w050.safetensors
