"""The TRL reward function: one estimator call per prompt group, keyed by prompt id.

TRL calls a reward function once per generation batch with dataset columns repeated per
completion.  We regroup by the prompt-id column (never by position: TRL's order is an
implementation detail, and ``shuffle_sequence_dict`` reorders later anyway), hand each
whole group to :class:`ttrl_kit.GroupScorer`, and scatter the rewards back.

n_votes > n_train: TRL samples exactly ``num_generations = n_train`` completions per prompt
and trains on all of them.  The extra ``n_votes - n_train`` votes are generated here by a
callback the trainer provides (one batched ``generate`` for all prompts of the step), they
vote, and they are never trained on.  We chose this over letting TRL sample n_votes and
dropping rows afterwards because dropping rows would have to rewrite every tensor TRL
builds (logps, masks, ``num_items_in_batch``) inside ``_generate_and_score_completions``;
this way TRL's batch arithmetic stays exactly as its docs describe.  The trained samples
are put first in each group, which is what the estimators' ``n_train`` contract expects.
Cost: with vLLM the extra votes still use HF ``generate`` on the training model.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ttrl_kit.core import metrics
from ttrl_kit.core.records import GroupResult
from ttrl_kit.core.scoring import GroupScorer, group_indices, summarise

#: ``extra_votes(prompts_by_id, n) -> {id: [n completion texts]}``
ExtraVotes = Callable[["OrderedDict[str, Any]", int], Mapping[str, Sequence[str]]]


class GroupSplitError(RuntimeError):
    """A prompt group arrived incomplete: voting over it would be a different estimate."""


def completion_text(completion: Any) -> str:
    """TRL hands conversational completions as ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        last = completion[-1]
        if isinstance(last, Mapping):
            content = last.get("content", "")
            if isinstance(content, list):  # typed content blocks
                return "".join(b.get("text", "") for b in content if isinstance(b, Mapping))
            return content if isinstance(content, str) else ""
    return ""


@dataclass
class StepStats:
    """What one reward call measured; the trainer's callback turns it into a metrics line."""

    results: list[GroupResult] = field(default_factory=list)
    estimate_s: float = 0.0
    extra_generate_s: float = 0.0

    def summary(self) -> dict[str, float | None]:
        rs = self.results
        out: dict[str, float | None] = {"groups": float(len(rs))}
        if not rs:
            return out
        rewards = [x for r in rs for x in r.rewards]
        out["reward_mean"] = sum(rewards) / len(rewards) if rewards else 0.0
        out["majority_ratio"] = sum(r.estimate.majority_ratio for r in rs) / len(rs)
        out["answer_entropy"] = sum(metrics.answer_entropy(r.classes.counts()) for r in rs) / len(rs)
        out["abstain_ratio"] = sum(sum(a is None for a in r.answers) / len(r.answers) for r in rs) / len(rs)
        out["zero_variance_groups"] = sum(1.0 for r in rs if len(set(r.rewards)) <= 1) / len(rs)
        out["low_consensus_groups"] = sum(1.0 for r in rs if r.estimate.low_consensus) / len(rs)
        # Gold-based numbers come from the core's batch summary (same definitions as `vote`).
        core = summarise(rs)
        out["label_accuracy"] = core.get("label_accuracy")
        out["reward_accuracy"] = core.get("reward_accuracy")
        if "avg_at_k" in core:
            out["train_avg_at_n"] = core["avg_at_k"]
        return out


class GroupReward:
    """Callable with TRL's reward-function signature; keeps the last step's stats."""

    def __init__(
        self,
        scorer: GroupScorer,
        *,
        n_train: int,
        n_votes: int,
        id_column: str,
        gold_column: str | None,
        extra_votes: ExtraVotes | None = None,
    ) -> None:
        if n_votes < n_train:
            raise ValueError(f"n_votes={n_votes} < n_train={n_train}")
        if n_votes > n_train and extra_votes is None:
            raise ValueError("n_votes > n_train needs an extra_votes generator")
        self.scorer = scorer
        self.n_train = n_train
        self.n_votes = n_votes
        self.id_column = id_column
        self.gold_column = gold_column
        self.extra_votes = extra_votes
        self.__name__ = "ttrl"  # TRL logs reward functions by __name__
        self.last = StepStats()
        #: Stats of reward calls not yet written to metrics.jsonl (the trainer drains it).
        self.pending: list[StepStats] = []

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, **kw: Any) -> list[float]:
        if self.id_column not in kw:
            raise KeyError(f"reward function needs the {self.id_column!r} dataset column (set remove_unused_columns=False)")
        ids = [str(x) for x in kw[self.id_column]]
        golds_col = kw.get(self.gold_column) if self.gold_column else None
        texts = [completion_text(c) for c in completions]
        groups = group_indices(ids)
        for gid, idx in groups.items():
            if len(idx) != self.n_train:
                raise GroupSplitError(
                    f"prompt {gid!r}: {len(idx)} samples in this batch, expected {self.n_train}; "
                    "a group was split (more than one process?)"
                )
        stats = StepStats()
        extra: Mapping[str, Sequence[str]] = {}
        if self.n_votes > self.n_train:
            t0 = time.perf_counter()
            first_prompt = OrderedDict((gid, prompts[idx[0]]) for gid, idx in groups.items())
            extra = self.extra_votes(first_prompt, self.n_votes - self.n_train)  # type: ignore[misc]
            stats.extra_generate_s = time.perf_counter() - t0
        rewards = [0.0] * len(texts)
        t0 = time.perf_counter()
        for gid, idx in groups.items():
            responses = [texts[i] for i in idx] + list(extra.get(gid, ()))
            gold = None
            if golds_col is not None:
                g = golds_col[idx[0]]
                gold = g if isinstance(g, str) and g != "" else None
            result = self.scorer.score(responses, gold=gold, n_train=len(idx), id=gid)
            for j, i in enumerate(idx):
                rewards[i] = float(result.rewards[j])
            stats.results.append(result)
        stats.estimate_s = time.perf_counter() - t0
        self.last = stats
        self.pending.append(stats)
        return rewards
