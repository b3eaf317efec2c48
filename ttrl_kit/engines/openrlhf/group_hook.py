"""Score one prompt's group of OpenRLHF rollout responses with a ttrl-kit estimator.

OpenRLHF's rollout workers return, per prompt, a list of response dicts
(``observation_tokens``, ``action_ranges``, ``prompt``, ``label``, ``reward``, ``scores``,
``extra_logs``, ...).  This module turns such a list into TTRL rewards in ONE estimator call
and writes them back into the dicts, before OpenRLHF converts them into ``Experience``s.
It imports nothing from OpenRLHF, so it is testable on its own and survives refactors of
the trainer code around it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.health import step_health
from ttrl_kit.core.records import GroupResult, Signals
from ttrl_kit.core.scoring import GroupScorer, summarise
from ttrl_kit.core.topk import DEFAULT_TOPK, signals_from_topk
from ttrl_kit.engines.openrlhf.config import TTRLConfig
from ttrl_kit.engines.openrlhf.topk_capture import TOPK_KEY

PREFIX = "ttrl/"
"""Prefix of every metric the hook adds to OpenRLHF's ``extra_logs`` (shown as ``train/ttrl/...``)."""

SUPPLIED = ("logprob", "entropy", "self_certainty", "topk_logprobs")
"""Signals this engine supplies (see docs/openrlhf.md, "Signals"), all from vLLM's log-probs
of the raw model distribution (vLLM's default ``logprobs_mode="raw_logprobs"``):

* ``logprob``: exact, the sampled token's value (``SamplingParams(logprobs=1)``);
* ``topk_logprobs``: exact, the :data:`~ttrl_kit.core.topk.DEFAULT_TOPK` largest values per
  token (``logprobs=20``), kept by :mod:`.topk_capture` where OpenRLHF drops them;
* ``entropy`` and ``self_certainty``: **approximations** from those top 20 with the rest of the
  mass spread uniformly over the rest of the vocabulary (:mod:`ttrl_kit.core.topk`): an upper
  bound of the entropy and a lower bound of the self-certainty.
The hook asks vLLM for log-probs only when the estimator needs a signal, and for 20 only
when it needs one of the last three (:func:`logprobs_to_request`)."""

TOPK_SIGNALS = ("entropy", "self_certainty", "topk_logprobs")
"""Signals that need vLLM's top-k, not only the sampled token's log-probability."""

LABEL_METRICS = ("label_accuracy", "reward_accuracy", "avg_at_k", "maj_at_k", "pass_at_k")
"""Batch-level metrics that need gold labels (``--data.label_key``); never used for rewards.
The core's :func:`~ttrl_kit.summarise` computes them, with the definitions and names the
other engines, the bench and ``ttrl-kit vote`` use (``avg_at_k`` here is avg@n over the
n_votes samples of each prompt)."""


def response_text(response: Mapping[str, Any], tokenizer: Any) -> str:
    """The generated text of one response: the tokens inside its ``action_ranges``.

    Special tokens are dropped (an end-of-turn marker is not part of the answer); prompt
    tokens are never included, so an instruction such as "put your answer in \\boxed{}"
    cannot be voted on.
    """
    tokens = response.get("observation_tokens") or []
    action: list[int] = []
    for start, end in response.get("action_ranges") or []:
        action.extend(tokens[start:end])
    if not action:
        return ""
    return tokenizer.decode(action, skip_special_tokens=True)


def gold_of(response: Mapping[str, Any]) -> str | None:
    """The gold label OpenRLHF attached (``--data.label_key``), or None when unlabelled
    (OpenRLHF passes ``""`` when the flag is unset)."""
    label = response.get("label")
    if label is None:
        return None
    label = str(label)
    return label if label.strip() else None


@dataclass
class ScoredGroup:
    """One group after voting: the responses OpenRLHF will train on, and the result."""

    kept: list[dict]
    result: GroupResult


