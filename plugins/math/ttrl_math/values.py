"""Canonical values of answers, and the :class:`Info` that carries one: small frozen dataclasses.

Why typed: :mod:`ttrl_math.compare` decides equivalence by the kind of value on each side;
with classes, a value read at the wrong position is a type error.  Values cross the worker
pipe, so :func:`info_to_json` / :func:`info_from_json` write them in the JSON form below --
only at that boundary (:mod:`ttrl_math._worker`, :mod:`ttrl_math.sandbox`).

JSON form (``TAG`` first)::

    ["q", p, q, dp]  ["n", re, im]  ["e", syms, [[re, im], ...]]  ["eq", syms, [[re, im], ...]]
    ["inf", +-1]  ["tuple", [v...]]  ["iv", lo, hi, lo_closed, hi_closed, from_rel]
    ["union", [v...]]  ["set", [v...]] (+ "pm")  ["list", [v...]]  ["assign", [[name, v]...], eq?]
    ["ne", v]  ["mat", r, c, [v...]]  ["ratio", [v...]]  ["base", digits, base]  ["text", words]
    ["raw", text]  ["choice", letter]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


class Value:
    """Base of every canonical value; ``TAG`` names it in the JSON form."""

    __slots__ = ()
    TAG: ClassVar[str] = ""


Points = tuple[tuple[str, str], ...]  #: fingerprint values ``(re, im)`` as 30-digit strings


@dataclass(frozen=True, slots=True)
class Rational(Value):
    """Exactly ``p / q`` (reduced); ``dp``: decimals written (rounding policy), ``None`` if exact."""

    TAG = "q"
    p: int
    q: int
    dp: int | None = None


@dataclass(frozen=True, slots=True)
class Numeric(Value):
    """A non-rational constant (``\\sqrt2``, ``\\pi/4``) as 30-digit strings."""

    TAG = "n"
    re: str
    im: str


@dataclass(frozen=True, slots=True)
class Expr(Value):
    """An expression in free symbols, fingerprinted by its values at fixed pseudo-random points
    (randomised identity testing: agreeing to 30 digits at three generic points is identity)."""

    TAG = "e"
    syms: tuple[str, ...]
    points: Points


@dataclass(frozen=True, slots=True)
class Equation(Value):
    """``lhs = rhs`` as the fingerprint of ``lhs - rhs`` divided by its first value (scale-free)."""

    TAG = "eq"
    syms: tuple[str, ...]
    points: Points


@dataclass(frozen=True, slots=True)
class Infinity(Value):
    TAG = "inf"
    sign: int


@dataclass(frozen=True, slots=True)
class TupleV(Value):
    TAG = "tuple"
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Interval(Value):
    """``from_rel``: written as an inequality (grading tells the two forms apart)."""

    TAG = "iv"
    lo: Value
    hi: Value
    lo_closed: bool
    hi_closed: bool
    from_rel: bool


@dataclass(frozen=True, slots=True)
class UnionV(Value):
    TAG = "union"
    parts: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class SetV(Value):
    """Unordered; ``pm``: the two values of a ``\\pm`` (merged into an enclosing list or set)."""

    TAG = "set"
    items: tuple[Value, ...]
    pm: bool = False


@dataclass(frozen=True, slots=True)
class ListV(Value):
    """A plain comma list (ordered)."""

    TAG = "list"
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Assign(Value):
    """``name = value`` pairs; ``equation``: the scale-free fingerprint of a single ``lhs = rhs``
    (``y = 2x + 3`` vs ``x = (y - 3)/2``), ``None`` when not written as one or not readable."""

    TAG = "assign"
    pairs: tuple[tuple[str, Value], ...]
    equation: Equation | None = None


@dataclass(frozen=True, slots=True)
class NotEqual(Value):
    TAG = "ne"
    value: Value


@dataclass(frozen=True, slots=True)
class Matrix(Value):
    TAG = "mat"
    rows: int
    cols: int
    cells: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class RatioV(Value):
    TAG = "ratio"
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class BaseV(Value):
    TAG = "base"
    digits: str
    base: str


@dataclass(frozen=True, slots=True)
class TextV(Value):
    TAG = "text"
    words: str


@dataclass(frozen=True, slots=True)
class Raw(Value):
    """Readable but not evaluable: compared by its whitespace-free spelling."""

    TAG = "raw"
    text: str


@dataclass(frozen=True, slots=True)
class Choice(Value):
    TAG = "choice"
    letter: str


SCALARS = (Rational, Numeric)


@dataclass(frozen=True, slots=True)
class Info:
    """What :func:`ttrl_math.canon.canonicalize` knows about one answer: its value and the
    signs that grading and the degree policy need (``pi``: the answer contains pi; ``unit``:
    the physical unit written after a number, e.g. ``cm`` or ``in^2``)."""

    value: Value
    deg: bool = False
    pct: bool = False
    pi: bool = False
    unit: str | None = None


# ----------------------------------------------------------------------------- JSON (worker pipe)


def to_json(v: Value) -> list[Any]:
    match v:
        case Rational(p, q, dp):
            return ["q", p, q, dp]
        case Numeric(re, im):
            return ["n", re, im]
        case Expr(syms, points) | Equation(syms, points):
            return [v.TAG, list(syms), [list(x) for x in points]]
        case Infinity(sign):
            return ["inf", sign]
        case TupleV(items) | UnionV(items) | ListV(items) | RatioV(items):
            return [v.TAG, [to_json(x) for x in items]]
        case Interval(lo, hi, lc, hc, rel):
            return ["iv", to_json(lo), to_json(hi), lc, hc, rel]
        case SetV(items, pm):
            return ["set", [to_json(x) for x in items]] + (["pm"] if pm else [])
        case Assign(pairs, eq):
            return ["assign", [[n, to_json(x)] for n, x in pairs], None if eq is None else to_json(eq)]
        case NotEqual(x):
            return ["ne", to_json(x)]
        case Matrix(r, c, cells):
            return ["mat", r, c, [to_json(x) for x in cells]]
        case BaseV(digits, base):
            return ["base", digits, base]
        case TextV(s) | Raw(s) | Choice(s):
            return [v.TAG, s]
    raise TypeError(f"not a value: {v!r}")


def _points(x: Any) -> Points:
    return tuple((_str(a), _str(b)) for a, b in x)


def _str(x: Any) -> str:
    if not isinstance(x, str):
        raise ValueError(f"expected a string, got {x!r}")
    return x


def _items(x: Any) -> tuple[Value, ...]:
    return tuple(from_json(y) for y in x)


def from_json(x: Any) -> Value:
    """The value written by :func:`to_json`; ``ValueError`` on anything else."""
    match x:
        case ["q", int(p), int(q), dp] if dp is None or isinstance(dp, int):
            return Rational(p, q, dp)
        case ["n", str(re), str(im)]:
            return Numeric(re, im)
        case ["e", list(syms), list(points)]:
            return Expr(tuple(_str(s) for s in syms), _points(points))
        case ["eq", list(syms), list(points)]:
            return Equation(tuple(_str(s) for s in syms), _points(points))
        case ["inf", int(sign)]:
            return Infinity(sign)
        case ["tuple", list(items)]:
            return TupleV(_items(items))
        case ["union", list(items)]:
            return UnionV(_items(items))
        case ["list", list(items)]:
            return ListV(_items(items))
        case ["ratio", list(items)]:
            return RatioV(_items(items))
        case ["iv", lo, hi, bool(lc), bool(hc), bool(rel)]:
            return Interval(from_json(lo), from_json(hi), lc, hc, rel)
        case ["set", list(items)]:
            return SetV(_items(items))
        case ["set", list(items), "pm"]:
            return SetV(_items(items), pm=True)
        case ["assign", list(pairs), eq]:
            equation = None if eq is None else from_json(eq)
            if equation is not None and not isinstance(equation, Equation):
                raise ValueError("assignment with a non-equation fingerprint")
            return Assign(tuple((_str(n), from_json(v)) for n, v in pairs), equation)
        case ["ne", v]:
            return NotEqual(from_json(v))
        case ["mat", int(r), int(c), list(cells)]:
            return Matrix(r, c, _items(cells))
        case ["base", str(digits), str(base)]:
            return BaseV(digits, base)
        case ["text", str(s)]:
            return TextV(s)
        case ["raw", str(s)]:
            return Raw(s)
        case ["choice", str(s)]:
            return Choice(s)
    raise ValueError(f"not a canonical value: {str(x)[:80]}")


def info_to_json(info: Info) -> dict[str, Any]:
    return {"v": to_json(info.value), "deg": info.deg, "pct": info.pct, "pi": info.pi, "unit": info.unit}


def info_from_json(obj: Any) -> Info:
    """The :class:`Info` written by :func:`info_to_json`; ``ValueError`` on anything else."""
    if not isinstance(obj, dict):
        raise ValueError("info is not an object")
    flags = [obj.get(k, False) for k in ("deg", "pct", "pi")]
    unit = obj.get("unit")
    if not all(isinstance(f, bool) for f in flags) or not (unit is None or isinstance(unit, str)):
        raise ValueError("bad info flags")
    return Info(from_json(obj.get("v")), flags[0], flags[1], flags[2], unit)
