"""Canonical value of one extracted answer: read it (:mod:`ttrl_math.latex`), evaluate it
(:mod:`ttrl_math.evaluate`, :mod:`ttrl_math.structure`), return an :class:`~ttrl_math.values.Info`.

:func:`canonicalize` is total over bounded input: it returns ``None`` (abstain) instead of
raising.  It is run in the worker subprocess for anything beyond plain numbers; the
:class:`Info` crosses the pipe as JSON (:mod:`ttrl_math.values`).
"""

from __future__ import annotations

import re

from mpmath import mp

from ttrl_math import limits
from ttrl_math.evaluate import EvalError, HasSymbols, NotScalar, has_pi
from ttrl_math.latex import ParseError, Signs, normalise, parse, unit_of
from ttrl_math.nodes import Mul, Sym, Text
from ttrl_math.structure import value_of
from ttrl_math.values import SCALARS, Choice, Info, Raw, TextV, Value

__all__ = ["EvalError", "Info", "NotScalar", "canonicalize"]

_CHOICE = re.compile(r"^\(?\s*([A-Z])\s*\)?$")


def canonicalize(answer: str, choices: str | None = None) -> Info | None:
    """Canonical value of one extracted answer (``None`` = abstain).  Never raises."""
    try:
        return _canonicalize(answer, choices)
    except (
        ParseError,
        EvalError,
        NotScalar,
        HasSymbols,
        ZeroDivisionError,
        ValueError,
        OverflowError,
        RecursionError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        MemoryError,
    ):
        return None


def _canonicalize(answer: str, choices: str | None) -> Info | None:
    if not isinstance(answer, str) or len(answer) > limits.MAX_ANSWER_CHARS:
        return None
    text, signs = normalise(answer)
    if not text:
        return None
    if choices:
        letter = _choice_letter(text, choices)
        if letter is not None:
            return _info(Choice(letter), signs)
    with mp.workdps(limits.PRECISION_DPS):
        try:
            node = parse(text)
        except ParseError:
            return _text_value(text, signs)
        if isinstance(node, Text):
            return _info(TextV(node.words), signs)
        try:
            v = value_of(node)
        except EvalError:
            return _info(Raw(_raw_key(text)), signs)
        if isinstance(node, (Mul, Sym)) and _is_word(text):
            return _info(TextV(text.lower()), signs)
        unit = unit_of(text) if isinstance(v, SCALARS) else None
        return Info(v, signs.deg, signs.pct, has_pi(node), unit)


def _info(v: Value, signs: Signs) -> Info:
    return Info(v, signs.deg, signs.pct)


def _is_word(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]{3,}(?: [A-Za-z]+)*", text.strip()))


def _choice_letter(text: str, choices: str) -> str | None:
    t = re.sub(r"\\text(?:bf)?\{([^{}]*)\}", r"\1", text).strip()
    m = _CHOICE.match(t)
    if m and m.group(1) in choices:
        return m.group(1)
    return None


def _text_value(text: str, signs: Signs) -> Info | None:
    t = re.sub(r"\\(?:text|textbf|mathrm|mbox|textnormal|operatorname)\s*\{([^{}]*)\}", r"\1", text)
    t = " ".join(t.lower().split())
    if not t or len(t) > 500:
        return None
    if re.fullmatch(r"[a-z][a-z '\-]*", t):
        return _info(TextV(t), signs)
    return _info(Raw(_raw_key(text)), signs)


def _raw_key(text: str) -> str:
    return re.sub(r"\s+", "", text)
