"""verl 0.9.1 engine: ttrl-kit estimators on verl's Ray PPO/GRPO trainer, without a fork.

Modules (each one job):
  settings        the ``ttrl`` section of verl's Hydra config -> task/estimator/n_votes; signal refusal
  group_reward    a DataProto -> rewards grouped by ``uid`` (one estimator call per group), rm_scores
  agent_loop      TTRLAgentLoopManager: vote on n_votes, reward, keep rollout.n per uid (training steps)
  reward_manager  TTRLGoldRewardManager: verl's per-sample reward loop grades against gold (validation avg@k)
  trainer         TTRLRayPPOTrainer (TTRL metrics in verl's log) and its Ray task runner
  launcher        ``python -m ttrl_kit.engines.verl``: wiring, verl's config loader, GPU check, run_ppo
  prepare_data    task rows -> verl's RL parquet (prompt, data_source, reward_model, extra_info)
Only ``settings``, ``group_reward`` (torch), ``launcher`` and ``prepare_data`` import without verl.
"""
