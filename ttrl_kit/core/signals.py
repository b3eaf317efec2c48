"""The signal contract: which per-token signals an estimator needs, and the checks.

An estimator declares what it reads besides the answers with ``needs`` (a class or
instance attribute, a tuple of names from :data:`SIGNAL_NAMES`; absent means ``()``).  An
engine says which signals it can supply; :func:`check_supplied` compares the two when a run
is configured, before any model is loaded, so a run that could never compute its rewards
stops at once with one line instead of after the first generation.  Engines compute only
``needs`` (:attr:`GroupScorer.needs`): an answers-only estimator costs nothing extra.

The helpers below turn per-token values into one number per response; estimators share
them so that "mean over the response" means the same thing everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

from ttrl_kit.core.errors import ConfigError, InputError
from ttrl_kit.core.records import SIGNAL_NAMES, Signals


class SignalError(InputError):
    """A group's signals do not fit its responses or lack what the estimator needs."""


def estimator_needs(estimator: Any, name: str | None = None) -> tuple[str, ...]:
    """The signals ``estimator`` declares, checked against the known names."""
    needs = getattr(estimator, "needs", ()) or ()
    if isinstance(needs, str) or not all(isinstance(s, str) for s in needs):
        raise ConfigError(
            f"estimator {name or getattr(estimator, 'name', '?')!r}: needs must be a tuple of signal names"
        )
    unknown = [s for s in needs if s not in SIGNAL_NAMES]
    if unknown:
        raise ConfigError(
            f"estimator {name or getattr(estimator, 'name', '?')!r} needs unknown signal {unknown[0]!r}; "
            f"known signals: {', '.join(SIGNAL_NAMES)}"
        )
    return tuple(needs)


def check_supplied(estimator: str, needs: Sequence[str], engine: str, supplied: Collection[str]) -> None:
    """Fail with one line when ``engine`` cannot supply a signal the estimator needs."""
    for s in needs:
        if s not in supplied:
            offer = ", ".join(sorted(supplied)) or "none"
            raise ConfigError(
                f"estimator {estimator!r} needs signal {s!r}, which engine {engine!r} does not supply "
                f"(it supplies: {offer})"
            )


def validate_group(signals: Signals | None, n: int, needs: Sequence[str], estimator: str) -> None:
    """A group's signals cover all ``n`` responses and include every needed signal."""
    if not needs:
        return
    for s in needs:
        if signals is None or s not in signals:
            raise SignalError(f"estimator {estimator!r} needs signal {s!r}, which this group does not carry")
    assert signals is not None
    if signals.n != n:
        raise SignalError(f"signals cover {signals.n} responses, the group has {n}")


def check_values(name: str, per_response: Sequence[Any], n: int) -> str | None:
    """Why a user-supplied signal is unusable (wrong length, non-finite), or None.

    ``per_response`` must have one list of per-token values per response; ``topk_logprobs``
    tokens are lists of floats.  Log-probabilities must be <= 0, entropy and self-certainty
    >= 0 (small rounding slack allowed)."""
    if not isinstance(per_response, list):
        return f"expected a list with one list per response, got {type(per_response).__name__}"
    if len(per_response) != n:
        return f"{len(per_response)} lists for {n} responses"
    for i, tokens in enumerate(per_response):
        if not isinstance(tokens, list):
            return f"[{i}]: expected a list of per-token numbers, got {type(tokens).__name__}"
        for t, v in enumerate(tokens):
            vals = v if name == "topk_logprobs" and isinstance(v, list) else [v]
            if name == "topk_logprobs" and not isinstance(v, list):
                return f"[{i}][{t}]: expected a list of top-k log-probabilities"
            for x in vals:
                if isinstance(x, bool) or not isinstance(x, (int, float)):
                    return f"[{i}][{t}]: expected a number, got {type(x).__name__}"
                if not math.isfinite(x):
                    return f"[{i}][{t}]: non-finite value {x!r}"
                if name in ("logprob", "topk_logprobs") and x > 1e-6:
                    return f"[{i}][{t}]: a log-probability must be <= 0, got {x!r}"
                if name in ("entropy", "self_certainty") and x < -1e-6:
                    return f"[{i}][{t}]: must be >= 0, got {x!r}"
    return None


def token_mean(values: Sequence[float], tail: int = 0) -> float | None:
    """Mean over the response's tokens (the last ``tail`` tokens when ``tail > 0``);
    None for an empty response."""
    xs = list(values[-tail:]) if tail > 0 else list(values)
    return sum(xs) / len(xs) if xs else None


def lowest_window_mean(values: Sequence[float], window: int) -> float | None:
    """Minimum over sliding windows of ``window`` tokens of the window mean (DeepConf's
    "lowest group confidence"); a response shorter than the window is one window."""
    xs = list(values)
    if not xs:
        return None
    if len(xs) <= window:
        return sum(xs) / len(xs)
    run = sum(xs[:window])
    best = run
    for i in range(window, len(xs)):
        run += xs[i] - xs[i - window]
        best = min(best, run)
    return best / window
