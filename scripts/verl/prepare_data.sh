#!/usr/bin/env bash
# Writes the verl parquet datasets the scripts/verl/ttrl_*_grpo_7b.sh scripts read:
#   OUT_DIR/{aime2024,amc,math500}.parquet   (columns: data_source, prompt [chat], ability, reward_model, extra_info)
# usage: bash scripts/verl/prepare_data.sh [SRC_DIR] [OUT_DIR] [TASK]
#   SRC_DIR: aime2024.jsonl, amc.jsonl, math500.jsonl (or .json lists); default ../shared/data/math.
#   OUT_DIR default data/verl.  TASK default math (env TTRL_KIT_TASK): builds the prompts, reads the gold labels.
set -euo pipefail
SRC_DIR=${1:-../shared/data/math}
OUT_DIR=${2:-data/verl}
TASK=${3:-${TTRL_KIT_TASK:-math}}
PY=${PYTHON:-python3}
for name in aime2024 amc math500; do
  src="$SRC_DIR/$name.jsonl"
  [ -f "$src" ] || src="$SRC_DIR/$name.json"
  "$PY" -m ttrl_kit.engines.verl.prepare_data --task "$TASK" --input "$src" \
    --output "$OUT_DIR/$name.parquet" --datasource "$name"
done
