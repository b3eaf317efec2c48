"""TTRLAgentLoopManager around verl's REAL AgentLoopManager.generate_sequences (chunking,
dispatch, concat, performance metrics); only the vLLM-driving workers are scripted."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from verl import DataProto

from ttrl_kit import ConfigError
from ttrl_kit.engines.verl.agent_loop import TTRLAgentLoopManager

ANSWERS = {  # k-th generation for each prompt: a votes 1 (3 of 4), b votes 5 (3 of 4)
    "a": [r"\boxed{2}", r"\boxed{1}", r"\boxed{1}", r"\boxed{1}"],
    "b": [r"\boxed{5}", r"\boxed{6}", r"\boxed{5}", r"\boxed{5}"],
}


def gen_batch(uids: list[str], validate: bool = False) -> DataProto:
    """What RayPPOTrainer hands the rollout manager: non-tensor fields only, rollout.n rows per uid."""
    return DataProto(
        batch=None,
        non_tensor_batch={
            "uid": np.array(uids, dtype=object),
            "reward_model": np.array([{"ground_truth": {"a": "1", "b": "6"}[u]} for u in uids], dtype=object),
            "raw_prompt": np.array([[{"role": "user", "content": u}] for u in uids], dtype=object),
        },
        meta_info={"validate": validate, "global_steps": 1},
    )


@pytest.fixture
def manager(compose_verl, tokenizer, scripted_worker):
    config = compose_verl(["+ttrl.task=math", "+ttrl.n_votes=4", "actor_rollout_ref.rollout.n=2"])
    m = TTRLAgentLoopManager(config, None, tokenizer=tokenizer)
    m.seen, m.calls = {}, []
    m.agent_loop_workers = [scripted_worker(lambda uid, k: ANSWERS[uid][k], m.seen, m.calls) for _ in range(2)]
    return m


def texts(out: DataProto, tokenizer) -> list[str]:
    lengths = out.batch["attention_mask"][:, out.batch["prompts"].shape[1]:].sum(-1)
    return [tokenizer.decode(out.batch["responses"][i, : int(n)], skip_special_tokens=True)
            for i, n in enumerate(lengths)]


def test_votes_on_n_votes_trains_on_rollout_n(manager, tokenizer):
    out = manager.generate_sequences(gen_batch(["a", "a", "b", "b"]))
    assert sum(manager.calls) == 8  # 4 votes per prompt were generated
    assert len(out) == 4  # rollout.n = 2 rows per prompt come back, in the input layout
    assert texts(out, tokenizer) == [r"\boxed{2}", r"\boxed{1}", r"\boxed{5}", r"\boxed{6}"]
    # label over all 4 votes: a -> 1, b -> 5; reward at the last valid token
    assert out.batch["rm_scores"].sum(-1).tolist() == [0.0, 1.0, 1.0, 0.0]
    assert "timing" in out.meta_info  # verl's own performance metrics still reach the trainer
    metrics = manager.pop_metrics()
    assert metrics["ttrl/n_votes"] == 4 and metrics["ttrl/n_train"] == 2
    assert metrics["ttrl/majority_ratio"] == pytest.approx(0.75)
    assert metrics["ttrl/label_accuracy"] == 0.5  # gold a=1 right, b=6 wrong: reported only
    assert manager.pop_metrics() == {}


def test_rows_follow_their_uid_in_any_input_order(manager, tokenizer):
    out = manager.generate_sequences(gen_batch(["b", "a", "b", "a"]))
    got = texts(out, tokenizer)
    assert [t in ANSWERS[u] for t, u in zip(got, ["b", "a", "b", "a"], strict=True)] == [True] * 4
    assert got == [r"\boxed{5}", r"\boxed{2}", r"\boxed{6}", r"\boxed{1}"]
    assert out.batch["rm_scores"].sum(-1).tolist() == [1.0, 0.0, 0.0, 1.0]


def test_validation_passes_through(manager, tokenizer):
    out = manager.generate_sequences(gen_batch(["a", "a", "b", "b"], validate=True))
    assert sum(manager.calls) == 4 and len(out) == 4
    assert "rm_scores" not in out.batch.keys()  # validation keeps verl's per-sample (gold) reward path
    assert manager.pop_metrics() == {}


def test_refuses_fewer_votes_than_trained(compose_verl, tokenizer):
    config = compose_verl(["+ttrl.task=math", "+ttrl.n_votes=2", "actor_rollout_ref.rollout.n=4"])
    with pytest.raises(ConfigError, match="n_votes=2 is smaller than actor_rollout_ref.rollout.n=4"):
        TTRLAgentLoopManager(config, None, tokenizer=tokenizer)


def test_rm_scores_shape_matches_responses(manager):
    out = manager.generate_sequences(gen_batch(["a", "a", "b", "b"]))
    assert out.batch["rm_scores"].shape == out.batch["responses"].shape
    assert out.batch["rm_scores"].dtype == torch.float32
