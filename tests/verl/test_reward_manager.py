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
