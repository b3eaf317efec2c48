#!/usr/bin/env bash
# Writes the OpenRLHF prompt datasets the scripts/ttrl_*_grpo_7b.sh scripts read:
#   OUT_DIR/{aime2024,amc,math500}.jsonl   (fields: prompt [chat], answer, id, datasource)
# usage: bash scripts/prepare_openrlhf_data.sh [SRC_DIR] [OUT_DIR] [TASK]
#   SRC_DIR: aime2024.jsonl, amc.jsonl, math500.jsonl (or .json lists, e.g. TTRL's verl/data/*-TTT/test.json
#            copied under those names); default ../shared/data/math.  OUT_DIR default data/openrlhf.
# Task options: TTRL_TASK_OPTIONS (space-separated K=V), default for the math task "suffix=" (none).
#   Why: the scripts train Qwen2.5-Math, whose chat template already adds the system prompt "Please reason
#   step by step, and put your final answer within \boxed{}." to every conversation, and TTRL's Qwen2.5-Math
#   recipes add no instruction of their own; the math task's default suffix is that same sentence, so it
#   would say it twice.  For a model without that system prompt (TTRL appends the sentence for Qwen2.5-7B
#   and LLaMA-3.1-8B-Instruct) run with TTRL_TASK_OPTIONS="" to keep the task's suffix.
set -euo pipefail
SRC_DIR=${1:-../shared/data/math}
OUT_DIR=${2:-data/openrlhf}
TASK=${3:-${TTRL_KIT_TASK:-math}}
PY=${PYTHON:-python3}
if [ "$TASK" = math ]; then OPTIONS=${TTRL_TASK_OPTIONS-suffix=}; else OPTIONS=${TTRL_TASK_OPTIONS-}; fi
OPT_ARGS=()
for kv in $OPTIONS; do OPT_ARGS+=(--task-option "$kv"); done
for name in aime2024 amc math500; do
  src="$SRC_DIR/$name.jsonl"
  [ -f "$src" ] || src="$SRC_DIR/$name.json"
  "$PY" -m ttrl_kit.engines.openrlhf.prepare_data --task "$TASK" ${OPT_ARGS[@]+"${OPT_ARGS[@]}"} --input "$src" \
    --output "$OUT_DIR/$name.jsonl" --datasource "$name"
done
