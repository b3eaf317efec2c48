"""Stage 1 of reading an answer: string-level clean-up shared by every answer.

Why a separate stage: the spellings that do not change the value (``\\dfrac``, ``\\left(``,
thousands separators, ``$..$`` / ``\\boxed{}`` wrappers, unicode operators) are settled on the
string, once, so the tokeniser and the grammar only ever see one spelling.  The degree and
percent signs are removed here and reported as flags (grading policy needs them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ttrl_math.spans import brace_map

_FIX_DOUBLE = re.compile(
    r"(?<!\\)\\\\(?=(?:d?t?c?frac|sqrt|left|right|le|ge|leq|geq|lt|gt|neq|ne|text|textbf|mathrm|"
    r"boxed|pi|cdot|times|infty|in|cup|cap|pm|mp|circ|approx|sin|cos|tan|log|ln|begin|end|"
    r"mathbf|operatorname|dfrac|tfrac|quad|qquad)(?![a-zA-Z]))"
)
_SPACES = re.compile(
    r"\\\\|\\[,;:! >]|\\(?:quad|qquad|displaystyle|textstyle|limits|nolimits|hfill|medspace|"
    r"thinspace)(?![a-zA-Z])|~"
)
_LEFTRIGHT = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)(?![a-zA-Z])\s*")
# ``\\sin 30^\\circ``: a trig function of an angle in degrees reads the angle in radians
# (otherwise dropping the degree sign would take sin of 30 radians).
_DEG_SIGN = r"(?:\^\s*\{?\s*\\circ\s*\}?|°)"
_TRIG_DEG = re.compile(
    r"\\(sin|cos|tan|sec|csc|cot)\s*(?:\(\s*(\d{1,6}(?:\.\d{1,6})?)\s*" + _DEG_SIGN + r"\s*\)"
    r"|\{\s*(\d{1,6}(?:\.\d{1,6})?)\s*" + _DEG_SIGN + r"\s*\}|(\d{1,6}(?:\.\d{1,6})?)\s*" + _DEG_SIGN + ")"
)
# ``\\textbf{(C)}\\ 12`` / ``(C) 12``: an AMC option label in front of the value it names is not a
# factor of it (it read as ``C * 12``); the label goes, the value stays.  A lone ``(C)`` is kept.
_OPTION_LABEL = re.compile(
    r"^\s*(?:\\(?:textbf|text|mathrm|mbox|textrm)\s*\{\s*\(\s*[A-E]\s*\)\s*\}|\(\s*[A-E]\s*\))"
    r"(?:\s|~|\\[ ,;:!]|\\quad|\\qquad)*(?=-?[\d.$]|\\(?!cdot|times|cup|cap|div|pm))"
)
# ``0.\\overline{3}``, ``1.2\\overline{45}``: a repeating decimal is an exact rational.
_REPEATING = re.compile(r"(?<![\d.])(\d{0,12})\.(\d{0,12})\\(?:overline|bar)\s*\{\s*(\d{1,12})\s*\}")


def _repeating_to_fraction(m: re.Match[str]) -> str:
    whole, fixed, rep = m.group(1) or "0", m.group(2), m.group(3)
    num = int(whole + fixed + rep) - int(whole + fixed)
    den = 10 ** len(fixed) * (10 ** len(rep) - 1)
    return f"\\frac{{{num}}}{{{den}}}"


_DEGREE = re.compile(
    r"(?:\^\s*\{?\s*\\circ\s*\}?|°)(?:\s*(?:\\text\{\s*)?[CF](?![a-zA-Z])\}?)?|\\degree(?![a-zA-Z])|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}|"
    r"\s*\\text\{\s*degrees?\s*\}|\s*\bdegrees?\b"
)
_PERCENT = re.compile(r"\\%|%|\s*\\text\{\s*(?:percent|percentage|pct)\s*\}|\s*\b(?:percent|percentage|pct)\b")
GLUED_CONN = re.compile(r"(?<=[\d})\]])\s*(or|and)(?=[A-Za-z\\(])")
_SCI = re.compile(r"(?<![a-zA-Z\\\d.])(\d+(?:\.\d+)?)[eE]([+-]?\d{1,4})(?![\d.a-zA-Z])")
_FRAC_VARIANTS = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_THOUSANDS_BANG = re.compile(r"(\d)\s*(?:,\\!|\{\s*,\s*\}|,\s*\\!)\s*(?=\d{3})")
_DEC_COMMA = re.compile(r"[+-]?(?:\d+,\d{2}|0,\d{2,})")
_THOUSANDS_FULL = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")
_THOUSANDS_SPACE = re.compile(r"[+-]?[1-9]\d{0,2}(?: \d{3})+(?:\.\d+)?")
_THOUSANDS_IN = re.compile(r"(?<![\d.,])([1-9]\d{0,2})((?:,\d{3}){2,})(?![\d,])")


def strip_wrappers(s: str) -> str:
    """Remove delimiters that wrap the *whole* answer: ``$..$``, ``\\(..\\)``, ``\\[..\\]``,
    ``\\boxed{..}``, a trailing full stop.  Repeats until nothing changes."""
    for _ in range(10):
        t = s.strip().rstrip(".").strip()
        if t.endswith("\\") and not t.endswith("\\\\"):
            t = t[:-1].rstrip()
        for a, b in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if len(t) >= len(a) + len(b) and t.startswith(a) and t.endswith(b):
                inner = t[len(a) : len(t) - len(b)]
                if a == "$" and "$" in inner:
                    continue
                t = inner.strip()
                break
        m = re.match(r"\\(?:boxed|fbox)\s*\{", t)
        if m:
            close = brace_map(t).get(m.end() - 1, -1)
            if close == len(t) - 1:
                t = t[m.end() : -1].strip()
            elif close < 0:
                t = t[m.end() :].strip()  # a box that was never closed (truncated output)
        if t == s:
            break
        s = t
    return s


@dataclass(frozen=True, slots=True)
class Signs:
    """Signs :func:`normalise` removed: ``deg`` a degree sign, ``pct`` a percent sign."""

    deg: bool = False
    pct: bool = False


def normalise(s: str) -> tuple[str, Signs]:
    """String-level clean-up shared by every answer; returns the text and the signs it dropped."""
    deg = pct = False
    s = s.encode("utf-8", "ignore").decode("utf-8", "ignore") if _has_surrogate(s) else s
    s = _FIX_DOUBLE.sub(r"\\", s)
    s = s.replace("\u2212", "-").replace("\u00d7", "\\times ").replace("\u00b7", "\\cdot ")
    s = s.replace("\u2264", "\\le ").replace("\u2265", "\\ge ").replace("\u2260", "\\ne ")
    s = s.replace("\u03c0", "\\pi ").replace("\u221e", "\\infty ").replace("\u221a", "\\sqrt")
    s = s.replace("\u00f7", "/").replace("\u2013", "-").replace("\u00a0", " ").replace("\u222a", "\\cup ")
    s = strip_wrappers(s)
    s = _THOUSANDS_BANG.sub(r"\1", s)
    s = GLUED_CONN.sub(r" \1 ", s)
    s = _SPACES.sub(lambda m: m.group(0) if m.group(0) == "\\\\" else " ", s)
    s = _LEFTRIGHT.sub("", s)
    s = s.replace("\\lbrace", "\\{").replace("\\rbrace", "\\}")
    s = _FRAC_VARIANTS.sub(r"\\frac", s)
    s = _SCI.sub(r"\1\\times 10^{\2}", s)
    s = _OPTION_LABEL.sub("", s, count=1)
    s = _REPEATING.sub(_repeating_to_fraction, s)
    s = _TRIG_DEG.sub(
        lambda m: "\\" + m.group(1) + "(\\frac{" + (m.group(2) or m.group(3) or m.group(4)) + "}{180}\\pi)", s
    )
    s2 = _DEGREE.sub("", s)
    if s2 != s:
        deg = True
        s = s2
    s2 = _PERCENT.sub("", s)
    if s2 != s:
        pct = True
        s = s2
    s = s.replace("\\$", "").replace("$", "").replace("\u20ac", "").replace("\u00a3", "")
    s = strip_wrappers(s)
    t = s.strip()
    # Whole-answer number spellings that are ambiguous inside lists are settled here.
    if _THOUSANDS_FULL.fullmatch(t) or _THOUSANDS_SPACE.fullmatch(t):
        s = t.replace(",", "").replace(" ", "")
    elif _DEC_COMMA.fullmatch(t):
        s = t.replace(",", ".")
    else:
        s = _THOUSANDS_IN.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), s)
    return s.strip(), Signs(deg, pct)


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True
