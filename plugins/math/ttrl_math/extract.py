"""Pull the final answer out of a free-text response.

Order (default mode): last ``\\boxed{}``/``\\fbox{}`` (adjacent boxes joined when only
separators lie between them) -> "final answer is / the answer is / Final Answer:" phrase ->
the whole text when it already looks like a bare answer -> markdown bold ``**73**`` -> the
last math segment(s) (``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``) -> the last number.
``mode="boxed"`` returns only a boxed answer (TTRL's training-time convention).
With ``choices`` (e.g. ``"ABCD"``) a multiple-choice letter is extracted instead; only a
capital letter in an answer position counts, so the article "a" is never option A.

Every regex here is linear (no nested quantifiers over the same characters) and runs over
at most :data:`limits.MAX_RESPONSE_CHARS` characters.
"""

from __future__ import annotations

import re

from ttrl_math import limits
from ttrl_math.normalise import GLUED_CONN
from ttrl_math.spans import TEXTCMD, boxed_spans, has_math, joined, math_spans

_THINK_END = "</think>"
_PHRASE = re.compile(
    r"(?:final answer is|the answer is|answer is|final answer\s*:|answer\s*:|####|答案是|答案为|réponse\s*:)",
    re.IGNORECASE,
)
_MINERVA = re.compile(r"final answer(?: is|:)\s*(.{0,300}?)\.?\s*I hope it is correct", re.IGNORECASE | re.DOTALL)
_FINAL_PHRASE = re.compile(r"final answer\s*(?:is\b|:)", re.IGNORECASE)
# ``$\\frac16$, or about $16.7\\%$``: a trailing approximation of the value just given is not the answer
_APPROX_GLOSS = re.compile(
    r"^[\s,;(]*(?:or|which is|i\.e\.,?|that is,?)?\s*(?:about|approximately|approx\.?|roughly|around|"
    r"nearly|\\approx|≈)\s*$",
    re.IGNORECASE,
)
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")
_NUMBER = re.compile(
    r"-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+,\d{1,2}(?![\d,])|\d+(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+(?!\d|\.\d))?"
)
_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}")
_CONNECT = re.compile(r"(?i)^[\s,;.]*(?:(?:and|or|&)[\s,;.]*)?$")


def _fix_surrogates(s: str) -> str:
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "ignore").decode("utf-8", "ignore")


def looks_like_answer(text: str) -> bool:
    """A short string with at most a few words outside ``\\text{}``: a bare answer."""
    t = text.strip()
    if not t or len(t) > 300:
        return False
    if "\n\n" in t:
        return False
    bare = TEXTCMD.sub(" ", t)
    words = _WORD.findall(bare)
    real = [w for w in words if w.lower() not in _MATHWORDS]
    if re.fullmatch(r"[A-Za-z][A-Za-z '\-]*", t) and re.search(r"[A-Za-z]{2,}", t):
        # bare words are rarely an answer in free text ("hmm", "no"): only a known answer word
        # ("odd", "even") or a capitalised name ("Evelyn") counts; otherwise box it / use \\text{}
        w = t.strip(" .'-")
        if " " in w or w.lower() in _FILLERS:
            return False
        return w.lower() in _ANSWER_WORDS or bool(re.fullmatch(r"[A-Z][a-z]{2,}", w))
    if re.search(r"[.!?]\s+[A-Z]|\s:|:\s", t):
        return False
    return len(real) <= 2


_ANSWER_WORDS = {
    "even",
    "odd",
    "none",
    "all",
    "neither",
    "both",
    "true",
    "false",
    "positive",
    "negative",
    "zero",
    "infinite",
    "finite",
    "undefined",
    "increasing",
    "decreasing",
    "east",
    "west",
    "north",
    "south",
    "yes",
    "never",
    "always",
    "impossible",
}
_FILLERS = {
    "hmm",
    "hm",
    "sure",
    "okay",
    "ok",
    "well",
    "sorry",
    "maybe",
    "no",
    "wait",
    "let",
    "the",
    "so",
    "thus",
    "hence",
    "hello",
    "thanks",
    "answer",
    "solution",
    "step",
    "first",
    "next",
    "then",
    "now",
}
_NON_ANSWERS = {
    "no idea",
    "not sure",
    "unknown",
    "i don't know",
    "dont know",
    "no answer",
    "n/a",
    "error",
    "sorry",
    "i cannot",
    "cannot determine",
    "undefined answer",
}
_MATHWORDS = {
    "and",
    "or",
    "sqrt",
    "frac",
    "pi",
    "sin",
    "cos",
    "tan",
    "log",
    "ln",
    "exp",
    "cm",
    "m",
    "km",
    "units",
    "inches",
    "feet",
    "meters",
    "miles",
    "dollars",
    "degrees",
    "percent",
    "pct",
    "in",
    "infty",
    "cup",
    "le",
    "ge",
    "cdot",
    "times",
    "pm",
    "dfrac",
    "tfrac",
    "text",
    "left",
    "right",
    "sec",
    "csc",
    "cot",
    "mod",
    "pmod",
    "circ",
    "begin",
    "end",
    "pmatrix",
    "bmatrix",
    "array",
    "approx",
}


