"""The embedded engine's reward function: the public :class:`ttrl_kit.trl.TTRLReward`, set up
from a run config.

TRL calls a reward function once per generation batch with dataset columns repeated per
completion.  ``TTRLReward`` regroups by the prompt-id column (never by position: TRL's order
is an implementation detail, and ``shuffle_sequence_dict`` reorders later anyway), gathers the
rows of every rank first when several processes train, hands each whole group to
:class:`ttrl_kit.GroupScorer` once, and scatters the rewards back.

n_votes > n_train: TRL samples exactly ``num_generations = n_train`` completions per prompt
and trains on all of them.  The extra ``n_votes - n_train`` votes are generated here by a
callback the trainer provides (one batched ``generate`` for the prompts whose groups this
rank scores), they vote, and they are never trained on.  We chose this over letting TRL
sample n_votes and dropping rows afterwards because dropping rows would have to rewrite
every tensor TRL builds (logps, masks, ``num_items_in_batch``) inside
``_generate_and_score_completions``; this way TRL's batch arithmetic stays exactly as its
docs describe.  The trained samples are put first in each group, which is what the
estimators' ``n_train`` contract expects.  Cost: with vLLM the extra votes still use HF
``generate`` on the training model.

Signals: when the estimator needs per-token signals, ``signals`` is the trainer's
:class:`~ttrl_kit.engines.embedded.signals.SignalCapture` (filled during generation, for the
trained samples and the extra votes); ``TTRLReward`` matches its rows to the completions.
"""

from __future__ import annotations

from typing import Any

from ttrl_kit.core.scoring import GroupScorer
from ttrl_kit.trl import ExtraVotes, GroupSplitError, StepStats, TTRLReward, completion_text

__all__ = ["ExtraVotes", "GroupReward", "GroupSplitError", "StepStats", "completion_text"]


class GroupReward(TTRLReward):
    """``TTRLReward`` with the engine's columns and group sizes (groups must have ``n_train`` rows)."""

    def __init__(
        self,
        scorer: GroupScorer,
        *,
        n_train: int,
        n_votes: int,
        id_column: str,
        gold_column: str | None,
        extra_votes: ExtraVotes | None = None,
        signals: Any = None,
    ) -> None:
        if n_votes < n_train:
            raise ValueError(f"n_votes={n_votes} < n_train={n_train}")
        if n_votes > n_train and extra_votes is None:
            raise ValueError("n_votes > n_train needs an extra_votes generator")
        super().__init__(
            scorer=scorer,
            id_column=id_column,
            gold_column=gold_column,
            num_generations=n_train,
            n_votes=n_votes,
            extra_votes=extra_votes,
            signals=signals,
        )
        self.n_train = n_train
