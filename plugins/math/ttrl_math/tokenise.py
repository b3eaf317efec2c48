"""Stage 2 of reading an answer: a normalised string -> tokens (bounded by ``limits.MAX_TOKENS``).

Also the command tables the grammar consults (which ``\\name`` is a function, a wrapper, an
operator, a symbol), so they are written once.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ttrl_math import limits
from ttrl_math.nodes import Const, Empty, Node, ParseError, Sym


class Token(NamedTuple):
    """``kind``: ``num`` | ``cmd`` (``text`` without the backslash) | ``word`` | ``op``."""

    kind: str
    text: str


# Tokens are built by the thousand per answer: ``tuple.__new__`` skips the NamedTuple's
# Python-level ``__new__`` (about half the cost of each token).
_token = tuple.__new__

LBRACE = Token("op", "{")
RBRACE = Token("op", "}")

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
SYMBOL_CMDS: dict[str, Node] = {
    "pi": Const("pi"),
    "infty": Const("inf"),
    "infinity": Const("inf"),
    "emptyset": Empty(),
    "varnothing": Empty(),
    "alpha": Sym("alpha"),
    "beta": Sym("beta"),
    "gamma": Sym("gamma"),
    "theta": Sym("theta"),
    "lambda": Sym("lambda"),
    "mu": Sym("mu"),
    "sigma": Sym("sigma"),
    "phi": Sym("phi"),
    "omega": Sym("omega"),
    "delta": Sym("delta"),
    "epsilon": Sym("epsilon"),
    "tau": Sym("tau"),
    "rho": Sym("rho"),
    "varphi": Sym("phi"),
    "psi": Sym("psi"),
    "eta": Sym("eta"),
    "xi": Sym("xi"),
    "zeta": Sym("zeta"),
    "nu": Sym("nu"),
    "kappa": Sym("kappa"),
    "chi": Sym("chi"),
    "Delta": Sym("Delta"),
    "Omega": Sym("Omega"),
    "ell": Sym("l"),
    "imath": Const("i"),
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
CONNECTORS = {"and", "or"}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<cmd>\\[a-zA-Z]+|\\[{}|\\%])|(?P<word>[a-zA-Z]+)"
    r"|(?P<op>\*\*|<=|>=|!=|=<|=>|->|\.\.\.|[-+*/^_(){}\[\],;=<>|!'&:.?])|(?P<bad>\S))"
)


def tokenize(s: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    n = len(s)
    while pos < n:
        m = _TOKEN.match(s, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        if m.group("num") is not None:
            out.append(_token(Token, ("num", m.group("num"))))
        elif m.group("cmd") is not None:
            name = m.group("cmd")[1:]
            if name.isalpha() and name not in KNOWN_CMDS:
                # ``\quadx`` / ``\pix``: peel the longest known command off the front.
                for k in range(len(name) - 1, 0, -1):
                    if name[:k] in KNOWN_CMDS:
                        out.append(_token(Token, ("cmd", name[:k])))
                        out.append(_token(Token, ("word", name[k:])))
                        break
                else:
                    out.append(_token(Token, ("cmd", name)))
            else:
                out.append(_token(Token, ("cmd", name)))
        elif m.group("word") is not None:
            out.append(_token(Token, ("word", m.group("word"))))
        elif m.group("op") is not None:
            op = {"=<": "<=", "=>": ">=", "**": "^"}.get(m.group("op"), m.group("op"))  # ``**``: Python-style power
            out.append(_token(Token, ("op", op)))
        else:
            raise ParseError(f"unexpected character {m.group('bad')!r}")
        if len(out) > limits.MAX_TOKENS:
            raise ParseError("too many tokens")
    return out


def read_group_text(tokens: list[Token], i: int) -> tuple[str, int]:
    """Raw text of a ``{...}`` group starting at ``tokens[i]`` (used by ``\\text``)."""
    if i >= len(tokens) or tokens[i] != LBRACE:
        return "", i
    depth = 0
    parts: list[str] = []
    j = i
    while j < len(tokens):
        t = tokens[j]
        if t == LBRACE:
            depth += 1
            if depth > 1:
                parts.append("{")
        elif t == RBRACE:
            depth -= 1
            if depth == 0:
                return " ".join(parts), j + 1
            parts.append("}")
        else:
            parts.append(t.text if t.kind != "cmd" else "\\" + t.text)
        j += 1
    raise ParseError("unbalanced braces")


class TokenStream:
    """A cursor over one answer's tokens, with the nesting bound (``limits.MAX_DEPTH``)."""

    def __init__(self, tokens: list[Token]):
        self.t = tokens
        self.i = 0
        self.depth = 0

    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ParseError("unexpected end")
        self.i += 1
        return tok

    def at(self, kind: str, value: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind and (value is None or tok.text == value)

    def at_op(self, *values: str) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind == "op" and tok.text in values:
            return True
        return tok.kind == "cmd" and OP_CMDS.get(tok.text) in values

    def expect_op(self, value: str) -> None:
        tok = self.next()
        if tok != ("op", value):
            raise ParseError(f"expected {value!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > limits.MAX_DEPTH:
            raise ParseError("nesting too deep")
