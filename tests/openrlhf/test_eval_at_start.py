"""Baseline evaluation at global step 0: the worker setup hook patches the REAL
``openrlhf.trainer.ppo_trainer`` on import, and the REAL ``PPOTrainer.fit`` then calls
OpenRLHF's own ``evaluate(0, ...)`` once before any update (fresh runs only)."""

from __future__ import annotations

import importlib
import sys
from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest

from ttrl_kit.engines.openrlhf import patch, worker_setup
from ttrl_kit.engines.openrlhf.config import TTRLConfig


@pytest.fixture
def trainer_module(rollout_modules, monkeypatch):
    import types

    util = types.ModuleType("ray.util")
    util.__path__ = []
    monkeypatch.setitem(sys.modules, "ray.util", util)
    for name in ("openrlhf.trainer.ppo_utils.experience_maker", "openrlhf.trainer.ray.launcher",
                 "openrlhf.utils.deepspeed", "openrlhf.datasets", "openrlhf.datasets.utils"):
        monkeypatch.setitem(sys.modules, name, MagicMock())
    monkeypatch.delitem(sys.modules, patch.TRAINER_MODULE, raising=False)
    worker_setup.setup()
    module = importlib.import_module(patch.TRAINER_MODULE)  # the real file, patched on import
    yield module
    worker_setup.teardown()
    sys.modules.pop(patch.TRAINER_MODULE, None)


def _trainer(module, global_step: int):
    """A PPOTrainer with what fit() touches; fit() itself is OpenRLHF's."""
    t = module.PPOTrainer.__new__(module.PPOTrainer)
    t.args = SimpleNamespace(train=SimpleNamespace(num_episodes=0),
                             eval=SimpleNamespace(temperature=0.6, n_samples_per_prompt=16, steps=2))
    t.eval_dataloader = ["eval batch"]
    t.generate_kwargs = {"temperature": 1.0, "n_samples_per_prompt": 32, "max_new_tokens": 3072}
    t.init_checkpoint_states = lambda: {"episode": 0, "global_step": global_step, "total_consumed_prompts": 0,
                                        "data_loader_state_dict": {}}
    t.broadcast_to_vllm = MagicMock()
    t.prompts_dataloader = MagicMock()
    t.wandb_logger = t.tensorboard_logger = None
    t.evaluate = MagicMock(return_value={})
    return t


def test_fresh_run_evaluates_once_at_step_0_with_the_eval_sampler(trainer_module, ttrl_env):
    ttrl_env(eval_at_start=True)
    assert getattr(trainer_module.BasePPOTrainer, "_ttrl_kit_eval_at_start") is True
    t = _trainer(trainer_module, global_step=0)
    trainer_module.PPOTrainer.fit(t)
    t.evaluate.assert_called_once_with(0, temperature=0.6, n_samples_per_prompt=16, max_new_tokens=3072)


def test_resumed_run_and_switched_off_hook_do_not_evaluate(trainer_module, ttrl_env):
    ttrl_env(eval_at_start=True)
    t = _trainer(trainer_module, global_step=40)
    trainer_module.PPOTrainer.fit(t)
    t.evaluate.assert_not_called()
    ttrl_env(eval_at_start=False)
    t = _trainer(trainer_module, global_step=0)
    trainer_module.PPOTrainer.fit(t)
    t.evaluate.assert_not_called()


def test_install_is_idempotent_and_config_round_trips(trainer_module):
    assert patch.install_eval_at_start(trainer_module) is False
    cfg = TTRLConfig(task="math", eval_at_start=True)
    assert TTRLConfig.from_json(cfg.to_json()) == cfg


def test_estimator_state_rides_in_checkpoint_client_states(trainer_module, monkeypatch, ttrl_env):
    """OpenRLHF's REAL save_logs_and_checkpoints / restore_best_checkpoint_state, patched: a
    stateful estimator's running state is saved with the actor checkpoint and handed back to
    the samples generator on resume."""
    from ttrl_kit import GroupScorer

    ttrl_env(eval_at_start=False)
    assert getattr(trainer_module.BasePPOTrainer, "_ttrl_kit_estimator_state") is True
    scorer = GroupScorer.from_names("text_cls", "aligned")
    scorer.score(["positive", "positive", "negative"])
    t = trainer_module.PPOTrainer.__new__(trainer_module.PPOTrainer)
    t.args = SimpleNamespace(logger=SimpleNamespace(logging_steps=1), ckpt=SimpleNamespace(save_steps=1))
    t.wandb_logger = t.tensorboard_logger = t.critic_model_group = None
    t.best_eval_metric_key, t.best_eval_metric_value, t._latest_eval_metric_value = "", float("-inf"), None
    t.samples_generator = SimpleNamespace(_ttrl_rewarder=SimpleNamespace(scorer=scorer))
    saved = []
    t.actor_model_group = SimpleNamespace(async_run_method=lambda **kw: saved.append(kw["client_states"]) or [])
    monkeypatch.setattr(trainer_module.ray, "get", lambda refs: refs)
    t.save_logs_and_checkpoints(3, {}, {"global_step": 3})
    assert saved[0]["global_step"] == 3 and saved[0][patch.STATE_KEY] == scorer.state_record()

    resumed = trainer_module.PPOTrainer.__new__(trainer_module.PPOTrainer)
    resumed.best_eval_metric_key, resumed.best_eval_metric_value = "", float("-inf")
    resumed.samples_generator = SimpleNamespace()
    resumed.restore_best_checkpoint_state(saved[0])
    assert resumed.samples_generator._ttrl_state == scorer.state_record()
