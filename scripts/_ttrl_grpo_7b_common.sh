#!/usr/bin/env bash
# Shared body of scripts/ttrl_{aime,amc,math500}_grpo_7b.sh: the paper's TTRL GRPO recipe as
# OpenRLHF 0.11.2 dotted flags. Those scripts set the per-benchmark knobs and source this file:
#   TTRL_DATASET (data file stem), TTRL_MAX_LEN (prompt + response tokens),
#   TTRL_PROMPTS_PER_STEP (rollout.batch_size), TTRL_EPISODES.
# Everything else (64 votes / 32 trained, lr 5e-7, KL loss 0.001 k3, eval avg@16 at T=0.6...) is
# common to the three benchmarks, as in the TTRL verl scripts; docs/openrlhf.md lists where and why
# these scripts differ from TTRL's recipes.
# Secrets: the wandb key comes from WANDB_API_KEY (a third argument is still accepted and exported
# as WANDB_API_KEY).  It is never echoed and never put on a command line: OpenRLHF prints its full
# args, this script tees them into OUT_DIR/train.log and wandb uploads them as the run config, so
# OpenRLHF only sees --logger.wandb.key from-env:WANDB_API_KEY (wandb reads the real key from the env).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: [WANDB_API_KEY=...] bash $0 OUT_DIR MODEL_DIR [WANDB_KEY]" >&2
  exit 2
fi
if [ -n "${3:-}" ]; then export WANDB_API_KEY=$3; fi
OUT_DIR=$(realpath -m "$1")                           # Ray actors do not share our cwd
MODEL_DIR=$2
[ -d "$MODEL_DIR" ] && MODEL_DIR=$(realpath "$MODEL_DIR")  # else a hub id, passed as is
REPO=$(cd "$(dirname "$0")/.." && pwd)
DATA_DIR=${DATA_DIR:-$REPO/data/openrlhf}
DATA=$DATA_DIR/$TTRL_DATASET.jsonl
N_GPUS=${N_GPUS:-8}
PY=${PYTHON:-python3}
RUN_NAME=ttrl-$TTRL_DATASET-grpo-$(basename "$MODEL_DIR")

ARGS=(
  -m ttrl_kit.engines.openrlhf
  --task "${TTRL_KIT_TASK:-math}" --estimator majority --n-votes 64
  --eval-at-start
  --
  --actor.model_name_or_path "$MODEL_DIR"
  --actor.num_nodes 1 --actor.num_gpus_per_node "$N_GPUS"
  --ref.num_nodes 1 --ref.num_gpus_per_node "$N_GPUS"
  --vllm.num_engines "$N_GPUS" --vllm.tensor_parallel_size 1 --vllm.gpu_memory_utilization 0.6
  --train.colocate_all --vllm.enable_sleep --ds.enable_sleep
  --data.prompt_dataset "$DATA" --data.input_key prompt --data.label_key answer --data.apply_chat_template
  --data.max_len "$TTRL_MAX_LEN" --rollout.max_new_tokens 3072
  --rollout.n_samples_per_prompt 32 --rollout.batch_size "$TTRL_PROMPTS_PER_STEP" --rollout.micro_batch_size 4
  --rollout.temperature 1.0 --rollout.top_p 1.0
  --train.batch_size 32 --train.micro_batch_size 2 --train.max_epochs 1 --train.num_episodes "$TTRL_EPISODES"
  --algo.advantage.estimator group_norm
  --algo.kl.use_loss --algo.kl.init_coef 0.001 --algo.kl.estimator k3
  --actor.adam.lr 5e-7 --actor.adam.betas 0.9 0.999 --actor.adam.weight_decay 0.01 --actor.lr_warmup_ratio 0.03
  --actor.lr_scheduler cosine_with_min_lr --actor.min_lr_ratio 0.0 --actor.eps_clip 0.2
  --ds.zero_stage 3 --ds.param_dtype bf16 --ds.adam_offload --ds.packing_samples
  --actor.gradient_checkpointing_enable
  --eval.dataset "$DATA" --eval.n_samples_per_prompt 16 --eval.temperature 0.6 --eval.steps 2
  --ckpt.output_dir "$OUT_DIR/model" --ckpt.path "$OUT_DIR/ckpt" --ckpt.save_steps 40 --ckpt.max_num 2
  --ckpt.best_metric_key none
  --logger.logging_steps 1
)
if [ -n "${WANDB_API_KEY:-}" ]; then
  ARGS+=(--logger.wandb.key from-env:WANDB_API_KEY --logger.wandb.project TTRL --logger.wandb.run_name "$RUN_NAME")
else
  ARGS+=(--logger.tensorboard_dir "$OUT_DIR/tensorboard")
fi

if [ "${TTRL_PRINT_ARGS:-}" = 1 ]; then
  printf '%s\n' "${ARGS[@]}"
  exit 0
fi
if [ "${TTRL_DRY_RUN:-}" = 1 ]; then
  exec "$PY" "${ARGS[@]:0:2}" --dry-run "${ARGS[@]:2}"
fi
if [ ! -f "$DATA" ]; then
  echo "$DATA not found: run  bash scripts/prepare_openrlhf_data.sh SRC_DIR $DATA_DIR" >&2
  exit 2
fi
mkdir -p "$OUT_DIR"
"$PY" "${ARGS[@]}" 2>&1 | tee -a "$OUT_DIR/train.log"
