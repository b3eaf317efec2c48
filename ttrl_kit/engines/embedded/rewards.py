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

Everything the reward needs is handed to it when it is built: the scorer (the core's
factory, :func:`build_scorer`), the extra-vote sampler (:class:`ExtraVoteSampler`, which
holds the policy module itself, not the trainer) and the sink its per-step stats go to.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.records import Signals
from ttrl_kit.core.scoring import GroupScorer
from ttrl_kit.engines.embedded.config import GenerationSection, RunConfig
from ttrl_kit.trl import ExtraVotes, GroupSplitError, StatsSink, StepStats, TTRLReward, completion_text

__all__ = [
    "ExtraVoteSampler",
    "ExtraVotes",
    "GroupReward",
    "GroupSplitError",
    "StepStats",
    "build_scorer",
    "completion_text",
]


def build_scorer(cfg: RunConfig) -> GroupScorer:
    """Task + estimator of the run config, from the core's factory; a refusal names the
    config file and field.  The estimator's own ``n_train`` option must not contradict
    ``ttrl.n_train`` (the engine decides what is trained on)."""
    scorer = GroupScorer.from_names(
        cfg.task.name,
        cfg.estimator.name,
        task_options=cfg.task.options,
        estimator_options=cfg.estimator.options,
        where=cfg.source,
    )
    est_n_train = getattr(getattr(scorer.estimator, "options", None), "n_train", None)
    if est_n_train is not None and est_n_train != cfg.ttrl.n_train:
        raise ConfigError(
            f"{cfg.source}: field 'estimator.options.n_train': set ttrl.n_train instead "
            f"(got {est_n_train} vs {cfg.ttrl.n_train})"
        )
    return scorer


@dataclass
class ExtraVoteSampler:
    """The generator of the non-trained votes (``n_votes - n_train`` per prompt; see the
    module docstring for why they are sampled here).

    ``model`` is the policy module the trainer trains, passed when the trainer is built:
    TRL's ``GRPOTrainer`` trains that very module (a LoRA adapter is injected into it in
    place; DDP wraps it without copying), so the votes always come from the current
    weights.  With a signal ``capture`` the votes' signals are recorded in
    ``capture.extra`` by prompt id."""

    model: Any
    tokenizer: Any
    generation: GenerationSection
    dtype: str
    capture: Any = None

    def __call__(self, prompts_by_id: OrderedDict[Hashable, Any], n: int) -> Mapping[Hashable, Sequence[str]]:
        from ttrl_kit.engines.embedded.generate import sample

        g = self.generation
        ids = list(prompts_by_id)
        capture = self.capture
        with capture.on(self.model) if capture is not None else contextlib.nullcontext():
            texts, lens = sample(
                self.model,
                self.tokenizer,
                [prompts_by_id[i] for i in ids],
                n,
                temperature=g.temperature,
                top_p=g.top_p,
                top_k=g.top_k,
                max_new_tokens=g.max_completion_length,
                dtype=self.dtype,
                fast=g.fast,
            )
        if capture is not None:
            rows = capture.for_lengths([x for per in lens for x in per])
            capture.extra = {gid: Signals.from_rows(rows[j * n : (j + 1) * n]) for j, gid in enumerate(ids)}
        return dict(zip(ids, texts))


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
        stats_sink: StatsSink | None = None,
        labelled_column: str | None = None,
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
            stats_sink=stats_sink,
            labelled_column=labelled_column,
        )
        self.n_train = n_train
