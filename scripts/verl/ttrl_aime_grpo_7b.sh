#!/usr/bin/env bash
# TTRL on AIME 2024 with verl 0.9.1 (Ray + vLLM + FSDP), GRPO, 8 GPUs on one node.
#
#   bash scripts/verl/ttrl_aime_grpo_7b.sh OUT_DIR MODEL_DIR [WANDB_KEY] [--dry-run]
#
# Hyper-parameters: TTRL's verl recipe for Qwen2.5-Math-7B on AIME 2024 (PRIME-RL/TTRL verl scripts
# examples/ttrl/Qwen2.5-Math/): 64 votes / 32 trained responses per prompt, 8 prompts per step,
# 80 epochs over the unlabelled set, lr 5e-7 (warm-up 0.03, cosine), temperature 1.0, max prompt 512 +
# response 3072 tokens, GRPO with KL loss 0.001 (low_var_kl), validation avg@16 at T=0.6 every 2 steps.
# Data: verl parquet written by scripts/verl/prepare_data.sh (DATA_DIR, default data/verl). Its gold labels
# (reward_model.ground_truth) are used ONLY for logged metrics and validation, never for rewards.
# WANDB_KEY is exported as WANDB_API_KEY (never put on a command line); without it: TensorBoard in OUT_DIR.
# --dry-run (or TTRL_DRY_RUN=1): check the config with verl's own loader and print the full command line.
# Env: DATA_DIR, TTRL_KIT_TASK (default math), TTRL_KIT_ESTIMATOR (default majority), N_GPUS (default 8), PYTHON.
set -euo pipefail
TTRL_DATASET=aime2024 TTRL_MAX_PROMPT=512 TTRL_PROMPTS_PER_STEP=8 TTRL_EPOCHS=80
source "$(dirname "$0")/_ttrl_grpo_7b_common.sh"
