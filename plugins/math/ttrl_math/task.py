"""The ``math`` task: extraction, canonical keys, equivalence classes, grading, prompts."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import warnings
from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from ttrl_kit import AnswerClasses, ConfigError, KeyedTask, group_by_key
from ttrl_math import compare, limits
from ttrl_math.extract import extract
from ttrl_math.values import Info, Rational

TTRL_SUFFIX = "Please reason step by step, and put your final answer within \\boxed{}."
MODES = ("default", "boxed")

_INT = re.compile(r"[+-]?\d{1,60}")
_DEC = re.compile(r"[+-]?(?:\d{1,60}\.\d{0,60}|\.\d{1,60})")
_FRAC = re.compile(r"([+-]?\d{1,60})/(\d{1,60})")


def fast_info(answer: str) -> Info | None:
    """In-process canonical info for plain integers, decimals and ``a/b`` (no worker trip).

    Returns ``None`` when the answer needs the full reader."""
    a = answer.strip()
    if _INT.fullmatch(a):
        return Info(Rational(int(a), 1, None))
    if _DEC.fullmatch(a):
        q = Fraction(a)
        dp = len(a.split(".", 1)[1])
        return Info(Rational(q.numerator, q.denominator, dp or None))
    m = _FRAC.fullmatch(a)
    if m and int(m.group(2)) != 0:
        q = Fraction(int(m.group(1)), int(m.group(2)))
        return Info(Rational(q.numerator, q.denominator, None))
    return None


def _choices_option(choices: Any) -> str | None:
    if choices is None or choices == "" or choices is False:
        return None
    if isinstance(choices, str):
        letters = [c for c in choices if c.strip() and c not in ",; "]
    elif isinstance(choices, (list, tuple)):
        letters = [str(c).strip() for c in choices]
    else:
        raise ConfigError(f"math: option 'choices' must be a string like 'ABCD' or a list, got {choices!r}")
    if not letters or any(len(c) != 1 or not ("A" <= c <= "Z") for c in letters):
        raise ConfigError(f"math: option 'choices' must be capital letters, got {choices!r}")
    return "".join(letters)


class MathTask(KeyedTask):
    """Math answers: ``\\boxed``/phrase/number extraction and equivalence classes built from
    exact canonical keys (rationals) and 30-digit fingerprints (everything else).

    Options: ``suffix`` (appended to the question; default TTRL's instruction), ``mode``
    (``default`` | ``boxed``: only boxed answers count), ``choices`` (e.g. ``"ABCD"``: answers
    are option letters), ``isolate`` (default true: parse in the time-bounded worker
    subprocess), ``timeout_s`` (per-answer bound in the worker, default 1.0).
    """

    name = "math"
    max_equivalence_checks = 4000
    _warned = False

    def __init__(
        self,
        suffix: str | None = TTRL_SUFFIX,
        mode: str = "default",
        choices: Any = None,
        isolate: bool = True,
        timeout_s: float = 1.0,
        prompt_field: str | None = None,
    ) -> None:
        if suffix is not None and not isinstance(suffix, str):
            raise ConfigError(f"math: option 'suffix' must be a string, got {suffix!r}")
        if mode not in MODES:
            raise ConfigError(f"math: option 'mode' must be one of {', '.join(MODES)}, got {mode!r}")
        if not isinstance(timeout_s, (int, float)) or isinstance(timeout_s, bool) or not 0 < timeout_s <= 60:
            raise ConfigError(f"math: option 'timeout_s' must be a number in (0, 60], got {timeout_s!r}")
        self.suffix = suffix or ""
        self.mode = mode
        self.choices = _choices_option(choices)
        self.isolate = bool(isolate)
        self.timeout_s = float(timeout_s)
        self.prompt_field = prompt_field
        self._cache: dict[str, Info | None] = {}
        self._lock = threading.Lock()

    # -- prompts and labels
    def build_prompt(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        fields = [self.prompt_field] if self.prompt_field else ["prompt", "problem", "question"]
        text = next((row[f] for f in fields if isinstance(row.get(f), str)), None)
        if text is None:
            raise ConfigError(f"math: row has no text field ({' / '.join(fields)})")
        content = text if not self.suffix else f"{text.rstrip()}\n{self.suffix}"
        return [{"role": "user", "content": content}]

    def gold_label(self, row: Mapping[str, Any]) -> str | None:
        ans = row.get("answer")
        return None if ans is None else str(ans)

    # -- extraction and keys
    def extract_answer(self, response: str) -> str | None:
        return extract(response, mode=self.mode, choices=self.choices)

    def infos(self, answers: Sequence[str]) -> dict[str, Info | None]:
        """Canonical info for each distinct answer: parse once, cached per task instance."""
        return self._infos(answers)[0]

    def _infos(self, answers: Sequence[str]) -> tuple[dict[str, Info | None], int]:
        """:meth:`infos` and how many answers the group's parse budget
        (``limits.GROUP_PARSE_S``) left unparsed; those abstain here and are not cached."""
        out: dict[str, Info | None] = {}
        todo: list[str] = []
        for a in answers:
            if a in out:
                continue
            if a in self._cache:
                out[a] = self._cache[a]
                continue
            info = fast_info(a) if not self.choices else None
            if info is not None:
                out[a] = info
            else:
                out[a] = None
                todo.append(a)
        skipped: list[int] = []
        if todo:
            results = self._canonicalize(todo, skipped)
            for a, info in zip(todo, results):
                out[a] = info
        unreached = {todo[i] for i in skipped}
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache.update((a, info) for a, info in out.items() if a not in unreached)
        return out, len(unreached)

    def _canonicalize(self, answers: list[str], skipped: list[int]) -> list[Info | None]:
        if self.isolate:
            from ttrl_math.sandbox import default_worker

            w = default_worker()
            w.timeout_s = self.timeout_s
            try:
                return w.canonicalize_many(answers, self.choices, budget_s=limits.GROUP_PARSE_S, skipped=skipped)
            except Exception as exc:  # WorkerUnavailable, or anything else the pipe threw
                # No subprocess possible here (sandboxed runtime): fall back to in-process
                # parsing, which the hard input limits still bound; say so once.
                if not MathTask._warned:
                    MathTask._warned = True
                    warnings.warn(
                        f"math: worker subprocess unavailable ({exc}); parsing in-process", RuntimeWarning, stacklevel=2
                    )
        deadline = time.monotonic() + limits.GROUP_PARSE_S
        here: list[Info | None] = []
        for i, a in enumerate(answers):
            if time.monotonic() >= deadline:
                skipped.extend(range(i, len(answers)))
                here.extend([None] * (len(answers) - i))
                break
            here.append(_canonicalize_here(a, self.choices))
        return here

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def canonical_key(self, answer: str) -> Hashable | None:
        return compare.bucket_key(self.infos([answer])[answer])

    def equivalent(self, a: str, b: str) -> bool:
        info = self.infos([a, b])
        return compare.equivalent(info[a], info[b], deadline=time.monotonic() + limits.ANSWER_EQUIVALENCE_S)

    def group_answers(self, answers: Sequence[str | None]) -> AnswerClasses:
        present = [a for a in answers if isinstance(a, str)]
        info, unparsed = self._infos(present)
        keys = {a: compare.bucket_key(info[a]) for a in info}
        # The equivalence stage has a group deadline and a per-answer budget (limits.py); what
        # they cut off stays in canonical-key classes and the group's stats say so.
        deadline = time.monotonic() + limits.GROUP_EQUIVALENCE_S
        classes = group_by_key(
            answers,
            lambda a: keys.get(a),
            _SymmetricOnce(info, deadline),
            max_checks=self.max_equivalence_checks,
            deadline=deadline,
            answer_budget_s=limits.ANSWER_EQUIVALENCE_S,
        )
        stats = {**classes.stats, "parse_truncated": float(unparsed > 0), "parse_unreached": float(unparsed)}
        return dataclasses.replace(classes, stats=stats)

    def is_correct(self, answer: str | None, gold: str) -> bool:
        if answer is None or gold is None:
            return False
        g = extract(gold, choices=self.choices) or gold.strip()
        info = self.infos([answer, g])
        gi, pi = info[g], info[answer]
        if gi is None or pi is None:
            return False
        deadline = time.monotonic() + limits.ANSWER_EQUIVALENCE_S
        return compare.equivalent(gi, pi, deadline=deadline) and not compare.grading_rejects(gi, pi)


def _canonicalize_here(answer: str, choices: str | None) -> Info | None:
    from ttrl_math.canon import canonicalize

    try:
        return canonicalize(answer, choices)
    except Exception:  # untrusted text: a reader failure is an abstention
        return None


class _SymmetricOnce:
    """``group_by_key`` asks ``eq(a, b) or eq(b, a)``; ours is symmetric already, so the
    second call is answered from a cache instead of recomputed."""

    def __init__(self, info: dict[str, Info | None], deadline: float | None = None):
        self.info = info
        self.deadline = deadline
        self.memo: dict[tuple[str, str], bool] = {}

    def __call__(self, a: str, b: str) -> bool:
        k = (b, a)
        if k in self.memo:
            return self.memo[k]
        pair_deadline = time.monotonic() + limits.ANSWER_EQUIVALENCE_S
        if self.deadline is not None:
            pair_deadline = min(pair_deadline, self.deadline)
        r = compare.equivalent(self.info.get(a), self.info.get(b), deadline=pair_deadline)
        self.memo[(a, b)] = r
        return r
