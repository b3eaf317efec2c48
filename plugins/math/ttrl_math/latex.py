"""A small, bounded LaTeX/plain-math reader: normalise -> tokenise -> parse to our own AST.

Why our own: model output is untrusted, so nothing here calls ``eval``, ``sympify`` or
``parse_expr``; the grammar is tiny (the answer forms of competition math, not all of
LaTeX), every loop is bounded by :mod:`ttrl_math.limits`, and the AST is plain tuples that
the evaluator in :mod:`ttrl_math.canon` turns into exact or fingerprinted values.

AST nodes (tuples, first element is the tag)::

    ("num", Fraction, decimals|None)   ("sym", name)   ("const", "pi"|"e"|"i"|"inf")
    ("add", [terms])  ("neg", x)  ("mul", [factors])  ("div", a, b)  ("pow", a, b)
    ("fn", name, [args])  ("fact", x)  ("abs", x)  ("root", x, n)  ("binom", n, k)
    ("pm", a, b)  a +- b     ("tuple", [items], "(" , ")")   ("set", [items])
    ("list", [items], how)   how in {"comma", "conn", "semi", "boxes"}
    ("rel", [ops], [exprs])  ("union", [parts])  ("mat", [[cells]])  ("ratio", [parts])
    ("text", words)  ("base", digits, base)  ("empty",)
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from ttrl_math import limits

Node = tuple


class ParseError(ValueError):
    """The answer is not in the math subset we read (it may still be a text answer)."""


# ----------------------------------------------------------------------------- normalise

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


def _repeating_to_fraction(m: re.Match) -> str:
    whole, fixed, rep = m.group(1) or "0", m.group(2), m.group(3)
    num = int(whole + fixed + rep) - int(whole + fixed)
    den = 10 ** len(fixed) * (10 ** len(rep) - 1)
    return f"\\frac{{{num}}}{{{den}}}"


_DEGREE = re.compile(
    r"(?:\^\s*\{?\s*\\circ\s*\}?|°)(?:\s*(?:\\text\{\s*)?[CF](?![a-zA-Z])\}?)?|\\degree(?![a-zA-Z])|\^\s*\{\s*\\text\{\s*o\s*\}\s*\}|"
    r"\s*\\text\{\s*degrees?\s*\}|\s*\bdegrees?\b"
)
_PERCENT = re.compile(r"\\%|%|\s*\\text\{\s*(?:percent|percentage|pct)\s*\}|\s*\b(?:percent|percentage|pct)\b")
_GLUED_CONN = re.compile(r"(?<=[\d})\]])\s*(or|and)(?=[A-Za-z\\(])")
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
            close = _matching_brace(t, m.end() - 1)
            if close == len(t) - 1:
                t = t[m.end() : -1].strip()
            elif close < 0:
                t = t[m.end() :].strip()  # a box that was never closed (truncated output)
        if t == s:
            break
        s = t
    return s


def _matching_brace(s: str, i: int) -> int:
    """Index of the ``}`` matching ``s[i] == '{'`` (escaped braces ignored), or -1."""
    depth = 0
    j = i
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def normalise(s: str) -> tuple[str, dict[str, bool]]:
    """String-level clean-up shared by every answer; returns the text and policy flags
    (``deg``: a degree sign was present, ``pct``: a percent sign was present)."""
    flags = {"deg": False, "pct": False}
    s = s.encode("utf-8", "ignore").decode("utf-8", "ignore") if _has_surrogate(s) else s
    s = _FIX_DOUBLE.sub(r"\\", s)
    s = s.replace("\u2212", "-").replace("\u00d7", "\\times ").replace("\u00b7", "\\cdot ")
    s = s.replace("\u2264", "\\le ").replace("\u2265", "\\ge ").replace("\u2260", "\\ne ")
    s = s.replace("\u03c0", "\\pi ").replace("\u221e", "\\infty ").replace("\u221a", "\\sqrt")
    s = s.replace("\u00f7", "/").replace("\u2013", "-").replace("\u00a0", " ").replace("\u222a", "\\cup ")
    s = strip_wrappers(s)
    s = _THOUSANDS_BANG.sub(r"\1", s)
    s = _GLUED_CONN.sub(r" \1 ", s)
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
        flags["deg"] = True
        s = s2
    s2 = _PERCENT.sub("", s)
    if s2 != s:
        flags["pct"] = True
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
    return s.strip(), flags


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


# ----------------------------------------------------------------------------- tokenise

FUNCTIONS = {
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "ln",
    "log",
    "exp",
    "lg",
    "arccot",
    "arcsec",
    "arccsc",
}
TEXT_CMDS = {
    "text",
    "textbf",
    "textit",
    "mathrm",
    "mbox",
    "textnormal",
    "mathbf",
    "mathit",
    "operatorname",
    "textrm",
    "mathsf",
    "texttt",
    "emph",
    "bf",
    "rm",
    "mathnormal",
    "boldsymbol",
    "bm",
    "hbox",
}
WRAP_CMDS = {
    "boxed",
    "fbox",
    "overline",
    "underline",
    "vec",
    "hat",
    "bar",
    "widehat",
    "overrightarrow",
    "mathbb",
    "mathcal",
    "tilde",
    "dot",
}
SYMBOL_CMDS = {
    "pi": ("const", "pi"),
    "infty": ("const", "inf"),
    "infinity": ("const", "inf"),
    "emptyset": ("empty",),
    "varnothing": ("empty",),
    "alpha": ("sym", "alpha"),
    "beta": ("sym", "beta"),
    "gamma": ("sym", "gamma"),
    "theta": ("sym", "theta"),
    "lambda": ("sym", "lambda"),
    "mu": ("sym", "mu"),
    "sigma": ("sym", "sigma"),
    "phi": ("sym", "phi"),
    "omega": ("sym", "omega"),
    "delta": ("sym", "delta"),
    "epsilon": ("sym", "epsilon"),
    "tau": ("sym", "tau"),
    "rho": ("sym", "rho"),
    "varphi": ("sym", "phi"),
    "psi": ("sym", "psi"),
    "eta": ("sym", "eta"),
    "xi": ("sym", "xi"),
    "zeta": ("sym", "zeta"),
    "nu": ("sym", "nu"),
    "kappa": ("sym", "kappa"),
    "chi": ("sym", "chi"),
    "Delta": ("sym", "Delta"),
    "Omega": ("sym", "Omega"),
    "ell": ("sym", "l"),
    "imath": ("const", "i"),
}
OP_CMDS = {
    "cdot": "*",
    "times": "*",
    "ast": "*",
    "div": "/",
    "le": "<=",
    "leq": "<=",
    "leqslant": "<=",
    "ge": ">=",
    "geq": ">=",
    "geqslant": ">=",
    "lt": "<",
    "gt": ">",
    "ne": "!=",
    "neq": "!=",
    "approx": "~",
    "sim": "~",
    "simeq": "~",
    "in": "in",
    "cup": "cup",
    "pm": "pm",
    "mp": "mp",
    "colon": ":",
    "to": "->",
    "rightarrow": "->",
    "Rightarrow": "->",
    "implies": "->",
    "equiv": "=",
    "cap": "cap",
    "wedge": "and",
    "vee": "or",
    "land": "and",
    "lor": "or",
    "setminus": "setminus",
    "mid": "|",
    "vert": "|",
    "lvert": "|",
    "rvert": "|",
    "ldots": "...",
    "cdots": "...",
    "dots": "...",
    "dotsc": "...",
    "dotsb": "...",
    "lfloor": "lfloor",
    "rfloor": "rfloor",
    "lceil": "lceil",
    "rceil": "rceil",
    "langle": "(",
    "rangle": ")",
    "%": "",
}
STRUCT_CMDS = {"frac", "sqrt", "binom", "dbinom", "tbinom", "begin", "end", "log", "ln"}
KNOWN_CMDS = FUNCTIONS | TEXT_CMDS | WRAP_CMDS | set(SYMBOL_CMDS) | set(OP_CMDS) | STRUCT_CMDS | {"{", "}", "\\"}
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

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<cmd>\\[a-zA-Z]+|\\[{}|\\%])|(?P<word>[a-zA-Z]+)"
    r"|(?P<op>\*\*|<=|>=|!=|=<|=>|->|\.\.\.|[-+*/^_(){}\[\],;=<>|!'&:.?])|(?P<bad>\S))"
)


def tokenize(s: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    n = len(s)
    while pos < n:
        m = _TOKEN.match(s, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        if m.group("num") is not None:
            out.append(("num", m.group("num")))
        elif m.group("cmd") is not None:
            name = m.group("cmd")[1:]
            if name.isalpha() and name not in KNOWN_CMDS:
                # ``\quadx`` / ``\pix``: peel the longest known command off the front.
                for k in range(len(name) - 1, 0, -1):
                    if name[:k] in KNOWN_CMDS:
                        out.append(("cmd", name[:k]))
                        out.append(("word", name[k:]))
                        break
                else:
                    out.append(("cmd", name))
            else:
                out.append(("cmd", name))
        elif m.group("word") is not None:
            out.append(("word", m.group("word")))
        elif m.group("op") is not None:
            op = {"=<": "<=", "=>": ">=", "**": "^"}.get(m.group("op"), m.group("op"))  # ``**``: Python-style power
            out.append(("op", op))
        else:
            raise ParseError(f"unexpected character {m.group('bad')!r}")
        if len(out) > limits.MAX_TOKENS:
            raise ParseError("too many tokens")
    return out


def read_group_text(tokens: list, i: int) -> tuple[str, int]:
    """Raw text of a ``{...}`` group starting at ``tokens[i]`` (used by ``\\text``)."""
    if i >= len(tokens) or tokens[i] != ("op", "{"):
        return "", i
    depth = 0
    parts: list[str] = []
    j = i
    while j < len(tokens):
        t = tokens[j]
        if t == ("op", "{"):
            depth += 1
            if depth > 1:
                parts.append("{")
        elif t == ("op", "}"):
            depth -= 1
            if depth == 0:
                return " ".join(parts), j + 1
            parts.append("}")
        else:
            parts.append(t[1] if t[0] != "cmd" else "\\" + t[1])
        j += 1
    raise ParseError("unbalanced braces")


# ----------------------------------------------------------------------------- parse

CONNECTORS = {"and", "or"}
RELOPS = {"=", "<", ">", "<=", ">=", "!=", "~", "in"}
ATOM_START_CMDS = (
    {"frac", "sqrt", "binom", "dbinom", "tbinom", "begin", "{", "|"}
    | set(SYMBOL_CMDS)
    | FUNCTIONS
    | TEXT_CMDS
    | WRAP_CMDS
)
FUNC_LETTERS = set("fgh") | {"F", "G", "H", "P", "Q", "W"}


class Parser:
    def __init__(self, tokens: list[tuple[str, Any]]):
        self.t = tokens
        self.i = 0
        self.depth = 0

    # -- helpers
    def peek(self, k: int = 0) -> tuple[str, Any] | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def next(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise ParseError("unexpected end")
        self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == kind and (value is None or tok[1] == value)

    def at_op(self, *values: str) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok[0] == "op" and tok[1] in values:
            return True
        return tok[0] == "cmd" and OP_CMDS.get(tok[1]) in values

    def expect_op(self, value: str) -> None:
        tok = self.next()
        if tok != ("op", value):
            raise ParseError(f"expected {value!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > limits.MAX_DEPTH:
            raise ParseError("nesting too deep")

    # -- grammar
    def parse(self) -> Node:
        node = self.conn_list()
        if self.peek() is not None:
            raise ParseError(f"trailing input at {self.peek()!r}")
        return node

    def is_connector(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok[0] == "word" and tok[1].lower() in CONNECTORS:
            return True
        if tok[0] == "cmd" and OP_CMDS.get(tok[1]) in CONNECTORS:
            return True
        if tok[0] == "cmd" and tok[1] in TEXT_CMDS:
            text, _ = read_group_text(self.t, self.i + 1)
            return text.strip().strip(",").strip().lower() in CONNECTORS | {""} and text.strip() != ""
        return False

    def skip_connector(self) -> None:
        tok = self.next()
        if tok[0] == "cmd" and tok[1] in TEXT_CMDS:
            _, self.i = read_group_text(self.t, self.i)

    def conn_list(self) -> Node:
        items = [self.semi_list()]
        how = None
        while self.is_connector() or (self.at_op(",") and self._connector_after_comma()):
            if self.at_op(","):
                self.next()
            self.skip_connector()
            if self.at_op(","):
                self.next()
            how = "conn"
            items.append(self.semi_list())
        if how is None:
            return items[0]
        flat: list[Node] = []
        for it in items:
            # "1, 2 and 3" is one list; "p=5, q=2 and p=7, q=2" is two groups of assignments
            if it[0] == "list" and not (it[2] == "comma" and any(x[0] == "rel" for x in it[1])):
                flat.extend(it[1])
            else:
                flat.append(it)
        return ("list", flat, "conn")

    def _connector_after_comma(self) -> bool:
        save = self.i
        self.i += 1
        ok = self.is_connector()
        self.i = save
        return ok

    def semi_list(self) -> Node:
        items = [self.comma_list()]
        while self.at_op(";"):
            self.next()
            if self.peek() is None:
                break
            items.append(self.comma_list())
        return items[0] if len(items) == 1 else ("list", items, "semi")

    def comma_list(self) -> Node:
        items = [self.relation()]
        while self.at_op(",") and not self._connector_after_comma():
            self.next()
            if self.peek() is None or self.at_op(";"):
                break
            items.append(self.relation())
            if len(items) > limits.MAX_ELEMENTS:
                raise ParseError("too many elements")
        return items[0] if len(items) == 1 else ("list", items, "comma")

    def relation(self) -> Node:
        exprs = [self.ratio()]
        ops: list[str] = []
        while True:
            tok = self.peek()
            if tok is None:
                break
            op = tok[1] if tok[0] == "op" else OP_CMDS.get(tok[1]) if tok[0] == "cmd" else None
            if op not in RELOPS:
                break
            self.next()
            ops.append(op)
            exprs.append(self.ratio())
        return exprs[0] if not ops else ("rel", ops, exprs)

    def ratio(self) -> Node:
        parts = [self.union()]
        while self.at_op(":"):
            self.next()
            parts.append(self.union())
        return parts[0] if len(parts) == 1 else ("ratio", parts)

    def union(self) -> Node:
        parts = [self.additive()]
        while self.at_op("cup"):
            self.next()
            parts.append(self.additive())
        return parts[0] if len(parts) == 1 else ("union", parts)

    def additive(self) -> Node:
        self.enter()
        try:
            sign = None
            if self.at_op("+", "-", "pm", "mp"):
                sign = self.next()
            node = self.term()
            if sign is not None:
                s = sign[1] if sign[0] == "op" else OP_CMDS[sign[1]]
                if s == "-":
                    node = ("neg", node)
                elif s in ("pm", "mp"):
                    node = ("pm", ("num", Fraction(0), None), node)
            terms = [node]
            while self.at_op("+", "-", "pm", "mp"):
                tok = self.next()
                s = tok[1] if tok[0] == "op" else OP_CMDS[tok[1]]
                rhs = self.term()
                if s == "+":
                    terms.append(rhs)
                elif s == "-":
                    terms.append(("neg", rhs))
                else:
                    left = terms[0] if len(terms) == 1 else ("add", terms)
                    terms = [("pm", left, rhs)]
            return terms[0] if len(terms) == 1 else ("add", terms)
        finally:
            self.depth -= 1

    def starts_atom(self) -> bool:
        tok = self.peek()
        if tok is None or self.is_connector():
            return False
        kind, val = tok
        if kind == "num":
            return True
        if kind == "word":
            return val.lower() not in CONNECTORS
        if kind == "op":
            return val in ("(", "[", "{")
        if kind == "cmd":
            return val in ATOM_START_CMDS or val in ("{", "lfloor", "lceil", "langle")
        return False

    def term(self) -> Node:
        factors = [self.power()]
        while True:
            if self.at_op("*"):
                self.next()
                factors.append(self.power())
            elif self.at_op("/"):
                self.next()
                den = self.power()
                num = factors[0] if len(factors) == 1 else ("mul", factors)
                factors = [("div", num, den)]
            elif self.starts_atom():
                nxt = self.peek()
                if nxt is not None and nxt[0] == "num" and factors and factors[-1][0] == "num":
                    raise ParseError("two numbers in a row")
                factors.append(self.power())
            else:
                break
            if len(factors) > limits.MAX_ELEMENTS:
                raise ParseError("too many factors")
        return factors[0] if len(factors) == 1 else ("mul", factors)

    def power(self) -> Node:
        base = self.postfix()
        if self.at_op("^"):
            self.next()
            if self.at_op("-", "+"):
                sign = self.next()[1]
                e = self.postfix()
                exp = ("neg", e) if sign == "-" else e
            else:
                exp = self.postfix(single=True)
            base = ("pow", base, exp)
            while self.at_op("!"):
                self.next()
                base = ("fact", base)
        return base

    def postfix(self, single: bool = False) -> Node:
        node = self.atom(single=single)
        while True:
            if self.at_op("!"):
                self.next()
                node = ("fact", node)
            elif self.at_op("'"):
                self.next()
                node = ("sym", _sym_name(node) + "'")
            elif self.at_op("_"):
                self.next()
                sub = self.atom(single=True)
                if node[0] == "num" and sub[0] == "num":
                    node = ("base", node, sub)
                elif node[0] == "fn" and node[1] == "log":
                    node = ("fn", "log_", [sub])
                else:
                    node = ("sym", _sym_name(node) + "_" + _sub_text(sub))
            else:
                break
        return node

    def group(self, open_: str, close: str) -> Node:
        """``{ ... }`` braces used for grouping (a LaTeX argument)."""
        self.expect_op(open_)
        self.enter()
        try:
            if self.at_op(close):
                self.next()
                return ("empty",)
            node = self.conn_list()
            self.expect_op(close)
            return node
        finally:
            self.depth -= 1

    def arg(self) -> Node:
        """A LaTeX macro argument: ``{...}`` or a single token (``\\frac12``)."""
        if self.at_op("{"):
            return self.group("{", "}")
        tok = self.next()
        if tok[0] == "num":
            digit = tok[1][0]
            rest = tok[1][1:]
            if rest:
                self.t.insert(self.i, ("num", rest))
            return ("num", Fraction(int(digit)), None)
        if tok[0] == "word":
            if len(tok[1]) > 1:
                self.t.insert(self.i, ("word", tok[1][1:]))
            return ("sym", tok[1][0])
        if tok[0] == "cmd" and tok[1] in SYMBOL_CMDS:
            return SYMBOL_CMDS[tok[1]]
        raise ParseError("bad macro argument")

    def atom(self, single: bool = False) -> Node:
        tok = self.next()
        kind, val = tok
        if kind == "num":
            return _number(val)
        if kind == "word":
            return self.word(val, single)
        if kind == "op":
            if val == "(":
                return self.bracketed("(")
            if val == "[":
                return self.bracketed("[")
            if val == "{":
                self.i -= 1
                return self.group("{", "}")
            if val == "|":
                self.enter()
                try:
                    inner = self.additive()
                    self.expect_op("|")
                finally:
                    self.depth -= 1
                return ("abs", inner)
            raise ParseError(f"unexpected {val!r}")
        if kind == "cmd":
            return self.command(val, single)
        raise ParseError("unexpected token")

    def bracketed(self, open_: str) -> Node:
        self.enter()
        try:
            items: list[Node] = []
            while True:
                if self.at_op(")", "]") and not items:
                    break
                items.append(self.relation())
                if len(items) > limits.MAX_ELEMENTS:
                    raise ParseError("too many elements")
                if self.at_op(",", ";"):
                    self.next()
                    continue
                break
            close = self.next()
            if close not in (("op", ")"), ("op", "]")) and not (close[0] == "cmd" and close[1] == "rangle"):
                raise ParseError("unclosed bracket")
            c = ")" if close[1] in (")", "rangle") else "]"
            if len(items) == 1:
                return items[0]  # "(x)", "[45]", "[\\begin{array}..]": one item is just grouping
            return ("tuple", items, open_, c)
        finally:
            self.depth -= 1

    def word(self, val: str, single: bool) -> Node:
        low = val.lower()
        if low in FUNCTIONS:
            return self.function(low)
        if low in ("sqrt",):
            return self.command("sqrt", single)
        if low == "pi":
            return ("const", "pi")
        if low in ("inf", "infinity", "infty"):
            return ("const", "inf")
        if len(val) > 1:
            # a run of letters in math is a product of one-letter symbols ("xy", "AB");
            # single-letter splitting keeps "2xy" and "2yx" the same.
            if single:
                self.t.insert(self.i, ("word", val[1:]))
                return _letter(val[0])
            factors = [_letter(c) for c in val]
            return ("mul", factors)
        node = _letter(val)
        if val in FUNC_LETTERS and self.at_op("(") and not single:
            self.next()
            args = [] if self.at_op(")") else [self.relation()]
            while self.at_op(","):
                self.next()
                args.append(self.relation())
            self.expect_op(")")
            return ("fn", "f:" + val, args)
        return node

    def function(self, name: str) -> Node:
        power = None
        base = None
        if name == "log" and self.at_op("_"):
            self.next()
            base = self.atom(single=True)
        if self.at_op("^"):
            self.next()
            power = self.postfix(single=True)
        if self.at_op("("):
            self.next()
            arg = self.conn_list()
            self.expect_op(")")
        elif self.at_op("{"):
            arg = self.group("{", "}")
        else:
            arg = self.power()
            if arg[0] == "num" and (nxt := self.peek()) is not None and nxt[0] == "word":
                arg = ("mul", [arg, self.power()])
        node: Node = ("fn", name, [arg]) if base is None else ("fn", "log_", [base, arg])
        return node if power is None else ("pow", node, power)

    def command(self, name: str, single: bool) -> Node:
        if name in SYMBOL_CMDS:
            return SYMBOL_CMDS[name]
        if name == "frac":
            a = self.arg()
            b = self.arg()
            return ("div", a, b)
        if name in ("binom", "dbinom", "tbinom"):
            a = self.arg()
            b = self.arg()
            return ("binom", a, b)
        if name == "sqrt":
            n = None
            if self.at_op("["):
                self.next()
                n = self.additive()
                self.expect_op("]")
            if self.at_op("("):
                # ``sqrt(3)`` / ``\\sqrt(3)`` (plain-text or Python style): the parenthesised radicand
                self.next()
                inner = self.additive()
                self.expect_op(")")
                return ("root", inner, n)
            return ("root", self.arg(), n)
        if name in FUNCTIONS:
            return self.function(name)
        if name in TEXT_CMDS:
            text, self.i = read_group_text(self.t, self.i)
            return _text_node(text)
        if name in WRAP_CMDS:
            return self.arg()
        if name == "{":
            self.enter()
            try:
                if self.at("cmd", "}"):
                    self.next()
                    return ("set", [])
                inner = self.conn_list()
                if not self.at("cmd", "}"):
                    raise ParseError("unclosed set")
                self.next()
            finally:
                self.depth -= 1
            items = inner[1] if inner[0] == "list" else [inner]
            return ("set", items)
        if name in ("lfloor", "lceil"):
            inner = self.additive()
            tok = self.next()
            if tok[0] != "cmd" or tok[1] not in ("rfloor", "rceil"):
                raise ParseError("unclosed floor")
            return ("fn", name[1:], [inner])
        if name == "langle":
            return self.bracketed("(")
        if name == "begin":
            return self.environment()
        if name.isalpha() and name not in KNOWN_CMDS and len(name) <= 20:
            return ("sym", "\\" + name)  # an unknown macro names something; compare by name
        raise ParseError(f"unsupported command \\{name}")

    def environment(self) -> Node:
        env, self.i = read_group_text(self.t, self.i)
        env = env.replace(" ", "")
        if env not in ("pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix", "array", "smallmatrix"):
            raise ParseError(f"unsupported environment {env}")
        if env == "array" and self.at_op("{"):
            _, self.i = read_group_text(self.t, self.i)
        rows: list[list[Node]] = [[]]
        cells = 0
        while True:
            if self.at("cmd", "end"):
                self.next()
                _, self.i = read_group_text(self.t, self.i)
                break
            if self.at("cmd", "\\"):
                self.next()
                if not self.at("cmd", "end"):
                    rows.append([])
                continue
            if self.at_op("&"):
                self.next()
                continue
            rows[-1].append(self.additive())
            cells += 1
            if cells > limits.MAX_MATRIX_CELLS:
                raise ParseError("matrix too large")
        rows = [r for r in rows if r]
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        return ("mat", rows)


def _letter(c: str) -> Node:
    if c == "e":
        return ("const", "e")
    if c == "i":
        return ("const", "i")
    return ("sym", c)


def _sym_name(node: Node) -> str:
    if node[0] == "sym":
        return node[1]
    if node[0] == "const":
        return {"pi": "pi", "e": "e", "i": "i", "inf": "inf"}[node[1]]
    if node[0] == "mul" and all(f[0] in ("sym", "const") for f in node[1]):
        return "".join(_sym_name(f) for f in node[1])
    if node[0] == "fn" and node[1].startswith("f:"):
        return node[1][2:]
    raise ParseError("subscript on a non-symbol")


def _sub_text(node: Node) -> str:
    if node[0] == "num":
        return str(node[1])
    if node[0] in ("sym", "const"):
        return _sym_name(node)
    return repr(node)


def _number(text: str) -> Node:
    if "." in text:
        whole, _, frac = text.partition(".")
        dp = len(frac)
        value = Fraction(int(whole or "0") * 10**dp + int(frac or "0"), 10**dp) if dp else Fraction(int(whole))
        return ("num", value, dp if dp else None)
    if len(text) > 4000:
        raise ParseError("number too long")
    return ("num", Fraction(int(text)), None)


def _text_node(text: str) -> Node:
    """``\\text{...}`` content: a number or a math expression inside ``\\text`` is read as
    math (``\\text{13}``), a single letter as that letter, otherwise text words."""
    t = text.strip()
    if not t:
        return ("empty",)
    if re.fullmatch(r"\(?\s*[A-Z]\s*\)?", t):
        return ("sym", t.strip("() "))
    if re.fullmatch(r"[a-zA-Z]", t):
        return _letter(t)
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", t):
        return _number(t.lstrip("+")) if not t.startswith("-") else ("neg", _number(t[1:]))
    return ("text", " ".join(t.lower().split()))


def parse(s: str) -> Node:
    """Parse a normalised answer string into an AST (raises :class:`ParseError`)."""
    if len(s) > limits.MAX_ANSWER_CHARS:
        raise ParseError("answer too long")
    tokens = tokenize(s)
    tokens = _drop_units(tokens)
    if not tokens:
        raise ParseError("empty")
    return Parser(tokens).parse()


# Physical units that grading may tell apart (``7 cm`` is not ``7 m``); words outside this table
# ("people", "ways", "units") never make two answers differ.
_UNIT_CANON = {}
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
    kept = _drop_units(tokens)
    tail = tokens[len(kept) :]
    if not tail or tokens[: len(kept)] != kept:
        return None
    words = [t[1].lower() for t in tail if t[0] == "word"]
    power = ""
    if "square" in words or "sq" in words or (len(tail) >= 2 and tail[-2] == ("op", "^") and tail[-1] == ("num", "2")):
        power = "^2"
    if "cubic" in words or (len(tail) >= 2 and tail[-2] == ("op", "^") and tail[-1] == ("num", "3")):
        power = "^3"
    names = [w for w in words if w not in ("square", "sq", "cubic")]
    if len(names) != 1 or names[0] not in _UNIT_CANON:
        return None
    return _UNIT_CANON[names[0]] + power


def _drop_units(tokens: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Remove trailing unit words / ``\\text{ unit}`` after a number (``10\\text{ cm}^2``,
    ``125 miles``), and a trailing ``^2``/``^3`` that belonged to the unit."""
    out = list(tokens)
    changed = True
    while changed and len(out) >= 2:
        changed = False
        last = out[-1]
        if len(out) >= 3 and out[-2] == ("op", "^") and last[0] == "num" and last[1] in ("2", "3"):
            prev = out[-3]
            if (prev[0] == "word" and prev[1].lower() in UNIT_WORDS) or prev == ("op", "}"):
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


def _strip_one_unit(out: list) -> bool:
    if not out:
        return False
    last = out[-1]
    if last[0] == "word" and last[1].lower() in UNIT_WORDS and len(out) >= 2 and _numberish(out[-2]):
        out.pop()
        return True
    if last == ("op", "}"):
        # find the matching text command
        depth = 0
        for j in range(len(out) - 1, -1, -1):
            if out[j] == ("op", "}"):
                depth += 1
            elif out[j] == ("op", "{"):
                depth -= 1
                if depth == 0:
                    if j >= 2 and out[j - 1][0] == "cmd" and out[j - 1][1] in TEXT_CMDS:
                        words = [t[1] for t in out[j + 1 : -1]]
                        if (
                            words
                            and all(t[0] == "word" for t in out[j + 1 : -1])
                            and _numberish(out[j - 2])
                            and not (len(words) == 1 and words[0].lower() in CONNECTORS)
                        ):
                            del out[j - 1 :]
                            return True
                    return False
    return False


def _numberish(tok: tuple[str, Any]) -> bool:
    return (
        tok[0] == "num"
        or tok in (("op", "}"), ("op", ")"), ("op", "]"))
        or (tok[0] == "cmd" and tok[1] in ("pi", "infty"))
    )
