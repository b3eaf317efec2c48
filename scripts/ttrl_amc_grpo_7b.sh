#!/usr/bin/env bash
# TTRL on AMC with OpenRLHF 0.11.2 (Ray + vLLM + DeepSpeed), GRPO, 8 GPUs on one node.
#
#   [WANDB_API_KEY=...] bash scripts/ttrl_amc_grpo_7b.sh OUT_DIR MODEL_DIR [WANDB_KEY]
#
# Hyper-parameters: the TTRL paper's AMC setting (paper v2/v3 = PRIME-RL/TTRL verl scripts
# examples/ttrl/Qwen2.5-Math/amc.sh): 64 votes / 32 trained responses per prompt, 8 prompts
# per step, 30 episodes, lr 5e-7 (warm-up 0.03, cosine to 0, weight decay 0.01), temperature 1.0,
# max prompt 1024 + response 3072 tokens, GRPO (group_norm) with KL *loss* 0.001 (k3 = low_var_kl)
# and no KL in the reward, 32 responses per optimizer step, eval avg@16 at T=0.6 every 2 steps.
# Data: OpenRLHF prompt JSONL written by scripts/prepare_openrlhf_data.sh (DATA_DIR, default data/openrlhf).
# The labels (--data.label_key answer) are used ONLY for logged metrics and eval, never for rewards.
# No WANDB_API_KEY (or third argument): metrics go to TensorBoard under OUT_DIR/tensorboard. The key is
# never echoed nor passed as a flag; no "best" checkpoint is kept (its choice would use gold labels);
# OpenRLHF evaluates once at step 0 (baseline) and then every 2 steps.
# Env: DATA_DIR, TTRL_KIT_TASK (default math), N_GPUS (default 8), PYTHON,
#      TTRL_PRINT_ARGS=1 (print the launcher argv, one per line, and exit),
#      TTRL_DRY_RUN=1 (print the launch plan and the OpenRLHF command line, start nothing).
set -euo pipefail
TTRL_DATASET=amc TTRL_MAX_LEN=4096 TTRL_PROMPTS_PER_STEP=8 TTRL_EPISODES=30
source "$(dirname "$0")/_ttrl_grpo_7b_common.sh"