_STANDALONE_NUM = re.compile(r"(?<![A-Za-z\d])-?\d+(?:[.,/]\d+)*(?![A-Za-z\d])")


# ``\\begin{array}{ccc}`` / ``\\end{array}``: environment names and column specs are not prose.
_ENV = re.compile(r"\\begin\s*\{[a-zA-Z*]{1,20}\}(?:\s*\{[a-zA-Z|:@ .]{0,60}\})?|\\end\s*\{[a-zA-Z*]{1,20}\}")


def _first_prose_word(t: str) -> int:
    """Start of the first ordinary English word outside math, \\text{} and ``$..$``; -1 if none."""
    masked = _ENV.sub(lambda m: " " * len(m.group(0)), t)
    masked = TEXTCMD.sub(lambda m: " " * len(m.group(0)), masked)
    masked = re.sub(r"\$[^$]*\$", lambda m: " " * len(m.group(0)), masked)
    for m in _WORD.finditer(masked):
        if m.group(0).lower() not in _MATHWORDS and m.group(0).lower() not in ("is", "are"):
            return m.start()
    return -1


def _has_prose_word(t: str) -> bool:
    bare = TEXTCMD.sub(" ", _ENV.sub(" ", t))
    return any(w.lower() not in _MATHWORDS for w in _WORD.findall(bare)) or bool(re.match(r"I\s", bare))


_CONCLUDE = re.compile(r"(?:Therefore|Thus|So|Hence|Finally|In conclusion|In total|Overall)\b")
_TRAILING_JUNK = re.compile(r"(?:\s*(?:I hope it is correct\.?|<\|[a-z_]+\|>\s*\w*))+\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?$\n])\s+")


def _conclusion_number(text: str) -> str | None:
    """A number stated in the concluding last sentence without math delimiters
    ("Therefore, there are 12 sequences."); it beats earlier ``$...$`` work."""
    tail = _TRAILING_JUNK.sub("", text[-600:])
    sentences = [x for x in _SENTENCE_END.split(tail) if x.strip()]
    if not sentences:
        return None
    last = sentences[-1].strip()
    if not _CONCLUDE.match(last) or "$" in last or "\\" in last:
        return None
    nums = re.findall(r"(?<![A-Za-z\d.])(-?\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?\s*%?)(?![A-Za-z\d])", last)
    return nums[-1].replace(",", "").replace(" ", "") if nums else None


def _phrase_answer(text: str) -> str | None:
    m = None
    for m in _MINERVA.finditer(text):
        pass
    if m is not None:
        return _answer_from_line(m.group(1))
    last = None
    for last in _PHRASE.finditer(text):
        pass
    if last is None:
        return None
    rest = text[last.end() :]
    rest = rest.lstrip(" :\t")
    if rest.startswith("\n"):
        rest = rest.lstrip()
    # up to the end of the line or a sentence-ending full stop (not one inside $...$)
    line = rest.split("\n", 1)[0]
    cut = None
    dollars, seen = 0, 0
    for c in re.finditer(r"\.(?:\s|$)", line):
        dollars += line.count("$", seen, c.start())  # running count: one pass over the line
        seen = c.start()
        if dollars % 2 == 0:
            cut = c
            break
    if cut:
        line = line[: cut.start()]
    ans = _answer_from_line(line)
    if ans is not None and _has_prose_word(ans) and not _is_word_answer(ans):
        return None  # "Answer: Step 1, compute ...": not an answer; look further
    return ans


def _is_word_answer(t: str) -> bool:
    w = t.strip(" .'-")
    return w.lower() in _ANSWER_WORDS or bool(re.fullmatch(r"[A-Z][a-z]{2,}", w))


def _answer_from_line(line: str) -> str | None:
    """The answer inside one "the answer is ..." sentence."""
    line = line.strip().strip("*").strip().strip('"').strip()
    if not line:
        return None
    cut = _first_prose_word(line)
    if cut > 0 and re.search(r"[\d\\$]", line[:cut]):
        line = line[:cut].rstrip(" ,;:")  # "5 because 2+3=5", "12 apples"
    if looks_like_answer(line) and not has_math(line):
        return line
    # "The volume of $ABCD$ is 120": the part after the last " is "
    parts = re.split(r"\s(?:is|are|equals|be)\s", line)
    if len(parts) > 1:
        tail = parts[-1].strip()
        if tail:
            inner = _math_answer(tail)
            if inner is not None and tail.strip("$ ").strip() and tail.lstrip().startswith(("$", "\\(", "\\[")):
                return inner
            if looks_like_answer(tail) and not has_math(tail):
                return tail
    inner = _math_answer(line)
    if inner is not None:
        return inner
    if looks_like_answer(line):
        return line
    return _last_number(line)


