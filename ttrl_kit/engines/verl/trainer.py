"""verl's PPO trainer with the TTRL metrics in its log, and the Ray task runner that builds it.

The trainer subclass changes one thing: after each actor update it adds the TTRL numbers of
the step (``ttrl/label_accuracy``, ``ttrl/reward_accuracy``, ``ttrl/majority_ratio``, the
estimator's health statistics...) to the metrics verl logs.  ``_update_actor`` is the
trainer method whose returned ``meta_info["metrics"]`` verl merges into the step's metrics,
and it runs once per step after the step's generation.  Voting, rewards and
downsampling happen in :class:`~ttrl_kit.engines.verl.agent_loop.TTRLAgentLoopManager`.

The task runner is verl's ``BaseTaskRunner`` (worker roles, resource pools) with a ``run``
that builds this trainer, the way verl's recipes (e.g. DAPO) bring their own trainer class.
"""

from __future__ import annotations

import os
from typing import Any

import ray
from verl.protocol import DataProto
from verl.trainer.main_ppo_v0 import BaseTaskRunner
from verl.trainer.ppo.ray_trainer import RayPPOTrainer


class TTRLRayPPOTrainer(RayPPOTrainer):
    """``RayPPOTrainer`` that logs the agent-loop manager's TTRL metrics with each step, and
    saves / restores a stateful estimator's running state (e.g. the aligned vote's running
    class frequencies) with verl's checkpoints: ``global_step_N/ttrl_estimator_state.json``,
    written before verl's own files so ``latest_checkpointed_iteration.txt`` never points at
    a checkpoint without it."""

    def _scorer(self) -> Any:
        return getattr(getattr(self, "async_rollout_manager", None), "scorer", None)

    def _step_folder(self) -> str:
        return os.path.join(self.config.trainer.default_local_dir, f"global_step_{self.global_steps}")

    def _save_checkpoint(self) -> None:
        scorer = self._scorer()
        if scorer is not None and scorer.state_record() is not None:
            folder = self._step_folder()
            os.makedirs(folder, exist_ok=True)
            scorer.save_state(folder)
        super()._save_checkpoint()

    def _load_checkpoint(self) -> Any:
        out = super()._load_checkpoint()
        scorer = self._scorer()
        if scorer is not None and self.global_steps:
            t = self.config.trainer
            folder = t.resume_from_path if t.resume_mode == "resume_path" else self._step_folder()
            if scorer.load_state(os.path.abspath(folder)):
                print(f"ttrl-kit: estimator state restored from {folder}")
        return out

    def _update_actor(self, batch: DataProto) -> DataProto:
        output = super()._update_actor(batch)
        pop = getattr(self.async_rollout_manager, "pop_metrics", None)
        if pop is not None:
            output.meta_info.setdefault("metrics", {}).update(pop())
        return output


class _TTRLTaskRunner(BaseTaskRunner):
    """Builds datasets, workers and :class:`TTRLRayPPOTrainer` from verl's config, then fits."""

    def run(self, config: Any) -> None:
        from omegaconf import OmegaConf
        from verl.trainer.ppo.utils import create_rl_dataset, create_rl_sampler, need_critic, need_reference_policy
        from verl.utils.config import omega_conf_to_dataclass, validate_config
        from verl.utils.dataset.rl_dataset import collate_fn

        OmegaConf.resolve(config)
        actor_rollout_cls, worker_group_cls = self.add_actor_rollout_worker(config)
        self.add_critic_worker(config)
        self.add_reward_model_resource_pool(config)
        self.add_teacher_model_resource_pool(config)
        self.add_ref_policy_worker(config, actor_rollout_cls)
        validate_config(
            config=config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config)
        )
        model = omega_conf_to_dataclass(config.actor_rollout_ref.model)
        datasets = {
            split: create_rl_dataset(
                files,
                config.data,
                model.tokenizer,
                model.processor,
                is_train=split == "train",
                max_samples=config.data.get(f"{split}_max_samples", -1),
            )
            for split, files in (("train", config.data.train_files), ("val", config.data.val_files))
        }
        trainer = TTRLRayPPOTrainer(
            config=config,
            tokenizer=model.tokenizer,
            processor=model.processor,
            role_worker_mapping=self.role_worker_mapping,
            resource_pool_manager=self.init_resource_pool_mgr(config),
            ray_worker_group_cls=worker_group_cls,
            train_dataset=datasets["train"],
            val_dataset=datasets["val"],
            collate_fn=collate_fn,
            train_sampler=create_rl_sampler(config.data, datasets["train"]),
        )
        trainer.init_workers()
        trainer.fit()


TTRLTaskRunner = ray.remote(_TTRLTaskRunner)
"""The Ray actor class :func:`verl.trainer.main_ppo.run_ppo` starts (``task_runner_class``)."""
