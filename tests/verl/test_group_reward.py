"""Rewards grouped by uid on verl's real DataProto, including the reorder verl's trainer applies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from ttrl_kit import GroupScorer
from ttrl_kit.engines.verl.group_reward import score_batch, vote_layout

# Two prompts, rows interleaved the way verl lays them out (rollout.n rows per uid, then the next uid).
UIDS = ["a"] * 5 + ["b"] * 5
TEXTS = [
    r"\boxed{1}", r"\boxed{2}", r"\boxed{1}", "no answer", r"\boxed{1}",
    r"\boxed{7}", r"\boxed{7}", r"\boxed{3}", r"\boxed{3}", r"\boxed{3}",
]
GOLDS = {"a": "1", "b": "7"}


class CountingScorer(GroupScorer):
    def __init__(self, inner: GroupScorer) -> None:
        super().__init__(inner.task, inner.estimator)
        self.groups: list[int] = []

    def score(self, responses, **kw):  # type: ignore[override]
        self.groups.append(len(responses))
        return super().score(responses, **kw)


@pytest.fixture
def scorer() -> CountingScorer:
    return CountingScorer(GroupScorer.from_names("math", "majority"))


def rewards_by_row(data, scored) -> dict[int, float]:
    return {int(r): float(scored.rm_scores[i].sum()) for i, r in enumerate(data.non_tensor_batch["row"])}


def test_majority_reward_at_last_valid_token_one_call_per_uid(rollout_batch, scorer, tokenizer):
    data = rollout_batch(UIDS, TEXTS, GOLDS, width=12)
    scored = score_batch(scorer, data, tokenizer)
    assert scorer.groups == [5, 5]  # one estimator call per uid group
    assert rewards_by_row(data, scored) == {0: 1, 1: 0, 2: 1, 3: 0, 4: 1, 5: 0, 6: 0, 7: 1, 8: 1, 9: 1}
    lengths = data.batch["response_mask"].sum(-1)
    for i in range(len(data)):
        nonzero = torch.nonzero(scored.rm_scores[i]).flatten().tolist()
        assert nonzero in ([], [int(lengths[i]) - 1])  # only the last valid token carries the reward
    # gold is reported: prompt a's label 1 is right, b's label 3 is wrong (gold 7)
    assert scored.metrics["ttrl/label_accuracy"] == 0.5
    assert scored.metrics["ttrl/majority_ratio"] == pytest.approx(0.6)
    assert scored.metrics["ttrl/groups"] == 2
    # the label-free health (core/health.py), logged like the embedded engine's metrics.jsonl
    assert scored.metrics["ttrl/health_majority_ratio"] == scored.metrics["ttrl/majority_ratio"]
    assert {"ttrl/health_zero_variance_share", "ttrl/health_distinct_answers", "ttrl/health_mean_length"} <= set(
        scored.metrics
    )


def test_gold_never_changes_rewards(rollout_batch, scorer, tokenizer):
    with_gold = score_batch(scorer, rollout_batch(UIDS, TEXTS, GOLDS, width=12), tokenizer)
    wrong_gold = score_batch(scorer, rollout_batch(UIDS, TEXTS, {"a": "9", "b": "9"}, width=12), tokenizer)
    no_gold = score_batch(scorer, rollout_batch(UIDS, TEXTS, None, width=12), tokenizer)
    assert torch.equal(with_gold.rm_scores, wrong_gold.rm_scores)
    assert torch.equal(with_gold.rm_scores, no_gold.rm_scores)
    assert "ttrl/label_accuracy" not in no_gold.metrics


def test_balance_batch_reorder_gives_the_same_rewards(rollout_batch, scorer, tokenizer, compose_verl):
    """verl's REAL RayPPOTrainer._balance_batch reorders the rows (by sequence length,
    across 2 data-parallel ranks); each row keeps its reward."""
    from verl.trainer.ppo.ray_trainer import RayPPOTrainer

    plain = rollout_batch(UIDS, TEXTS, GOLDS, width=12)
    shuffled = rollout_batch(UIDS, TEXTS, GOLDS, width=12)
    trainer = RayPPOTrainer.__new__(RayPPOTrainer)
    trainer.config = compose_verl(["+ttrl.task=math"])
    trainer.actor_rollout_wg = SimpleNamespace()
    trainer._get_dp_size = lambda wg, role: 2  # the one call that asks the GPU worker group
    metrics: dict = {}
    trainer._balance_batch(shuffled, metrics=metrics)
    order = [int(r) for r in shuffled.non_tensor_batch["row"]]
    assert order != sorted(order), "balance_batch did not reorder this batch; the test would prove nothing"
    assert "global_seqlen/min" in metrics
    assert rewards_by_row(shuffled, score_batch(scorer, shuffled, tokenizer)) == rewards_by_row(
        plain, score_batch(scorer, plain, tokenizer)
    )


def test_random_permutations_give_the_same_rewards(rollout_batch, scorer, tokenizer):
    plain = rollout_batch(UIDS, TEXTS, GOLDS, width=12)
    expected = rewards_by_row(plain, score_batch(scorer, plain, tokenizer))
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        data = rollout_batch(UIDS, TEXTS, GOLDS, width=12)
        data.reorder(torch.randperm(len(data), generator=gen))  # DataProto.reorder, as balance_batch uses
        assert rewards_by_row(data, score_batch(scorer, data, tokenizer)) == expected


def test_n_train_rewards_the_first_rows_of_each_group_and_votes_with_all(rollout_batch, scorer, tokenizer):
    # first 2 rows of each uid are trained; the majority comes from all 4 votes
    uids = ["a"] * 4 + ["b"] * 4
    texts = [r"\boxed{2}", r"\boxed{1}", r"\boxed{1}", r"\boxed{1}"] * 2
    data = rollout_batch(uids, texts, width=10)
    scored = score_batch(scorer, data, tokenizer, n_train=2)
    assert scored.trained == (0, 1, 4, 5)
    assert [float(x) for x in scored.rm_scores.sum(-1)] == [0, 1, 0, 0, 0, 1, 0, 0]
    assert scored.metrics["ttrl/n_votes"] == 4 and scored.metrics["ttrl/n_train"] == 2


def test_vote_layout_puts_own_rows_first_then_copies():
    rows, back = vote_layout(["a", "a", "b", "b"], 3)
    assert rows == [0, 1, 0, 2, 3, 2]
    assert back == [0, 1, 3, 4]
    rows, back = vote_layout(["b", "a", "b", "a"], 2)  # any row order: grouped by uid, never by position
    assert rows == [0, 2, 1, 3] and back == [0, 2, 1, 3]
    with pytest.raises(ValueError):
        vote_layout(["a", "a", "a"], 2)
