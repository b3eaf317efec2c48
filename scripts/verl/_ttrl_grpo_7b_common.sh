#!/usr/bin/env bash
# Shared body of scripts/verl/ttrl_{aime,amc,math500}_grpo_7b.sh: TTRL's verl recipe as verl 0.9.1
# Hydra overrides for `python -m ttrl_kit.engines.verl`. The calling script sets the per-benchmark knobs:
#   TTRL_DATASET (parquet stem), TTRL_MAX_PROMPT (prompt tokens), TTRL_PROMPTS_PER_STEP (data.train_batch_size),
#   TTRL_EPOCHS (trainer.total_epochs: passes over the unlabelled test set).
# Common to the three benchmarks, as in the TTRL verl scripts: 64 votes / 32 trained per prompt, lr 5e-7
# (warm-up 0.03, cosine), Adam betas (0.9, 0.999), weight decay 0.01, temperature 1.0, response 3072 tokens,
# GRPO with KL loss 0.001 (low_var_kl) and no KL in the reward, 32 responses per optimizer step,
# validation avg@16 at T=0.6 / top_p 0.95 every 2 steps.
set -euo pipefail
DRY_RUN=${TTRL_DRY_RUN:-0}
POS=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    *) POS+=("$arg") ;;
  esac
done
if [ ${#POS[@]} -lt 2 ] || [ ${#POS[@]} -gt 3 ]; then
  echo "usage: bash $0 OUT_DIR MODEL_DIR [WANDB_KEY] [--dry-run]" >&2
  exit 2
fi
OUT_DIR=$(realpath -m "${POS[0]}")                         # Ray actors do not share our cwd
MODEL_DIR=${POS[1]}
[ -d "$MODEL_DIR" ] && MODEL_DIR=$(realpath "$MODEL_DIR")  # else a hub id, passed as is
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DATA_DIR=$(realpath -m "${DATA_DIR:-$REPO/data/verl}")
DATA=$DATA_DIR/$TTRL_DATASET.parquet
N_GPUS=${N_GPUS:-8}
PY=${PYTHON:-python3}
RUN_NAME=ttrl-$TTRL_DATASET-grpo-$(basename "$MODEL_DIR")
LOGGER="['console','tensorboard']"
if [ ${#POS[@]} -eq 3 ] && [ -n "${POS[2]}" ]; then
  export WANDB_API_KEY=${POS[2]}   # read by wandb inside verl's tracker; never on a command line or in a log
  LOGGER="['console','wandb']"
fi
export TENSORBOARD_DIR=$OUT_DIR/tensorboard

ARGS=(
  +ttrl.task="${TTRL_KIT_TASK:-math}" +ttrl.estimator="${TTRL_KIT_ESTIMATOR:-majority}" +ttrl.n_votes=64
  algorithm.adv_estimator=grpo algorithm.use_kl_in_reward=False
  data.train_files="$DATA" data.val_files="$DATA"
  data.train_batch_size="$TTRL_PROMPTS_PER_STEP" data.max_prompt_length="$TTRL_MAX_PROMPT"
  data.max_response_length=3072 data.filter_overlong_prompts=True data.truncation=error
  actor_rollout_ref.model.path="$MODEL_DIR"
  actor_rollout_ref.model.use_remove_padding=True actor_rollout_ref.model.enable_gradient_checkpointing=True
  actor_rollout_ref.actor.optim.lr=5e-7 actor_rollout_ref.actor.optim.lr_warmup_steps_ratio=0.03
  actor_rollout_ref.actor.optim.lr_scheduler_type=cosine actor_rollout_ref.actor.optim.weight_decay=0.01
  "actor_rollout_ref.actor.optim.betas=[0.9,0.999]"
  actor_rollout_ref.actor.ppo_mini_batch_size=1 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2
  actor_rollout_ref.actor.use_kl_loss=True actor_rollout_ref.actor.kl_loss_coef=0.001
  actor_rollout_ref.actor.kl_loss_type=low_var_kl actor_rollout_ref.actor.entropy_coeff=0
  actor_rollout_ref.actor.clip_ratio=0.2
  actor_rollout_ref.actor.fsdp_config.param_offload=False actor_rollout_ref.actor.fsdp_config.optimizer_offload=False
  actor_rollout_ref.ref.fsdp_config.param_offload=True actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2
  actor_rollout_ref.rollout.name=vllm actor_rollout_ref.rollout.tensor_model_parallel_size=1
  actor_rollout_ref.rollout.gpu_memory_utilization=0.6 actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2
  actor_rollout_ref.rollout.n=32 actor_rollout_ref.rollout.temperature=1.0 actor_rollout_ref.rollout.top_p=1.0
  actor_rollout_ref.rollout.val_kwargs.n=16 actor_rollout_ref.rollout.val_kwargs.do_sample=True
  actor_rollout_ref.rollout.val_kwargs.temperature=0.6 actor_rollout_ref.rollout.val_kwargs.top_p=0.95
  trainer.n_gpus_per_node="$N_GPUS" trainer.nnodes=1 trainer.critic_warmup=0
  trainer.total_epochs="$TTRL_EPOCHS" trainer.test_freq=2 trainer.val_before_train=True
  trainer.save_freq=40 trainer.max_actor_ckpt_to_keep=2 trainer.default_local_dir="$OUT_DIR/ckpt"
  trainer.logger="$LOGGER" trainer.project_name=TTRL trainer.experiment_name="$RUN_NAME"
)

if [ "$DRY_RUN" = 1 ]; then
  exec "$PY" -m ttrl_kit.engines.verl --dry-run "${ARGS[@]}"
fi
mkdir -p "$OUT_DIR"
"$PY" -m ttrl_kit.engines.verl "${ARGS[@]}" 2>&1 | tee -a "$OUT_DIR/train.log"