class GroupRewarder:
    """Holds the scorer (built lazily, once per process) and applies it group by group."""

    def __init__(self, config: TTRLConfig, scorer_factory: Callable[[TTRLConfig], GroupScorer] | None = None) -> None:
        self.config = config
        self._factory = scorer_factory or _scorer_from_registry
        self._scorer: GroupScorer | None = None
        #: the model's vocabulary size (its logits' width), for the top-k approximations;
        #: set by the samples-generator hook from the model's config when they are needed
        self.vocab_size: int | None = None
        self.calls = 0  # estimator calls, one per prompt group (tests and logs read it)
        self.batches = 0  # training batches scored (numbers the health log lines)

    @property
    def scorer(self) -> GroupScorer:
        if self._scorer is None:
            self._scorer = self._factory(self.config)
        return self._scorer

    @property
    def needs(self) -> tuple[str, ...]:
        """Signals the estimator reads (a scorer stand-in without ``needs`` reads none)."""
        return tuple(getattr(self.scorer, "needs", ()))

    def n_votes(self, n_train: int) -> int:
        """Samples to draw per prompt; checked against the trained count OpenRLHF uses."""
        n_votes = self.config.n_votes if self.config.n_votes is not None else n_train
        if n_votes < n_train:
            raise ConfigError(
                f"n_votes={n_votes} is smaller than --rollout.n_samples_per_prompt={n_train}: "
                "TTRL votes over at least as many samples as it trains on"
            )
        return n_votes

    def score_group(self, responses: Sequence[dict], tokenizer: Any, n_train: int) -> ScoredGroup:
        """Vote over ALL responses of one prompt, keep the first ``n_train`` (generation
        order, as TTRL v3 does) and write reward, score and per-group stats into them."""
        if len(responses) < n_train:
            raise RuntimeError(f"rollout returned {len(responses)} responses for one prompt, expected >= {n_train}")
        texts = [response_text(r, tokenizer) for r in responses]
        gold = gold_of(responses[0]) if responses else None
        signals = group_signals(responses, self.needs, self.vocab_size) if self.needs else None
        self.calls += 1
        result = (
            self.scorer.score(texts, gold=gold, n_train=n_train, signals=signals)
            if signals is not None
            else self.scorer.score(texts, gold=gold, n_train=n_train)
        )
        stats = {PREFIX + k: float(v) for k, v in result.estimate.stats.items()}
        kept = []
        for response, reward in zip(responses[:n_train], result.rewards):
            out = dict(response)
            out.pop(TOPK_KEY, None)  # read; OpenRLHF's experiences do not carry it
            out["reward"] = float(reward)
            out["scores"] = float(reward)  # dynamic filtering reads scores
            out["extra_logs"] = dict(stats)
            kept.append(out)
        return ScoredGroup(kept=kept, result=result)


def action_logprobs(response: Mapping[str, Any]) -> tuple[float, ...] | None:
    """Per-token log-probabilities of the generated tokens (inside ``action_ranges``) from
    OpenRLHF's ``rollout_log_probs`` (aligned with ``observation_tokens``), or None when
    vLLM was not asked for log-probabilities."""
    lps = response.get("rollout_log_probs")
    if lps is None:
        return None
    out: list[float] = []
    for start, end in response.get("action_ranges") or []:
        out.extend(float(x) for x in lps[start:end])
    return tuple(out)


def logprobs_to_request(needs: Sequence[str]) -> int | None:
    """``SamplingParams.logprobs`` for an estimator needing ``needs``: None when it needs no
    signal, 1 (the sampled token) for ``logprob`` alone, the top-k size otherwise."""
    if any(n in TOPK_SIGNALS for n in needs):
        return DEFAULT_TOPK
    return 1 if needs else None


