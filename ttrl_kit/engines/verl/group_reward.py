"""TTRL rewards for a verl ``DataProto``: rows grouped by ``uid``, one estimator call per group.

Why by ``uid`` and never by position: verl's trainer reorders rows (``balance_batch``) and
its agent loop may return them in any layout; ``uid`` is the one field verl itself uses to
find a prompt's group (GRPO advantages are keyed by it).  The reward goes at each
response's last valid token, the place verl's own reward managers use
(``RewardManagerBase.assemble_rm_scores``), so ``rm_scores.sum(-1)`` is the sample reward.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ttrl_kit.core.health import step_health
from ttrl_kit.core.records import GroupResult
from ttrl_kit.core.scoring import GroupScorer, group_indices, summarise

PREFIX = "ttrl/"
"""Prefix of every metric this engine adds to verl's metrics (e.g. ``ttrl/majority_ratio``)."""


@dataclass(frozen=True)
class ScoredBatch:
    """One scored batch.  ``rm_scores`` has verl's ``responses`` shape; ``trained`` lists
    the rows that got a reward (the first ``n_train`` of each group, in batch order); the
    other rows only voted.  ``metrics`` are batch means with :data:`PREFIX`."""

    rm_scores: torch.Tensor
    trained: tuple[int, ...]
    results: tuple[GroupResult, ...]
    metrics: Mapping[str, float] = field(default_factory=dict)


def gold_of(reward_model: Any) -> str | None:
    """verl's ``reward_model["ground_truth"]`` as a gold label, or None when empty.
    Used for reported metrics only."""
    if not isinstance(reward_model, Mapping):
        return None
    gold = reward_model.get("ground_truth")
    if gold is None:
        return None
    gold = str(gold)
    return gold if gold.strip() else None


def response_lengths(data: Any) -> torch.Tensor:
    """Valid response tokens per row, as verl counts them (attention mask after the prompt)."""
    prompt_width = data.batch["prompts"].shape[-1]
    return data.batch["attention_mask"][:, prompt_width:].sum(dim=-1)


def decode_responses(data: Any, tokenizer: Any) -> list[str]:
    """Each row's generated text: its valid response tokens, special tokens dropped (prompt
    tokens are never included, so an instruction in the prompt cannot be voted on)."""
    lengths = response_lengths(data).tolist()
    responses = data.batch["responses"]
    return [tokenizer.decode(responses[i, : int(n)].tolist(), skip_special_tokens=True) for i, n in enumerate(lengths)]


def score_batch(scorer: GroupScorer, data: Any, tokenizer: Any, n_train: int | None = None) -> ScoredBatch:
    """Score a ``DataProto`` holding ``uid`` and ``reward_model`` per row.

    Each ``uid`` group is scored in ONE estimator call; with ``n_train`` the first
    ``n_train`` rows of each group (batch order) are rewarded and the rest only vote.
    Gold labels (``reward_model.ground_truth``) reach the metrics, never the rewards.
    """
    n = len(data)
    uids = [str(u) for u in data.non_tensor_batch["uid"]]
    reward_models = data.non_tensor_batch.get("reward_model")
    golds: dict[Hashable, str | None] = {}
    if reward_models is not None:
        for uid, rm in zip(uids, reward_models, strict=True):
            golds.setdefault(uid, gold_of(rm))
    texts = decode_responses(data, tokenizer)
    groups = scorer.score_groups(uids, texts, golds=golds, n_train=n_train)
    rewards = torch.zeros(n, dtype=torch.float32)
    trained: list[int] = []
    for gid, (idx, result) in groups.items():
        if n_train is not None and len(idx) < n_train:
            raise ValueError(f"uid {gid}: {len(idx)} responses, fewer than the {n_train} to train on")
        for i, reward in zip(idx, result.rewards, strict=False):  # rewards: the first n_train only
            rewards[i] = float(reward)
            trained.append(i)
    rm_scores = torch.zeros(data.batch["responses"].shape, dtype=torch.float32)
    lengths = response_lengths(data)
    last = (lengths - 1).clamp(min=0).long()
    rm_scores[torch.arange(n), last] = rewards
    results = tuple(r for _, r in groups.values())
    metrics = {PREFIX + k: float(v) for k, v in summarise(results).items()}
    health = step_health(results, lengths=[float(lengths[i]) for i in sorted(trained)])  # label-free (core/health.py)
    metrics.update({PREFIX + "health_" + k: float(v) for k, v in health.to_dict().items()})
    return ScoredBatch(rm_scores=rm_scores, trained=tuple(sorted(trained)), results=results, metrics=metrics)


def vote_layout(uids: Sequence[Hashable], n_votes: int) -> tuple[list[int], list[int]]:
    """How to turn a training batch (``rollout.n`` rows per ``uid``) into a voting batch of
    ``n_votes`` rows per ``uid``, and back.

    Returns ``(rows, back)``: ``rows[j]`` is the input row that voting row ``j`` copies
    (each group's own rows first, then copies of its first row), and ``back[i]`` is the
    voting row that answers input row ``i``.  Each group's own rows come first, so they are
    exactly the "first n_train" the estimator rewards; the copies only vote.
    """
    rows: list[int] = []
    back = [0] * len(uids)
    for gid, idx in group_indices(uids).items():
        if len(idx) > n_votes:
            raise ValueError(f"uid {gid}: {len(idx)} rows but only {n_votes} votes")
        for i in idx:
            back[i] = len(rows)
            rows.append(i)
        rows.extend([idx[0]] * (n_votes - len(idx)))
    return rows, back
