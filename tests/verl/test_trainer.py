"""TTRLRayPPOTrainer._update_actor over verl's REAL RayPPOTrainer._update_actor (batch to
tensordict, no-padding conversion, metric renaming); the actor worker group (FSDP on GPUs)
is replaced by one that records the batch and returns fixed metrics."""

from __future__ import annotations

from types import SimpleNamespace

from tensordict import TensorDict

from ttrl_kit.engines.verl.trainer import TTRLRayPPOTrainer, TTRLTaskRunner


class FakeActorGroup:
    def __init__(self) -> None:
        self.batches: list = []

    def update_actor(self, batch_td):
        from verl.utils import tensordict_utils as tu

        self.batches.append(batch_td)
        out = TensorDict({}, batch_size=[])
        tu.assign_non_tensor(out, metrics={"mfu": 0.5, "pg_loss": 0.25})
        return out


def test_update_actor_adds_the_steps_ttrl_metrics(compose_verl, rollout_batch):
    trainer = TTRLRayPPOTrainer.__new__(TTRLRayPPOTrainer)
    trainer.config = compose_verl(["+ttrl.task=math", "actor_rollout_ref.rollout.n=2"])
    trainer.actor_rollout_wg = FakeActorGroup()
    pending = {"ttrl/majority_ratio": 0.75, "ttrl/label_accuracy": 0.5}
    trainer.async_rollout_manager = SimpleNamespace(pop_metrics=lambda: dict(pending))
    batch = rollout_batch(["a", "a", "b", "b"], [r"\boxed{1}", "x", r"\boxed{2}", "yy"], width=10)
    batch.batch["old_log_probs"] = batch.batch["advantages"] = batch.batch["response_mask"].float()
    out = trainer._update_actor(batch)
    metrics = out.meta_info["metrics"]
    assert metrics["actor/pg_loss"] == 0.25 and metrics["perf/mfu/actor"] == 0.5  # verl's own renaming ran
    assert metrics["ttrl/majority_ratio"] == 0.75 and metrics["ttrl/label_accuracy"] == 0.5
    assert len(trainer.actor_rollout_wg.batches) == 1


def test_task_runner_is_a_ray_actor_class_of_verls_base_runner():
    from verl.trainer.main_ppo_v0 import BaseTaskRunner

    assert hasattr(TTRLTaskRunner, "remote")  # what verl's run_ppo calls
    assert issubclass(TTRLTaskRunner.__ray_metadata__.modified_class, BaseTaskRunner)


def test_estimator_state_is_saved_before_verls_checkpoint_and_restored_on_resume(compose_verl, tmp_path, monkeypatch):
    import os

    from verl.trainer.ppo.ray_trainer import RayPPOTrainer

    from ttrl_kit import GroupScorer
    from ttrl_kit.core.batch import STATE_FILE

    seen = []
    monkeypatch.setattr(RayPPOTrainer, "_save_checkpoint",
                        lambda self: seen.append(sorted(os.listdir(tmp_path / f"global_step_{self.global_steps}"))))
    config = compose_verl(["+ttrl.task=text_cls", "+ttrl.estimator=aligned", f"trainer.default_local_dir={tmp_path}"])
    scorer = GroupScorer.from_names("text_cls", "aligned")
    scorer.score(["positive", "positive", "negative"])
    trainer = TTRLRayPPOTrainer.__new__(TTRLRayPPOTrainer)
    trainer.config, trainer.global_steps = config, 5
    trainer.async_rollout_manager = SimpleNamespace(scorer=scorer)
    trainer._save_checkpoint()
    assert seen == [[STATE_FILE]]  # written before verl's own files and its latest-iteration marker

    monkeypatch.setattr(RayPPOTrainer, "_load_checkpoint", lambda self: setattr(self, "global_steps", 5))
    resumed = TTRLRayPPOTrainer.__new__(TTRLRayPPOTrainer)
    resumed.config, resumed.global_steps = config, 0
    fresh = GroupScorer.from_names("text_cls", "aligned")
    resumed.async_rollout_manager = SimpleNamespace(scorer=fresh)
    resumed._load_checkpoint()
    assert fresh.state_record() == scorer.state_record()
