"""Where answers sit in a response: math segments, ``\\boxed{}`` spans, and which of them join.

Why apart from :mod:`ttrl_math.extract`: these scanners are the part that must stay linear on
hostile text (an unclosed ``\\[`` repeated over 200 KB), so they are written once, each with its
bound, and the answer-choosing rules in ``extract`` only consume their spans.
"""

from __future__ import annotations

import bisect
import re

_BOX = re.compile(r"\\(?:boxed|fbox)\s*(\{)|\\boxed\s+([^\s$]+)")
# Math segments: ``$$..$$``, ``\\[..\\]``, ``$..$`` (one line) and ``\\(..\\)`` (one line), found by
# :func:`math_spans`.  A lazy regex such as ``\\\[(.+?)\\\]`` rescans to the end of the text from
# every unclosed opener (quadratic: 200 KB of ``\\[`` took minutes), so the closers are
# indexed once and each opener finds its closer by bisection.
_OPENER = re.compile(r"\$|\\[\[(]")
_DOLLAR_BODY = re.compile(r"(?:[^$\n\\]++|\\[^\n])*+")  # a one-line ``$..$`` body; always matches
TEXTCMD = re.compile(r"\\(?:text|textbf|mathrm|mbox|textnormal|operatorname|mathbf)\s*\{[^{}]*\}")


def _positions(text: str, pattern: str) -> list[int]:
    """Sorted start positions of every (possibly overlapping) occurrence of ``pattern``."""
    return [m.start() for m in re.finditer(f"(?={re.escape(pattern)})", text)]


def _first_at_or_after(sorted_pos: list[int], lo: int) -> int:
    k = bisect.bisect_left(sorted_pos, lo)
    return sorted_pos[k] if k < len(sorted_pos) else -1


def math_spans(text: str, limit: int = 5000) -> list[tuple[int, int, str]]:
    """``(start, end, content)`` of the math segments in ``text``, left to right, at most ``limit``.

    Exactly the segments (same order, same contents) that the former lazy regex found
    (``plugins/math/tests/test_math_hostile.py`` checks this against it on random text), in time linear in
    ``len(text)``: closers are indexed once, each opener looks its closer up by bisection,
    and a failed one-line ``$..$`` body never passes another ``$`` opener.
    """
    out: list[tuple[int, int, str]] = []
    if "$" not in text and "\\" not in text:
        return out
    n = len(text)
    dd_close = [j for j in _positions(text, "$$") if j > 0 and text[j - 1] != "\\"]
    br_close = _positions(text, "\\]")
    pa_close = _positions(text, "\\)")
    newlines = _positions(text, "\n")
    pos = 0
    while len(out) < limit:
        m = _OPENER.search(text, pos)
        if m is None:
            break
        i = m.start()
        pos = i + 1
        if text[i] == "$":
            if i > 0 and text[i - 1] == "\\":
                continue
            if i + 1 < n and text[i + 1] == "$":  # ``$$ .. $$`` (may span lines)
                j = _first_at_or_after(dd_close, i + 3)
                if j >= 0:
                    out.append((i, j + 2, text[i + 2 : j]))
                    pos = j + 2
                continue  # ``$`` cannot open a one-line segment whose first character is ``$``
            k = _DOLLAR_BODY.match(text, i + 1).end()  # type: ignore[union-attr]
            if k < n and text[k] == "$" and k > i + 1:
                out.append((i, k + 1, text[i + 1 : k]))
                pos = k + 1
            continue
        if text[i + 1] == "[":
            j = _first_at_or_after(br_close, i + 3)
        else:
            j = _first_at_or_after(pa_close, i + 3)
            nl = _first_at_or_after(newlines, i + 2)
            if nl >= 0 and nl < j:
                j = -1
        if j >= 0:
            out.append((i, j + 2, text[i + 2 : j]))
            pos = j + 2
    return out


def has_math(text: str) -> bool:
    return bool(math_spans(text, limit=1))


def brace_map(text: str) -> dict[int, int]:
    """Position of the matching ``}`` for every ``{`` (escaped braces ignored), one pass: the
    plugin's one brace scanner (extraction's boxes here, normalise's outer box strip)."""
    stack: list[int] = []
    out: dict[int, int] = {}
    j = 0
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            stack.append(j)
        elif c == "}" and stack:
            out[stack.pop()] = j
        j += 1
    return out


def boxed_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, content) of every ``\\boxed``/``\\fbox`` with balanced braces (linear time)."""
    out: list[tuple[int, int, str]] = []
    if "\\boxed" not in text and "\\fbox" not in text:
        return out
    braces = brace_map(text)
    pos = 0
    while True:
        m = _BOX.search(text, pos)
        if m is None:
            break
        if m.group(1) is not None:
            end = braces.get(m.start(1), -1)
            if end < 0:
                pos = m.end()
                continue
            out.append((m.start(), end + 1, text[m.start(1) + 1 : end]))
            pos = end + 1
        else:
            out.append((m.start(), m.end(), m.group(2)))
            pos = m.end()
        if len(out) > 1000:
            break
    return out


def _separator_only(between: str) -> bool:
    """Text between two boxes / math segments that still reads as one answer list.

    Longer gaps never qualify (the cleaned gap must be <= 40 characters), so a gap over
    :data:`_MAX_GAP` characters is refused before any regex runs over it."""
    if len(between) > _MAX_GAP:
        return False
    t = TEXTCMD.sub(lambda m: " " + m.group(0)[m.group(0).index("{") + 1 : -1] + " ", between)
    t = re.sub(r"\\\(|\\\)|\\\[|\\\]|\$|\\quad|\\qquad|\\,|\\;|\\ |\\\\", " ", t)
    t = re.sub(r"[A-Za-z]+(?:_\{?[A-Za-z0-9]+\}?)?\s*=", " ", t)  # "\\) and \\( y_2 = \\boxed{..}"
    if not re.search(r"[A-Za-z0-9]", t):
        return len(t) <= 40
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", t)]
    if any(w in _SEQUENCE_WORDS for w in words):
        return False
    return len(t) <= 40 and any(w in ("and", "or") for w in words) and not re.search(r"\d", t)


_MAX_GAP = 400  # a gap this long cannot shrink to the 40 characters a separator may have
_SEQUENCE_WORDS = {"then", "so", "thus", "therefore", "hence", "but", "not", "get", "gives", "since", "because"}


def joined(spans: list[tuple[int, int, str]], text: str) -> str:
    """The last span, joined with earlier ones that only separators divide from it."""
    parts = [spans[-1][2]]
    for k in range(len(spans) - 1, 0, -1):
        if _separator_only(text[spans[k - 1][1] : spans[k][0]]):
            parts.append(spans[k - 1][2])
        else:
            break
    parts.reverse()
    return parts[0] if len(parts) == 1 else " and ".join(p.strip() for p in parts)