def _math_answer(text: str) -> str | None:
    spans = [(a, b, c.strip()) for a, b, c in math_spans(text, limit=5001) if c.strip()]
    if not spans:
        return None
    if len(spans) >= 2 and spans[-1][0] - spans[-2][1] <= 40 and _APPROX_GLOSS.match(text[spans[-2][1] : spans[-1][0]]):
        spans.pop()
    return joined(spans, text)


def _last_number(text: str) -> str | None:
    last = None
    for last in _NUMBER.finditer(text):
        pass
    return last.group(0).replace(" ", "") if last else None


def extract(response: str, mode: str = "default", choices: str | None = None) -> str | None:
    """The final answer in ``response``, or ``None``.  Never raises on text input."""
    if not isinstance(response, str):
        return None
    text = _fix_surrogates(response[-limits.MAX_RESPONSE_CHARS :])
    if _THINK_END in text:
        after = text.rsplit(_THINK_END, 1)[1]
        if after.strip():
            text = after
    if choices:
        return extract_choice(text, choices)
    spans = boxed_spans(text)
    if spans:
        tail = text[spans[-1][1] :]
        if mode != "boxed" and (_MINERVA.search(tail) or _FINAL_PHRASE.search(tail)):
            # a "Final Answer: ... I hope it is correct." or "... the final answer is 5" written after
            # the last box wins (a correction after a boxed draft)
            phrase = _phrase_answer(tail)
            if phrase:
                return _clean(phrase)
        boxed = joined(spans, text)
        if _has_prose_word(boxed) and _STANDALONE_NUM.search(boxed) and len(boxed) < 300:
            boxed = _answer_from_line(boxed) or boxed  # \boxed{The answer is 4}
        return _clean(boxed)
    if mode == "boxed":
        return None
    phrase = _phrase_answer(text)
    if phrase:
        return _clean(phrase)
    stripped = GLUED_CONN.sub(r" \1 ", text.strip())
    if looks_like_answer(stripped) and not re.search(r"\$|\\\(|\\\[", stripped):
        if _has_prose_word(stripped) and _STANDALONE_NUM.search(stripped):
            return _clean(_last_number(stripped))  # "I get 1/2."
        return _clean(stripped)
    bolds = _BOLD.findall(text)
    if bolds and re.search(r"\d", bolds[-1]) and looks_like_answer(bolds[-1]):
        return _clean(bolds[-1])
    concl = _conclusion_number(text)
    if concl is not None:
        return _clean(concl)
    math = _math_answer(text)
    if math is not None:
        return _clean(math)
    if looks_like_answer(stripped):
        return _clean(stripped)
    return _clean(_last_number(text))


def _clean(ans: str | None) -> str | None:
    if ans is None:
        return None
    a = ans.strip().strip("*").strip()
    if not re.search(r"[A-Za-z0-9\\]", a):
        return None  # "?", "...", "$$": nothing that could be an answer
    a = re.sub(r"^[:\s]+", "", a)
    a = a.rstrip(".").rstrip()
    if len(a) > limits.MAX_ANSWER_CHARS:
        return None
    return a or None


# Possessive ``*+`` and a same-line ``^[^\S\n]*`` keep these linear: with plain ``\s*`` runs
# next to each other (or ``^\s*`` crossing lines) a long run of blanks was rescanned from
# every start.  They find exactly the letters the backtracking forms found.
_CHOICE_PATTERNS = [
    r"\\boxed\s*+\{\s*+(?:\\text(?:bf)?\s*+\{)?\s*+\(?([A-Z])\)?\s*+\}?\s*+\}",
    r"(?i:answer|option|choice|choose|select|pick)(?i:\s+is)?[:\s]*+\(?\*{0,2}\s*+\(?([A-Z])\b\)?",
    r"\(([A-Z])\)",
    r"(?m)^[^\S\n]*+\**([A-Z])[).:]",
]


def extract_choice(text: str, choices: str) -> str | None:
    """A multiple-choice letter among ``choices``.  Lower-case letters never count, and a
    bare capital only counts in an answer position (``(C)``, ``answer: C``, ``\\boxed{C}``)."""
    for pat in _CHOICE_PATTERNS:
        found = [m.group(1) for m in re.finditer(pat, text) if m.group(1) in choices]
        if found:
            return found[-1]
    bare = re.findall(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", text.strip()[-3:])
    if len(text.strip()) <= 3 and bare and bare[-1] in choices:
        return bare[-1]
    return None
