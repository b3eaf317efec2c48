"""Hook implementations for the yes/no example plugin.

It contributes one task (``yesno``), two estimators (``margin``, and ``surprise_veto``,
which reads per-token log-probabilities) and one dataset
(``yesno_jsonl``), using nothing but ttrl-kit's public API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ttrl_kit import AnswerClasses, ConfigError, Estimate, InputError, KeyedTask, Signals, hookimpl
from ttrl_kit.core.estimators import MajorityVote

_WORDS = {"yes": "yes", "true": "yes", "correct": "yes", "no": "no", "false": "no", "incorrect": "no"}
_ANSWER = re.compile(r"\b(yes|no|true|false|correct|incorrect)\b", re.IGNORECASE)


class YesNoTask(KeyedTask):
    """Questions answered yes or no.  The *last* yes/no word in a response is its answer,
    because models tend to restate the question before answering it."""

    name = "yesno"

    def __init__(self, template: str = "{question} Answer yes or no.") -> None:
        if "{question}" not in template:
            raise ConfigError("yesno: option template must contain '{question}'")
        self.template = template

    def build_prompt(self, row):
        return [{"role": "user", "content": self.template.format(question=row["question"])}]

    def gold_label(self, row):
        return row.get("answer")

    def extract_answer(self, response):
        found = _ANSWER.findall(response[-5000:])
        return _WORDS[found[-1].lower()] if found else None

    def canonical_key(self, answer):
        return _WORDS.get(answer.strip().lower())


class MarginVote:
    """Majority vote that only pays out when the winner leads the runner-up by ``margin``
    votes: a stricter consensus rule than a share threshold for small groups."""

    name = "margin"

    def __init__(self, margin: int = 2, **vote_options) -> None:
        if not isinstance(margin, int) or margin < 0:
            raise ConfigError(f"margin: option margin must be a non-negative integer, got {margin!r}")
        self.margin = margin
        self.vote = MajorityVote(**vote_options)

    def estimate(self, classes: AnswerClasses, n_train: int | None = None) -> Estimate:
        est = self.vote.estimate(classes, n_train)
        counts = sorted(classes.counts(), reverse=True) + [0, 0]
        if est.label is None or counts[0] - counts[1] >= self.margin:
            return est
        return Estimate(est.label, est.label_class, tuple(0.0 for _ in est.rewards), est.agrees,
                        est.majority_ratio, True, {**est.stats, "low_consensus": 1.0})


class SurpriseVeto:
    """Majority vote that reads the model's token log-probabilities: a winning response
    that passed through a token less likely than ``exp(floor)`` (a "surprising" step, often
    where a reasoning chain went off the rails) is paid 0 instead of 1."""

    name = "surprise_veto"
    needs = ("logprob",)  # the core checks the engine supplies it and passes signals=

    def __init__(self, floor: float = -6.0, **vote_options) -> None:
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or floor > 0:
            raise ConfigError(f"surprise_veto: option floor must be a number <= 0, got {floor!r}")
        self.floor = float(floor)
        self.vote = MajorityVote(**vote_options)

    def estimate(self, classes: AnswerClasses, n_train: int | None = None, signals: Signals | None = None) -> Estimate:
        est = self.vote.estimate(classes, n_train)
        logprobs = signals.get("logprob") if signals is not None else None
        if logprobs is None:  # never happens through the core, which checks needs
            raise ConfigError("surprise_veto needs the 'logprob' signal")
        rewards = tuple(0.0 if r > 0 and tokens and min(tokens) < self.floor else r
                        for r, tokens in zip(est.rewards, logprobs))
        vetoed = sum(1 for a, b in zip(est.rewards, rewards) if a != b)
        return Estimate(est.label, est.label_class, rewards, est.agrees, est.majority_ratio, est.low_consensus,
                        {**est.stats, "surprise_vetoed": float(vetoed)})


def load_yesno_jsonl(source: str, **options):
    """Rows ``{"id", "question", "answer"?}`` from a JSONL file."""
    rows = []
    with Path(source).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{source}:{lineno}: invalid JSON: {exc.msg}") from None
            if not isinstance(row, dict) or not isinstance(row.get("question"), str):
                raise InputError(f"{source}:{lineno}: field 'question': expected a string")
            row.setdefault("id", f"{Path(source).stem}-{lineno}")
            rows.append(row)
    return rows


@hookimpl
def register_tasks(register):
    register("yesno", YesNoTask, "yes/no questions (example third-party plugin)")


@hookimpl
def register_estimators(register):
    register("margin", MarginVote, "majority vote paid only with a lead of `margin` votes")
    register("surprise_veto", SurpriseVeto, "majority vote; winners with a token below exp(floor) get 0 (needs logprob)")


@hookimpl
def register_datasets(register):
    register("yesno_jsonl", load_yesno_jsonl, "yes/no questions from a JSONL file")
