"""The gold reward manager through verl's REAL reward-loop loader (importlib and register paths)."""

from __future__ import annotations

from omegaconf import open_dict

from ttrl_kit.engines.verl.reward_manager import NAME, TTRLGoldRewardManager


def load(config, tokenizer):
    from verl.trainer.ppo.reward import load_reward_manager

    # the keyword arguments verl's RewardLoopWorker passes
    return load_reward_manager(config, tokenizer, reward_router_address=None, reward_model_tokenizer=None)


def test_importlib_path_loads_and_grades_against_gold(compose_verl, tokenizer, rollout_batch):
    config = compose_verl(["+ttrl.task=math"])
    assert config.reward.reward_manager.source == "importlib"
    manager = load(config, tokenizer)
    assert type(manager).__name__ == "TTRLGoldRewardManager"
    data = rollout_batch(["a", "b", "c", "d"], [r"\boxed{4}", r"\boxed{5}", "x" * 200, r"\boxed{4}"],
                         {"a": "4", "b": "4", "c": "4"}, width=64)
    run = manager.loop.run_until_complete  # the event loop verl's reward-loop worker gives the manager
    results = [run(manager.run_single(data[i:i + 1])) for i in range(len(data))]
    assert [r["reward_score"] for r in results] == [1.0, 0.0, 0.0, 0.0]  # d has no gold: 0
    assert all(r["reward_extra_info"] == {"acc": r["reward_score"]} for r in results)


def test_register_path_after_import(compose_verl, tokenizer):
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    config = compose_verl(["+ttrl.task=math"])
    with open_dict(config):
        config.reward.reward_manager.source = "register"
        config.reward.reward_manager.name = NAME
    assert resolve_reward_manager_cls(config) is TTRLGoldRewardManager
    assert isinstance(load(config, tokenizer), TTRLGoldRewardManager)


def test_validation_metrics_are_avg_at_k(compose_verl, tokenizer, rollout_batch):
    """The manager's ``acc`` through verl's REAL validation aggregation (``_val_metrics_update``):
    ``val-core/<data_source>/acc/mean@k`` is avg@k against the gold label."""
    import numpy as np
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer

    from ttrl_kit.core.metrics import avg_at_k

    config = compose_verl(["+ttrl.task=math"])
    manager = load(config, tokenizer)
    uids = ["p"] * 4 + ["q"] * 4
    answers = [r"\boxed{3}", r"\boxed{3}", r"\boxed{4}", "none", r"\boxed{8}", r"\boxed{8}", r"\boxed{8}", r"\boxed{8}"]
    data = rollout_batch(uids, answers, {"p": "3", "q": "9"}, width=12)
    acc = [manager.loop.run_until_complete(manager.run_single(data[i:i + 1]))["reward_extra_info"]["acc"]
           for i in range(len(data))]
    trainer = RayPPOTrainer.__new__(RayPPOTrainer)
    metrics = trainer._val_metrics_update(np.array(["aime2024"] * 8, dtype=object), uids,
                                          {"reward": acc, "acc": acc}, [])
    expected = (avg_at_k([True, True, False, False]) + avg_at_k([False] * 4)) / 2
    assert metrics["val-core/aime2024/acc/mean@4"] == expected == 0.25
