"""The syntax tree of one answer: small frozen dataclasses made by :mod:`ttrl_math.parse`.

Why typed nodes: the reader and the evaluator (:mod:`ttrl_math.evaluate`,
:mod:`ttrl_math.structure`) dispatch on the node's class (``match`` / ``isinstance``), so a
misspelt tag or a field read at the wrong position is a type error, not a silent ``False``.
Nodes never cross the worker pipe (only canonical values do, :mod:`ttrl_math.values`).

Sequences are tuples, so every node is immutable and hashable.  :func:`as_tuple` writes a
node in the tagged-tuple form the reader used before it was typed; names that are made from a
node's spelling (an unusual subscript, a name in ``x_{n+1} = 3``) come from that form, so they
-- and every fingerprint hashed from them -- are the same as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar


class ParseError(ValueError):
    """The answer is not in the math subset we read (it may still be a text answer)."""


class Node:
    """Base of every syntax-tree node; ``TAG`` is the node's name in :func:`as_tuple`."""

    __slots__: ClassVar[tuple[str, ...]] = ()
    TAG: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Num(Node):
    """A number literal; ``dp`` is the count of decimals written (``None``: written exactly)."""

    TAG = "num"
    value: Fraction
    dp: int | None = None


@dataclass(frozen=True, slots=True)
class Sym(Node):
    TAG = "sym"
    name: str


@dataclass(frozen=True, slots=True)
class Const(Node):
    """``pi``, ``e``, ``i`` or ``inf``."""

    TAG = "const"
    name: str


@dataclass(frozen=True, slots=True)
class Add(Node):
    TAG = "add"
    terms: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Neg(Node):
    TAG = "neg"
    x: Node


@dataclass(frozen=True, slots=True)
class Mul(Node):
    TAG = "mul"
    factors: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Div(Node):
    TAG = "div"
    num: Node
    den: Node


@dataclass(frozen=True, slots=True)
class Pow(Node):
    TAG = "pow"
    base: Node
    exp: Node


@dataclass(frozen=True, slots=True)
class Fn(Node):
    """A function applied to ``args``; ``f:NAME`` is an unknown function of a letter, ``log_``
    a logarithm with its base first."""

    TAG = "fn"
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Fact(Node):
    TAG = "fact"
    x: Node


@dataclass(frozen=True, slots=True)
class Abs(Node):
    TAG = "abs"
    x: Node


@dataclass(frozen=True, slots=True)
class Root(Node):
    """``index``: ``None`` for a square root."""

    TAG = "root"
    x: Node
    index: Node | None


@dataclass(frozen=True, slots=True)
class Binom(Node):
    TAG = "binom"
    n: Node
    k: Node


@dataclass(frozen=True, slots=True)
class PlusMinus(Node):
    """``a \\pm b``."""

    TAG = "pm"
    a: Node
    b: Node


@dataclass(frozen=True, slots=True)
class TupleOf(Node):
    """Bracketed items; the brackets decide between a tuple and an interval."""

    TAG = "tuple"
    items: tuple[Node, ...]
    open: str
    close: str


@dataclass(frozen=True, slots=True)
class SetOf(Node):
    TAG = "set"
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListOf(Node):
    """Items joined by ``how``: ``comma``, ``conn`` (and / or), ``semi``."""

    TAG = "list"
    items: tuple[Node, ...]
    how: str


@dataclass(frozen=True, slots=True)
class Rel(Node):
    """A chain ``exprs[0] ops[0] exprs[1] ...``."""

    TAG = "rel"
    ops: tuple[str, ...]
    exprs: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class UnionOf(Node):
    TAG = "union"
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Mat(Node):
    TAG = "mat"
    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Ratio(Node):
    TAG = "ratio"
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Text(Node):
    TAG = "text"
    words: str


@dataclass(frozen=True, slots=True)
class Base(Node):
    """``1011_2``: digits written in a base."""

    TAG = "base"
    digits: Num
    base: Node


@dataclass(frozen=True, slots=True)
class Empty(Node):
    TAG = "empty"


ZERO = Num(Fraction(0), None)
PI = Const("pi")
INF = Const("inf")


def fields(node: Node) -> list[Any]:
    """The node's fields in order (nodes, tuples of nodes, strings, numbers)."""
    return [getattr(node, name) for name in node.__slots__]


def rebuild(node: Node, fn: Callable[[Any], Any]) -> Node:
    """A node of the same class with ``fn`` applied to each field."""
    return type(node)(*(fn(f) for f in fields(node)))


def as_tuple(x: Any) -> Any:
    """The tagged-tuple spelling of a node (``("add", [("sym", "x"), ("num", Fraction(1, 1), None)])``)."""
    if isinstance(x, Node):
        return (x.TAG,) + tuple(as_tuple(f) for f in fields(x))
    if isinstance(x, tuple):
        return [as_tuple(y) for y in x]
    return x


#: Nodes with no node below them (the walks below return at once for these: most nodes are leaves).
LEAVES = (Num, Sym, Const, Text, Empty)


def children(node: Node) -> Sequence[Node]:
    """The nodes directly below ``node`` (inside tuples too: terms, rows of a matrix)."""
    if isinstance(node, LEAVES):
        return ()
    out: list[Node] = []
    stack: list[Any] = fields(node)
    while stack:
        f = stack.pop()
        if isinstance(f, Node):
            out.append(f)
        elif isinstance(f, tuple):
            stack.extend(f)  # terms, rows; strings (a relation's operators) and numbers are dropped
    return out


# ----------------------------------------------------------------------------- leaves the reader builds


def letter(c: str) -> Node:
    if c == "e":
        return Const("e")
    if c == "i":
        return Const("i")
    return Sym(c)


def sym_name(node: Node) -> str:
    match node:
        case Sym(name):
            return name
        case Const(name):
            return {"pi": "pi", "e": "e", "i": "i", "inf": "inf"}[name]
        case Mul(factors) if all(isinstance(f, (Sym, Const)) for f in factors):
            return "".join(sym_name(f) for f in factors)
        case Fn(name) if name.startswith("f:"):
            return name[2:]
    raise ParseError("subscript on a non-symbol")


def sub_text(node: Node) -> str:
    if isinstance(node, Num):
        return str(node.value)
    if isinstance(node, (Sym, Const)):
        return sym_name(node)
    return repr(as_tuple(node))


def number(text: str) -> Num:
    if "." in text:
        whole, _, frac = text.partition(".")
        dp = len(frac)
        value = Fraction(int(whole or "0") * 10**dp + int(frac or "0"), 10**dp) if dp else Fraction(int(whole))
        return Num(value, dp if dp else None)
    if len(text) > 4000:
        raise ParseError("number too long")
    return Num(Fraction(int(text)), None)


def text_node(text: str) -> Node:
    """``\\text{...}`` content: a number or a math expression inside ``\\text`` is read as
    math (``\\text{13}``), a single letter as that letter, otherwise text words."""
    t = text.strip()
    if not t:
        return Empty()
    if re.fullmatch(r"\(?\s*[A-Z]\s*\)?", t):
        return Sym(t.strip("() "))
    if re.fullmatch(r"[a-zA-Z]", t):
        return letter(t)
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", t):
        return number(t.lstrip("+")) if not t.startswith("-") else Neg(number(t[1:]))
    return Text(" ".join(t.lower().split()))
