"""Units written after a value: dropped before parsing, and read (``cm``, ``in^2``) for grading.

Why apart from the grammar: units are a token-level rewrite (``10\\text{ cm}^2`` -> ``10``), and
the unit itself matters only to grading (``7 cm`` does not answer ``7 m``), never to voting.
"""

from __future__ import annotations

import re

from ttrl_math import limits
from ttrl_math.nodes import ParseError
from ttrl_math.tokenise import CONNECTORS, LBRACE, RBRACE, TEXT_CMDS, Token, tokenize

UNIT_WORDS = {
    "cm",
    "m",
    "km",
    "mm",
    "meter",
    "meters",
    "metre",
    "metres",
    "inch",
    "inches",
    "foot",
    "feet",
    "ft",
    "yard",
    "yards",
    "mile",
    "miles",
    "mph",
    "kg",
    "g",
    "gram",
    "grams",
    "pound",
    "pounds",
    "lb",
    "lbs",
    "ounce",
    "ounces",
    "oz",
    "second",
    "seconds",
    "sec",
    "minute",
    "minutes",
    "min",
    "hour",
    "hours",
    "hr",
    "hrs",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "dollar",
    "dollars",
    "cent",
    "cents",
    "yuan",
    "euro",
    "euros",
    "unit",
    "units",
    "square",
    "sq",
    "cubic",
    "liter",
    "liters",
    "litre",
    "litres",
    "ml",
    "l",
    "gallon",
    "gallons",
    "people",
    "students",
    "ways",
    "times",
    "points",
    "apples",
    "cookies",
    "degree",
    "degrees",
    "radian",
    "radians",
    "rad",
    "s",
    "h",
    "percent",
    "base",
    "th",
    "st",
    "nd",
    "rd",
    "tons",
    "ton",
}

# Physical units that grading may tell apart (``7 cm`` is not ``7 m``); words outside this table
# ("people", "ways", "units") never make two answers differ.
_UNIT_CANON: dict[str, str] = {}
for _canon_name, _names in {
    "mm": "mm millimeter millimeters millimetre millimetres",
    "cm": "cm centimeter centimeters centimetre centimetres",
    "m": "m meter meters metre metres",
    "km": "km kilometer kilometers kilometre kilometres",
    "in": "in inch inches",
    "ft": "ft foot feet",
    "yd": "yd yard yards",
    "mi": "mi mile miles",
    "s": "s sec second seconds",
    "min": "min minute minutes",
    "h": "h hr hrs hour hours",
    "day": "day days",
    "week": "week weeks",
    "month": "month months",
    "year": "year years",
    "g": "g gram grams",
    "kg": "kg kilogram kilograms",
    "lb": "lb lbs pound pounds",
    "oz": "oz ounce ounces",
    "dollar": "dollar dollars",
    "cent": "cent cents",
    "l": "l liter liters litre litres",
    "ml": "ml",
    "gallon": "gallon gallons",
    "mph": "mph",
}.items():
    for _n in _names.split():
        _UNIT_CANON[_n] = _canon_name


def unit_of(s: str) -> str | None:
    """Canonical physical unit written after the value (``7\\text{ cm}`` -> ``cm``, ``864 \\mbox{ inches}^2``
    and ``864 square inches`` -> ``in^2``), or ``None`` when there is none or it is not a known unit.
    Used only by grading (units are dropped for the value and for voting)."""
    if len(s) > limits.MAX_ANSWER_CHARS or not re.search(r"[a-zA-Z]{1,}", s):
        return None
    try:
        tokens = tokenize(s)
    except ParseError:
        return None
    kept = drop_units(tokens)
    tail = tokens[len(kept) :]
    if not tail or tokens[: len(kept)] != kept:
        return None
    words = [t.text.lower() for t in tail if t.kind == "word"]
    power = ""
    if "square" in words or "sq" in words or (len(tail) >= 2 and tail[-2] == ("op", "^") and tail[-1] == ("num", "2")):
        power = "^2"
    if "cubic" in words or (len(tail) >= 2 and tail[-2] == ("op", "^") and tail[-1] == ("num", "3")):
        power = "^3"
    names = [w for w in words if w not in ("square", "sq", "cubic")]
    if len(names) != 1 or names[0] not in _UNIT_CANON:
        return None
    return _UNIT_CANON[names[0]] + power


def drop_units(tokens: list[Token]) -> list[Token]:
    """Remove trailing unit words / ``\\text{ unit}`` after a number (``10\\text{ cm}^2``,
    ``125 miles``), and a trailing ``^2``/``^3`` that belonged to the unit."""
    out = list(tokens)
    changed = True
    while changed and len(out) >= 2:
        changed = False
        last = out[-1]
        if len(out) >= 3 and out[-2] == ("op", "^") and last.kind == "num" and last.text in ("2", "3"):
            prev = out[-3]
            if (prev.kind == "word" and prev.text.lower() in UNIT_WORDS) or prev == RBRACE:
                # ``cm^2`` or ``\text{ cm}^2``
                save = out
                out = out[:-2]
                if not _strip_one_unit(out):
                    out = save
                else:
                    changed = True
                continue
        if _strip_one_unit(out):
            changed = True
    return out


def _strip_one_unit(out: list[Token]) -> bool:
    if not out:
        return False
    last = out[-1]
    if last.kind == "word" and last.text.lower() in UNIT_WORDS and len(out) >= 2 and _numberish(out[-2]):
        out.pop()
        return True
    if last == RBRACE:
        # find the matching text command
        depth = 0
        for j in range(len(out) - 1, -1, -1):
            if out[j] == RBRACE:
                depth += 1
            elif out[j] == LBRACE:
                depth -= 1
                if depth == 0:
                    if j >= 2 and out[j - 1].kind == "cmd" and out[j - 1].text in TEXT_CMDS:
                        words = [t.text for t in out[j + 1 : -1]]
                        if (
                            words
                            and all(t.kind == "word" for t in out[j + 1 : -1])
                            and _numberish(out[j - 2])
                            and not (len(words) == 1 and words[0].lower() in CONNECTORS)
                        ):
                            del out[j - 1 :]
                            return True
                    return False
    return False


def _numberish(tok: Token) -> bool:
    return (
        tok.kind == "num"
        or tok in (RBRACE, ("op", ")"), ("op", "]"))
        or (tok.kind == "cmd" and tok.text in ("pi", "infty"))
    )
