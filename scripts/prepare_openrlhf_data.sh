#!/usr/bin/env bash
# Writes the OpenRLHF prompt datasets the scripts/ttrl_*_grpo_7b.sh scripts read:
#   OUT_DIR/{aime2024,amc,math500}.jsonl   (fields: prompt [chat], answer, id, datasource)
# usage: bash scripts/prepare_openrlhf_data.sh [SRC_DIR] [OUT_DIR] [TASK]
#   SRC_DIR: aime2024.jsonl, amc.jsonl, math500.jsonl (or .json lists, e.g. TTRL's verl/data/*-TTT/test.json
#            copied under those names); default ../shared/data/math.  OUT_DIR default data/openrlhf.
set -euo pipefail
SRC_DIR=${1:-../shared/data/math}
OUT_DIR=${2:-data/openrlhf}
TASK=${3:-${TTRL_KIT_TASK:-math}}
PY=${PYTHON:-python3}
for name in aime2024 amc math500; do
  src="$SRC_DIR/$name.jsonl"
  [ -f "$src" ] || src="$SRC_DIR/$name.json"
  "$PY" -m ttrl_kit.engines.openrlhf.prepare_data --task "$TASK" --input "$src" \
    --output "$OUT_DIR/$name.jsonl" --datasource "$name"
done
