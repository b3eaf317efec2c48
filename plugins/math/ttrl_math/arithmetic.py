"""Seeded synthetic arithmetic questions: the offline demo task of ttrl-kit.

The families and prompt styles are the ones measured with SmolLM2-135M-Instruct on CPU
(see the project notes): ``add1`` and ``mul1`` with the boxed prompt are where majority
voting is mostly right (maj@16 about twice pass@1), which is the regime TTRL needs.
Answers are kept in the ``answer`` field for *reporting only*; engines never train on them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ttrl_kit import ConfigError

NAMES = ("Tom", "Anna", "Sam", "Lily", "Ben", "Mia")
STYLES = {
    "boxed": "What is {expr}? Put the final answer in \\boxed{{}}.",
    "short": "What is {expr}? Answer with just the number.",
    "plain": "What is {expr}?",
    "calc": "Calculate {expr}.",
}
WORD_STYLES = {
    "boxed": "{q} Put the final answer in \\boxed{{}}.",
    "short": "{q} Answer with just the number.",
    "plain": "{q}",
    "calc": "{q}",
}


def _add1(r: random.Random) -> tuple[str, int, bool]:
    a, b = r.randint(1, 9), r.randint(1, 9)
    return f"{a} + {b}", a + b, False


def _add2(r: random.Random) -> tuple[str, int, bool]:
    a, b = r.randint(10, 99), r.randint(10, 99)
    return f"{a} + {b}", a + b, False


def _add2nc(r: random.Random) -> tuple[str, int, bool]:
    ta, ua = r.randint(1, 8), r.randint(0, 4)
    tb, ub = r.randint(1, 9 - ta), r.randint(0, 9 - ua)
    a, b = 10 * ta + ua, 10 * tb + ub
    return f"{a} + {b}", a + b, False


def _add12(r: random.Random) -> tuple[str, int, bool]:
    a, b = r.randint(10, 99), r.randint(1, 9)
    return f"{a} + {b}", a + b, False


def _sub1(r: random.Random) -> tuple[str, int, bool]:
    a, b = r.randint(10, 20), r.randint(1, 9)
    return f"{a} - {b}", a - b, False


def _mul1(r: random.Random) -> tuple[str, int, bool]:
    a, b = r.randint(2, 9), r.randint(2, 9)
    return f"{a} * {b}", a * b, False


def _add3(r: random.Random) -> tuple[str, int, bool]:
    a, b, c = r.randint(1, 9), r.randint(1, 9), r.randint(1, 9)
    return f"{a} + {b} + {c}", a + b + c, False


def _word1(r: random.Random) -> tuple[str, int, bool]:
    a, b, n = r.randint(2, 9), r.randint(2, 9), r.choice(NAMES)
    return (f"{n} has {a} apples. {n} buys {b} more apples. How many apples does {n} have now?", a + b, True)


def _word2(r: random.Random) -> tuple[str, int, bool]:
    a, b, n = r.randint(5, 12), r.randint(2, 9), r.choice(NAMES)
    c = r.randint(1, a - 1)
    return (
        f"{n} has {a} apples. {n} buys {b} more apples and then gives {c} apples to a friend. "
        f"How many apples does {n} have now?",
        a + b - c,
        True,
    )


FAMILIES: dict[str, Callable[[random.Random], tuple[str, int, bool]]] = {
    "add1": _add1,
    "add2": _add2,
    "add2nc": _add2nc,
    "add12": _add12,
    "sub1": _sub1,
    "mul1": _mul1,
    "add3": _add3,
    "word1": _word1,
    "word2": _word2,
}


def generate(
    family: str = "add1", n: int = 40, seed: int = 0, style: str = "boxed", distinct: bool = True, exclude: Any = None
) -> list[dict[str, Any]]:
    """``n`` questions of one family, reproducible from ``seed``.

    ``distinct`` avoids repeating a question (falls back to repeats when the family has
    fewer than ``n`` distinct questions).  ``exclude`` is a collection of question texts to
    skip, so a held-out split can be drawn that never overlaps the training split.
    """
    if family not in FAMILIES:
        raise ConfigError(f"arithmetic: unknown family {family!r}; known: {', '.join(FAMILIES)}")
    if style not in STYLES:
        raise ConfigError(f"arithmetic: unknown style {style!r}; known: {', '.join(STYLES)}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"arithmetic: n must be a positive integer, got {n!r}")
    r = random.Random(1000 + int(seed))
    skip = set(exclude or ())
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts = 0
    while len(rows) < n:
        attempts += 1
        expr, answer, is_word = FAMILIES[family](r)
        if expr in skip or (distinct and expr in seen and attempts < 50 * n):
            if attempts > 1000 * n:
                raise ConfigError(f"arithmetic: cannot draw {n} questions of {family!r} outside the excluded set")
            continue
        seen.add(expr)
        prompt = WORD_STYLES[style].format(q=expr) if is_word else STYLES[style].format(expr=expr)
        rows.append(
            {
                "id": f"{family}-{seed}-{len(rows)}",
                "prompt": prompt,
                "question": expr,
                "answer": str(answer),
                "source": f"arithmetic/{family}",
            }
        )
    return rows


def load_arithmetic(source: str = "add1", **options: Any) -> list[dict[str, Any]]:
    """Dataset loader: ``source`` is the family name; options are those of :func:`generate`."""
    known = {"n", "seed", "style", "distinct", "exclude"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"arithmetic: unknown option {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return generate(family=source, **options)
