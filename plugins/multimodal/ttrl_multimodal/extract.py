"""Reading the final answer out of a vision-language response, and typing it.

Vision-language benchmarks ask for three kinds of answers: a number (counts, lengths, angles,
often LaTeX in geometry), an option letter (TTRV recasts everything as A-D multiple choice) or a
short phrase ("red", "circle").  Extraction finds the *final, explicit* answer span; typing
turns the span into ``(kind, text)`` so that voting can hand numbers to the math task, letters
to the label task and compare phrases itself.

Order of precedence for the span (the last occurrence wins within a rule):
1. ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces; MM-UPT's prompt asks for it);
2. ``<answer>...</answer>`` (R1-V / Visual-RFT format; a box inside it wins);
3. "the answer is X", "Answer: X", "Final answer: X" (to the end of the sentence or line);
4. a short whole response (at most ``SHORT_WORDS`` words), e.g. ``"3"`` or ``"B."``;
5. unless ``strict``: an explicit option marker ("option B", "(B)"), then the last number.
Anything else abstains (``None``).  Every scan is bounded in input size.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

MAX_RESPONSE_CHARS = 20_000  # only the tail is read: the final answer is at the end
MAX_ANSWER_CHARS = 200  # longer "answers" are prose, not something to vote on
SHORT_WORDS = 6

NUMBER_WORDS = {
    "zero": 0,
    "none": 0,
    "no": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_IS = re.compile(r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=)\s*(?:\*\*)?\s*([^\n]{1,200})", re.I)
_OPTION_MARK = re.compile(r"(?:\b(?:option|choice)\s+\(?([A-J])\)?(?![A-Za-z])|\(([A-J])\))")
_LAST_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*(?:/\d+)?(?![\w])")

_CHOICE_BARE = r"^\(?([A-J])\)?[.):]?$"  # "B", "(B)", "B."
_CHOICE_LEAD = r"^\(?([A-J])[.):]\s+\S"  # "B. the square", "(B) square"
_CHOICE_WORD = re.compile(r"^(?:option|choice)\s*\(?([A-J])\)?[.)]?$", re.I)
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_FRACTION = re.compile(r"^([+-]?\d+)\s*/\s*(\d+)$")
_COUNT_PHRASE = re.compile(
    r"^(?:there\s+(?:are|is)\s+|i\s+(?:see|count)\s+)?([+-]?\d+(?:\.\d+)?|[a-z]+)(?:\s+[a-z]+){0,2}$"
)
_MATHY = re.compile(r"\\[a-zA-Z]+|\^|_|\d\s*[a-z]\b|[a-z]\s*=|\d")
_ARTICLES = {"a", "an", "the"}
_NOT_COUNTS = {"one", "no", "none"}  # "the larger one", "no": words, not counts, inside a sentence


def _boxed_spans(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` with balanced braces (unbalanced ones are skipped)."""
    out = []
    for m in _BOX.finditer(text):
        depth, i = 1, m.end()
        limit = min(len(text), i + 2 * MAX_ANSWER_CHARS)
        while i < limit and depth:
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            i += 1
        if depth == 0:
            out.append(text[m.end() : i - 1])
    return out


def _last_tag(text: str, open_tag: str, close_tag: str) -> str | None:
    """Content of the last ``open_tag ... close_tag`` pair (case-insensitive), in linear time
    (a lazy ``.*?`` regex is quadratic on a flood of unclosed tags)."""
    low = text.lower()
    end = low.rfind(close_tag)
    if end < 0:
        return None
    start = low.rfind(open_tag, 0, end)
    if start < 0:
        return None
    return text[start + len(open_tag) : end]


