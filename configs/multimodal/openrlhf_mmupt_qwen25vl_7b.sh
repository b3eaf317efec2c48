#!/usr/bin/env bash
# NOT RUN HERE (needs 8 GPUs, vLLM, DeepSpeed and the Qwen2.5-VL-7B-Instruct weights).  Its flags
# are checked against OpenRLHF 0.11.2's real parser source by tests/multimodal/test_configs.py.
#
# Label-free MM-UPT / TTRL on Geometry3K with OpenRLHF 0.11.2 (Ray + vLLM + DeepSpeed), GRPO, 8 GPUs:
#
#   python -m ttrl_multimodal.export --dataset visual_file \
#       --source data/geometry3k/data/train-00000-of-00001.parquet \
#       --task-option min_pixels=262144 --task-option max_pixels=1204224 \
#       --datasource geometry3k --out data/openrlhf/geometry3k
#   [WANDB_API_KEY=...] bash configs/multimodal/openrlhf_mmupt_qwen25vl_7b.sh OUT_DIR MODEL_DIR [WANDB_KEY]
#
# MM-UPT's settings (arXiv 2505.22453, examples/config.yaml): 10 samples per prompt, all voting
# and all trained, temperature 0.7, top_p 0.99, lr 1e-6, KL *loss* low_var_kl (= k3) 1e-2,
# rollout batch 512 prompts, update batch 128 prompts (= 1280 samples), prompt/response
# 2048/2048, 15 episodes, vision tower trained.  The images were already smart-resized into
# [262144, 1204224] pixels by the exporter, so OpenRLHF's processor keeps them as they are.
# OpenRLHF 0.11 VLM constraints: no critic (group_norm advantages), no --ds.packing_samples.
# The ttrl-kit group hook votes over each prompt's 10 decoded responses with --task multimodal;
# the images and mm_train_inputs OpenRLHF attached to each response pass through untouched.
# ttrl-kit's additions (not MM-UPT's): OpenRLHF's eval (gold labels, reporting only) on EVAL_DATA
# (default: the training prompts, as in test-time training) at step 0 and every 5 steps, 4 samples
# at T=0.7; no "best" checkpoint (it would be chosen with gold labels); the wandb key only from
# WANDB_API_KEY (a third argument is exported as it), never echoed nor passed as a flag.
# Env: DATA (default data/openrlhf/geometry3k/data.jsonl), EVAL_DATA, N_GPUS (8), PYTHON,
#      TTRL_PRINT_ARGS=1 (print the launcher argv), TTRL_DRY_RUN=1 (print the plan and command line).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: [WANDB_API_KEY=...] bash $0 OUT_DIR MODEL_DIR [WANDB_KEY]" >&2
  exit 2
fi
if [ -n "${3:-}" ]; then export WANDB_API_KEY=$3; fi
OUT_DIR=$(realpath -m "$1")
MODEL_DIR=$2
[ -d "$MODEL_DIR" ] && MODEL_DIR=$(realpath "$MODEL_DIR")
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${DATA:-$REPO/data/openrlhf/geometry3k/data.jsonl}
EVAL_DATA=${EVAL_DATA:-$DATA}
N_GPUS=${N_GPUS:-8}
PY=${PYTHON:-python3}

ARGS=(
  -m ttrl_kit.engines.openrlhf
  --task multimodal --task-option prompt_style=boxed --estimator majority --n-votes 10
  --eval-at-start
  --
  --actor.model_name_or_path "$MODEL_DIR"
  --actor.num_nodes 1 --actor.num_gpus_per_node "$N_GPUS"
  --ref.num_nodes 1 --ref.num_gpus_per_node "$N_GPUS"
  --vllm.num_engines "$N_GPUS" --vllm.tensor_parallel_size 1 --vllm.gpu_memory_utilization 0.5
  --train.colocate_all --vllm.enable_sleep --ds.enable_sleep
  --data.prompt_dataset "$DATA" --data.input_key prompt --data.label_key answer --data.apply_chat_template
  --data.image_key images --data.max_images_per_prompt 1
  --data.max_len 4096 --rollout.max_new_tokens 2048
  --rollout.n_samples_per_prompt 10 --rollout.batch_size 512 --rollout.micro_batch_size 4
  --rollout.temperature 0.7 --rollout.top_p 0.99
  --train.batch_size 1280 --train.micro_batch_size 2 --train.max_epochs 1 --train.num_episodes 15
  --algo.advantage.estimator group_norm
  --algo.kl.use_loss --algo.kl.init_coef 0.01 --algo.kl.estimator k3
  --actor.adam.lr 1e-6 --actor.adam.weight_decay 0.01
  --ds.zero_stage 3 --ds.param_dtype bf16
  --actor.gradient_checkpointing_enable
  --eval.dataset "$EVAL_DATA" --eval.n_samples_per_prompt 4 --eval.temperature 0.7 --eval.steps 5
  --ckpt.output_dir "$OUT_DIR/model" --ckpt.path "$OUT_DIR/ckpt" --ckpt.save_steps 20 --ckpt.max_num 2
  --ckpt.best_metric_key none
  --logger.logging_steps 1
)
if [ -n "${WANDB_API_KEY:-}" ]; then
  ARGS+=(--logger.wandb.key from-env:WANDB_API_KEY --logger.wandb.project TTRL-MM
         --logger.wandb.run_name "mmupt-geometry3k-$(basename "$MODEL_DIR")")
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
  echo "$DATA not found: run python -m ttrl_multimodal.export (see the header of $0)" >&2
  exit 2
fi
mkdir -p "$OUT_DIR"
"$PY" "${ARGS[@]}" 2>&1 | tee -a "$OUT_DIR/train.log"