def check_correction_level(estimator: str, needs: Sequence[str], level: str | None) -> None:
    """Refuse an estimator needing vLLM's top-k under OpenRLHF's importance-sampling
    correction: OpenRLHF then starts vLLM with ``max_logprobs=1`` (a request for 20 fails)
    and ``logprobs_mode="processed_logprobs"`` (after temperature / top-p, not the model's
    own distribution the signals are defined on)."""
    wanted = [n for n in needs if n in TOPK_SIGNALS]
    if wanted and (level or "off") != "off":
        raise ConfigError(
            f"estimator {estimator!r} needs signal {wanted[0]!r} from vLLM's top-{DEFAULT_TOPK} log-probs, but "
            f"--algo.advantage.is_correction_level {level} makes OpenRLHF start vLLM with max_logprobs=1 and "
            "post-temperature log-probs; use --algo.advantage.is_correction_level off"
        )


def group_signals(
    responses: Sequence[Mapping[str, Any]], needs: Sequence[str] = ("logprob",), vocab_size: int | None = None
) -> Signals:
    """The group's signals named in ``needs``: ``logprob`` from ``rollout_log_probs``, the
    others from the top-k rows :mod:`.topk_capture` attached.  A response without what is
    needed is an error (the hook asks vLLM for it whenever the estimator needs it)."""
    out: dict[str, list] = {}
    if "logprob" in needs:
        rows = [action_logprobs(r) for r in responses]
        if any(r is None for r in rows):
            raise RuntimeError("the estimator needs 'logprob' but a rollout response carries no rollout_log_probs")
        out["logprob"] = rows
    wanted = [n for n in needs if n in TOPK_SIGNALS]
    if wanted:
        topk = [r.get(TOPK_KEY) for r in responses]
        if any(t is None for t in topk):
            raise RuntimeError(
                f"the estimator needs {', '.join(wanted)} but a rollout response carries no top-k log-probs "
                f"aligned with its action tokens ({TOPK_KEY}); is the agent executor one that "
                "ttrl_kit.engines.openrlhf.topk_capture patches?"
            )
        out.update(signals_from_topk(topk, wanted, vocab_size))  # type: ignore[arg-type]
    return Signals.from_mapping({n: out[n] for n in needs if n in out})


def response_length(response: Mapping[str, Any]) -> int | None:
    """Generated tokens of one response (the sum of its ``action_ranges``), when known."""
    ranges = response.get("action_ranges")
    if not ranges:
        return None
    return sum(int(end) - int(start) for start, end in ranges)


def health_metrics(results: Sequence[GroupResult], lengths: Sequence[int | None] = ()) -> dict[str, float]:
    """The batch's label-free health (ttrl_kit/core/health.py) as ``ttrl/health_<name>``,
    every field always present (NaN when unmeasured) so every experience carries the same
    keys.  No gold is read: the same numbers with or without ``--data.label_key``."""
    known = [x for x in lengths if x is not None]
    health = step_health(results, lengths=known if known and len(known) == len(lengths) else None)
    values = dataclasses.asdict(health)
    return {PREFIX + "health_" + k: math.nan if v is None else float(v) for k, v in values.items()}


def append_health_line(path: str, call: int, metrics: Mapping[str, float]) -> None:
    """One JSON line per training batch, like the embedded engine's metrics.jsonl ``health``."""
    import json
    import time

    health = {k[len(PREFIX + "health_") :]: v for k, v in metrics.items() if math.isfinite(v)}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"call": call, "time": round(time.time(), 3), "health": health}) + "\n")


def label_metrics(results: Sequence[GroupResult]) -> dict[str, float]:
    """Gold-label metrics (:data:`LABEL_METRICS`) over the labelled groups of one generation
    call, from the core's :func:`~ttrl_kit.summarise`.  NaN where there is no value (no
    group had a label; label/reward accuracy of an estimator that never labels), so a
    missing value is never shown as 0."""
    summary = summarise(results)
    return {PREFIX + k: float(summary.get(k, math.nan)) for k in LABEL_METRICS}


def _scorer_from_registry(config: TTRLConfig) -> GroupScorer:
    return GroupScorer.from_names(
        config.task,
        config.estimator,
        task_options=config.task_options,
        estimator_options=config.estimator_options,
    )