def _drop_thinking(text: str) -> str:
    """The text without ``<think>...</think>`` blocks; an unclosed block runs to the end."""
    low = text.lower()
    out, i = [], 0
    while True:
        start = low.find("<think>", i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        end = low.find("</think>", start)
        if end < 0:
            break
        i = end + len("</think>")
    return " ".join(out)


def _clean(span: str) -> str:
    s = span.strip()
    s = re.sub(r"^\*\*|\*\*$", "", s).strip()
    s = s.strip("$").strip()
    s = re.sub(r"\\text\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\(?:mathrm|textbf|mathbf)\{([^{}]*)\}", r"\1", s)
    s = s.strip().strip("\"'`“”‘’").strip()
    s = re.sub(r"[.;,!]+$", "", s).strip()
    return s


def extract_span(response: str, *, strict: bool = False) -> str | None:
    """The final answer span of a response, or ``None`` (see the module docstring).

    A span longer than ``MAX_ANSWER_CHARS`` abstains: it is prose or garbage, not an answer.
    """
    span = _extract(response, strict)
    return span if span is not None and len(span) <= MAX_ANSWER_CHARS else None


def _extract(response: str, strict: bool) -> str | None:
    if not isinstance(response, str) or not response.strip():
        return None
    text = response[-MAX_RESPONSE_CHARS:]
    boxes = _boxed_spans(text)
    if boxes:
        return _clean(boxes[-1]) or None
    inner = _last_tag(text, "<answer>", "</answer>")
    if inner is not None:
        inner_boxes = _boxed_spans(inner)
        return _clean(inner_boxes[-1] if inner_boxes else inner) or None
    if strict:
        return None
    body = _drop_thinking(text)
    said = _ANSWER_IS.findall(body)
    if said:
        span = said[-1]
        # Cut at the end of the sentence ("... is 3. Because ...") but keep decimals (3.5).
        span = re.split(r"(?<!\d)\.(?!\d)|\.(?=\s)|\n", span, maxsplit=1)[0]
        return _clean(span) or None
    plain = body.strip()
    if len(plain.split()) <= SHORT_WORDS and len(plain) <= MAX_ANSWER_CHARS:
        # "The digit is 9." / "I see two circles": a short reply with exactly one number is that number.
        numbers = _LAST_NUMBER.findall(plain) + [
            w for w in re.findall(r"[a-z]+", plain.lower()) if w in NUMBER_WORDS and w not in _NOT_COUNTS
        ]
        if len(numbers) == 1:
            return numbers[0]
        return _clean(plain) or None
    marks = _OPTION_MARK.findall(body)
    if marks:
        a, b = marks[-1]
        return a or b
    nums = _LAST_NUMBER.findall(body)
    if nums:
        return nums[-1]
    return None


def normalise_phrase(text: str) -> str | None:
    """Lower-case words without articles, punctuation or a plural ``s``: "The red circles." -> "red circle"."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = re.sub(r"[^\w\s-]", " ", s)
    words = [w for w in s.replace("-", " ").split() if w not in _ARTICLES]
    if not words or len(words) > 12:
        return None
    words = [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]
    return " ".join(words)


def answer_kind(answer: str, *, answer_type: str = "auto", choices: str = "ABCDEFGHIJ") -> tuple[str, str] | None:
    """Type an extracted answer: ``("choice", "B")``, ``("number", "3")``, ``("math", "2\\sqrt{3}")``
    or ``("text", "red circle")``; ``None`` when it cannot be read.

    The text part is what the delegate sees: number words and counted nouns become digits
    ("three", "3 circles" -> "3"), option markers become the bare letter ("(B)", "B. square",
    "option b" -> "B").  ``answer_type`` forces one kind ("number", "choice", "text", "math");
    ``"auto"`` decides per answer, taking a lone capital letter from ``choices`` as an option.
    """
    s = _clean(answer)[: MAX_ANSWER_CHARS + 1]
    if not s or len(s) > MAX_ANSWER_CHARS:
        return None
    want = answer_type

    if want in ("auto", "choice"):
        flags = 0 if want == "auto" else re.I
        m = _CHOICE_WORD.match(s) or re.match(_CHOICE_BARE, s, flags) or re.match(_CHOICE_LEAD, s, flags)
        if m and m.group(1).upper() in choices.upper():
            return ("choice", m.group(1).upper())
        if want == "choice":
            return None

    if want in ("auto", "number"):
        num = _as_number(s)
        if num is not None:
            return ("number", num)
        if want == "number":
            return None

    if want in ("auto", "math"):
        if want == "math" or _MATHY.search(s):
            return ("math", s)

    phrase = normalise_phrase(s)
    return ("text", phrase) if phrase else None


def _as_number(s: str) -> str | None:
    """Digits for a plain number, fraction, number word or counted noun ("4 squares"); else None."""
    t = s.strip().lower()
    if _NUMBER.match(t):
        return t.replace(",", "")
    m = _FRACTION.match(t)
    if m and int(m.group(2)) != 0:
        return m.group(1) + "/" + m.group(2)
    if t in NUMBER_WORDS and t not in ("no", "none"):  # a bare "no" answers a yes/no question
        return str(NUMBER_WORDS[t])
    m = _COUNT_PHRASE.match(t)
    if m:
        head = m.group(1)
        if _NUMBER.match(head):
            return head
        if head in NUMBER_WORDS and head not in ("no", "none"):
            return str(NUMBER_WORDS[head])
    return None


def number_key(text: str) -> Fraction | None:
    """Exact rational value of a typed number (the built-in fallback when no math task exists)."""
    try:
        return Fraction(text.replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        return None
