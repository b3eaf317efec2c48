"""OpenRLHF 0.11 engine: a TTRL group-reward hook for OpenRLHF's Ray + vLLM + DeepSpeed PPO/GRPO.

Modules (each one job):
  config           TTRLConfig, carried to Ray workers as one JSON env var
  group_hook       one prompt's n responses -> one estimator call -> rewards/extra_logs (no OpenRLHF import)
  patch            installs the hook into openrlhf's SamplesGenerator (training rollouts only)
  worker_setup     Ray worker_process_setup_hook: patch on import in every worker
  launcher         `ttrl-kit openrlhf` / `python -m ttrl_kit.engines.openrlhf`
  ttrl_reward_func the per-sample --reward.remote_url file (gold-label grader for eval)
  prepare_data     writes task prompts as OpenRLHF prompt datasets (JSONL)
Nothing here imports OpenRLHF, Ray or vLLM at import time.
"""
