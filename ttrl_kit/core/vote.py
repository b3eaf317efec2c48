"""The one plurality vote: the most frequent class wins, ties go to the class seen first.

Everything in ttrl-kit that picks "the most common answer" calls :func:`tally_vote` (or
:func:`plurality`, its form for plain answers): the estimators' pseudo-label
(:mod:`ttrl_kit.core.estimators`, :mod:`ttrl_kit.core.certainty`), maj@k
(:mod:`ttrl_kit.core.metrics`), the engines' evaluation and the plugins' reports.  The tie
rule is written once because it decides results: "first seen" is what TTRL's
``collections.Counter.most_common`` did (insertion order), so a changed tie rule would
silently change labels, rewards and maj@k.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

H = TypeVar("H", bound=Hashable)


@dataclass(frozen=True)
class Tally:
    """One vote over ``k`` classes: plain member ``counts``, the (weighted) ``tally`` that
    decided, and the ``winner`` (None: nobody voted, or ``tie_break="none"`` met a tie)."""

    counts: tuple[int, ...]
    tally: tuple[float, ...]
    winner: int | None


def tally_vote(
    class_of: Sequence[int | None],
    k: int,
    *,
    weights: Sequence[float] | None = None,
    prefer: Sequence[float] | None = None,
    tie_break: str = "first",
) -> Tally:
    """Vote of samples whose class is ``class_of[i]`` (None: the sample abstains) over
    classes ``0..k-1``.

    Each sample adds ``weights[i]`` (1 by default, so the tally equals the counts) to its
    class; the highest tally wins when it is positive.  Among classes tied on the tally a
    higher ``prefer`` score (one per class) wins first; what is still tied goes to the
    class whose first member comes earliest (``tie_break="first"``) or to nobody
    (``"none"``)."""
    if tie_break not in ("first", "none"):
        raise ValueError(f"tie_break: expected 'first' or 'none', got {tie_break!r}")
    counts = [0] * k
    tally = [0.0] * k
    for i, c in enumerate(class_of):
        if c is not None:
            counts[c] += 1
            tally[c] += 1.0 if weights is None else float(weights[i])
    winner: int | None = None
    if tally and max(tally) > 0.0:
        best = max(tally)
        tied = [c for c in range(k) if tally[c] == best]
        if len(tied) > 1 and prefer is not None:
            top = max(prefer[c] for c in tied)
            tied = [c for c in tied if prefer[c] == top]
        if len(tied) == 1 or tie_break != "none":
            first_seen = {c: i for i, c in reversed(list(enumerate(class_of))) if c is not None}
            winner = min(tied, key=lambda c: first_seen[c])
    return Tally(tuple(counts), tuple(tally), winner)


def plurality(items: Iterable[H | None]) -> H | None:
    """The most frequent item (None never votes), ties to the one seen first; None when
    nothing voted.  The same vote as :func:`tally_vote`, for answers that are not yet
    numbered into classes (e.g. labels, or class indices)."""
    index: dict[H, int] = {}
    class_of = [None if x is None else index.setdefault(x, len(index)) for x in items]
    winner = tally_vote(class_of, len(index)).winner
    return None if winner is None else list(index)[winner]
