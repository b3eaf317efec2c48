"""Bucket keys and the representative-level equivalence check (symmetric by construction).

``bucket_key(info)`` is the exact part: rationals as reduced ``(p, q)``, other constants and
expressions as their 12-significant-digit fingerprints, containers recursively (sets sorted).
``equivalent(a, b)`` runs only between bucket representatives and adds the *policies*
that are not plain identity (see the plugin README for the rationale):

* a decimal written with ``k >= 2`` places (and >= 2 significant digits) equals an exact value that
  has no terminating decimal expansion (``1/3``, ``\\sqrt2``, ``\\pi``) when it is that value
  rounded to ``k`` places; terminating values (``12.25``) must match exactly;
* ``x^\\circ`` equals ``x*pi/180`` when the other side contains ``\\pi``;
* tuples ``(a, b)`` equal open intervals ``(a, b)``; a plain comma list equals a set or a
  ``1 and 2`` list as a multiset, while two plain comma lists compare in order;
* an assignment ``y = -x/2 + 3/4`` equals the equation ``2x + 4y - 3 = 0`` (same line);
* fingerprints are compared at full precision (relative 1e-20), so two values that fall on
  either side of a 12-digit rounding boundary are still merged.

Every rule is applied to ``(a, b)`` and ``(b, a)``, so the relation is symmetric.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath

from . import limits
from .values import (
    SCALARS,
    Assign,
    BaseV,
    Choice,
    Equation,
    Expr,
    Infinity,
    Info,
    Interval,
    ListV,
    Matrix,
    NotEqual,
    Numeric,
    Points,
    Rational,
    RatioV,
    Raw,
    SetV,
    TextV,
    TupleV,
    UnionV,
    Value,
)

_TOL = mpmath.mpf(10) ** -20


def bucket_key(info: Info | None) -> Hashable | None:
    if info is None:
        return None
    return _memo(info).key


def _k12(s: str) -> str:
    x = mpmath.mpf(s)
    return "0" if x == 0 else mpmath.nstr(x, 12, min_fixed=-1, max_fixed=-1)


def _key(v: Value) -> Hashable:
    match v:
        case Rational(p, q):
            return ("q", p, q)
        case Numeric(re, im):
            return ("n", _k12(re), _k12(im))
        case Expr(syms, points) | Equation(syms, points):
            return (v.TAG, syms, tuple((_k12(a), _k12(b)) for a, b in points))
        case Assign(pairs):
            if len(pairs) == 1:
                return _key(pairs[0][1])
            return ("assign", tuple(sorted((n, _key(x)) for n, x in pairs)))
        case Interval(lo, hi, lo_closed, hi_closed):
            return ("iv", _key(lo), _key(hi), lo_closed, hi_closed)
        case TupleV(items) | ListV(items) | RatioV(items):
            return (v.TAG, tuple(_key(x) for x in items))
        case SetV(items):
            return ("set", tuple(sorted(set(_key(x) for x in items), key=repr)))
        case UnionV(parts):
            return ("union", tuple(sorted((_key(x) for x in parts), key=repr)))
        case Matrix(rows, cols, cells):
            return ("mat", rows, cols, tuple(_key(x) for x in cells))
        case NotEqual(x):
            return ("ne", _key(x))
        case Infinity(sign):
            return ("inf", sign)
        case BaseV(digits, base):
            return ("base", digits, base)
        case TextV(s) | Raw(s) | Choice(s):
            return (v.TAG, s)
    raise TypeError(f"not a value: {v!r}")


@dataclass(slots=True)
class _Memo:
    """What the comparison derives from one :class:`Info`, computed once per answer: its
    bucket key, a float approximation (scalars) and its element keys (sets)."""

    info: Info
    key: Hashable
    approx: complex | None = None
    elems: frozenset[Hashable] | None = None


_MEMOS: dict[int, _Memo] = {}


def _memo(info: Info) -> _Memo:
    """The memo of ``info``, by identity: the task caches one :class:`Info` per distinct answer,
    so a representative compared with 63 others derives its key once, not 63 times."""
    m = _MEMOS.get(id(info))
    if m is not None and m.info is info:
        return m
    if len(_MEMOS) > 50_000:
        _MEMOS.clear()
    m = _Memo(info, _key(info.value))
    _MEMOS[id(info)] = m  # holding ``info`` keeps its id from being reused while cached
    return m


# ----------------------------------------------------------------------------- equivalence


class _OutOfTime(Exception):
    """The caller's deadline passed in the middle of a comparison: answer "not equivalent"."""


_CLOCK = threading.local()


def _tick() -> None:
    deadline = getattr(_CLOCK, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _OutOfTime


def equivalent(a: Info | None, b: Info | None, *, grading: bool = False, deadline: float | None = None) -> bool:
    """Symmetric equivalence of two canonical infos (see module docstring).

    ``deadline`` (a ``time.monotonic()`` value) bounds the comparison of containers: when it
    passes, the answer is ``False`` -- a missed merge, never a wrong one."""
    if a is None or b is None:
        return False
    _CLOCK.deadline = deadline
    try:
        ma, mb = _memo(a), _memo(b)
        if ma.key == mb.key:
            return True
        if _fast_reject(ma, mb):
            return False
        # Values are 30-digit strings; compare them at that precision (at mpmath's default 15
        # digits, 60 * pi / 180 and the stored pi / 3 can differ by an ulp, beyond the 1e-20 bound).
        with mpmath.workdps(limits.PRECISION_DPS):
            return _eq_top(a, b) or _eq_top(b, a)
    except (ValueError, ZeroDivisionError, TypeError, IndexError, KeyError, RecursionError, _OutOfTime):
        return False
    finally:
        _CLOCK.deadline = None


_SOLO = (TextV, Raw, Matrix, RatioV, BaseV, Choice, NotEqual)


def _unwrap(v: Value) -> Value:
    return v.pairs[0][1] if isinstance(v, Assign) and len(v.pairs) == 1 else v


def _approx(m: _Memo) -> complex:
    if m.approx is None:
        v = _unwrap(m.info.value)
        if isinstance(v, Rational):
            m.approx = (
                complex(float(Fraction(v.p, v.q)), 0.0) if max(abs(v.p), v.q).bit_length() < 1000 else complex("nan")
            )
        elif isinstance(v, Numeric):
            try:
                m.approx = complex(float(v.re), float(v.im))
            except (OverflowError, ValueError):
                m.approx = complex("nan")
        else:
            raise TypeError("not a scalar")
    return m.approx


def _fast_reject(ma: _Memo, mb: _Memo) -> bool:
    """Cheap, conservative "certainly different" test run before the exact comparison
    (most representative pairs in a group are different numbers)."""
    a, b = ma.info, mb.info
    if isinstance(a.value, Assign) and isinstance(b.value, Assign):
        return False  # ``a = b`` / ``b = a`` differ as values but may be one equation
    va, vb = _unwrap(a.value), _unwrap(b.value)
    if (isinstance(va, _SOLO) or isinstance(vb, _SOLO)) and type(va) is not type(vb):
        return True
    if isinstance(va, SCALARS) and isinstance(vb, SCALARS):
        if a.deg or b.deg:
            return False
        fa, fb = _approx(ma), _approx(mb)
        if fa != fa or fb != fb:  # nan: no cheap answer
            return False
        gap = abs(fa - fb)
        scale = max(abs(fa), abs(fb), 1e-300)
        dps = [v.dp for v in (va, vb) if isinstance(v, Rational) and v.dp is not None]
        if dps:
            return gap > 0.51 * 10.0 ** (-min(dps)) + 1e-9 * scale
        return gap > 1e-9 * scale
    if (isinstance(va, SCALARS) and isinstance(vb, Expr)) or (isinstance(va, Expr) and isinstance(vb, SCALARS)):
        return True
    if isinstance(va, Expr) and isinstance(vb, Expr) and va.syms != vb.syms:
        return True
    if isinstance(va, SetV) and isinstance(vb, SetV):
        # the budget test of ``_set_eq`` on distinct element keys (never more than the real
        # counts), from keys cached per answer: 64 x 63 set pairs cost microseconds each
        sa, sb = _elem_keys(ma, va), _elem_keys(mb, vb)
        return len(sa - sb) * len(sb) + len(sb - sa) * len(sa) > MAX_SET_FUZZY_CHECKS
    return False


def _elem_keys(m: _Memo, v: SetV) -> frozenset[Hashable]:
    if m.elems is None:
        m.elems = frozenset(_elem_key(x) for x in v.items)
    return m.elems


def _eq_top(a: Info, b: Info) -> bool:
    va, vb = a.value, b.value
    if _memo(a).key == _memo(b).key:
        return True
    if a.deg and not b.deg and b.pi and _scalar(va) and _scalar(vb):
        deg = _num(va) * mpmath.pi / 180
        return _close(deg, _num(vb))
    return _eq(va, vb)


def _scalar(v: Value) -> bool:
    return isinstance(_unwrap(v), SCALARS)


def _num(v: Value) -> Any:
    if isinstance(v, Assign):
        v = v.pairs[0][1]
    if isinstance(v, Rational):
        return mpmath.mpc(mpmath.mpf(v.p) / v.q)
    if isinstance(v, Numeric):
        return mpmath.mpc(mpmath.mpf(v.re), mpmath.mpf(v.im))
    raise TypeError("not a scalar")


def _close(x: Any, y: Any) -> bool:
    scale = max(abs(x), abs(y), mpmath.mpf(1) if (x == 0 or y == 0) else mpmath.mpf(0))
    return bool(abs(x - y) <= _TOL * scale)


def _terminates(q: Fraction) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _sig_digits(v: Rational, dp: int) -> int:
    """Significant digits of a decimal literal with ``dp`` places (``0.0833`` -> 3)."""
    digits = abs(Fraction(v.p, v.q)) * 10**dp
    return len(str(int(digits)).lstrip("0"))


def _rounded_match(dec: Value, other: Value) -> bool:
    """``dec`` is a decimal literal with ``dp`` places; ``other`` an exact non-terminating value."""
    if not isinstance(dec, Rational) or dec.dp is None or not isinstance(other, SCALARS):
        return False
    if isinstance(other, Rational) and _terminates(Fraction(other.p, other.q)):
        return False
    if isinstance(other, Numeric) and abs(mpmath.mpf(other.im)) > 0:
        return False
    if _sig_digits(dec, dec.dp) < 2 or dec.dp < 2:
        return False  # at least hundredths and two significant digits: 0.33, 1.41, 6.28
    x = _num(other).real
    d = mpmath.mpf(dec.p) / dec.q
    half = mpmath.mpf(10) ** (-dec.dp) / 2
    return bool(abs(x - d) <= half * (1 + mpmath.mpf(10) ** -12))


def _eq(a: Value, b: Value) -> bool:
    if isinstance(a, Assign) and len(a.pairs) == 1 and not isinstance(b, Assign):
        if isinstance(b, Equation) and a.equation is not None:
            return _fp_eq(a.equation, b)
        return _eq(a.pairs[0][1], b) or _eq(b, a.pairs[0][1])
    if isinstance(a, Rational) and isinstance(b, Rational):
        # two exact rationals: equal keys were caught already, so only the rounding policy is left
        # (a relative tolerance would make 2^100 equal 2^100 + 1)
        return _rounded_match(a, b) or _rounded_match(b, a)
    if isinstance(a, SCALARS) and isinstance(b, SCALARS):
        if _close(_num(a), _num(b)):
            return True
        return _rounded_match(a, b) or _rounded_match(b, a)
    if isinstance(a, Expr) and isinstance(b, Expr):
        return a.syms == b.syms and _fps_close(a.points, b.points)
    if isinstance(a, Equation) and isinstance(b, Equation):
        return _fp_eq(a, b)
    if isinstance(b, Interval):
        if isinstance(a, TupleV):
            return len(a.items) == 2 and not b.lo_closed and not b.hi_closed and _seq_eq(a.items, (b.lo, b.hi))
        if isinstance(a, Interval):
            return (
                a.lo_closed == b.lo_closed
                and a.hi_closed == b.hi_closed
                and _eq_sym(a.lo, b.lo)
                and _eq_sym(a.hi, b.hi)
            )
    if isinstance(a, Infinity) and isinstance(b, Infinity):
        return a.sign == b.sign
    if type(a) is type(b) and isinstance(a, (TupleV, RatioV)) and isinstance(b, (TupleV, RatioV)):
        return _seq_eq(a.items, b.items)
    if isinstance(a, Matrix) and isinstance(b, Matrix):
        return a.rows == b.rows and a.cols == b.cols and _seq_eq(a.cells, b.cells)
    if isinstance(a, ListV) and isinstance(b, (ListV, TupleV)):
        return _seq_eq(a.items, b.items)
    if isinstance(a, (ListV, SetV)) and isinstance(b, SetV):
        return _set_eq(a.items, b.items)
    if isinstance(a, (ListV, TupleV)) and isinstance(b, Assign) and len(b.pairs) > 1:
        # ``(2, 3)`` answers ``x = 2, y = 3``: values in the order the names were written
        return _seq_eq(a.items, [p[1] for p in b.pairs])
    if isinstance(a, Assign) and isinstance(b, Assign):
        return _assign_eq(a, b)
    if isinstance(a, SetV) and isinstance(b, Assign):
        return _set_eq(a.items, [p[1] for p in b.pairs])
    if isinstance(a, SetV) and len(a.items) == 1 and not isinstance(b, (SetV, ListV)):
        return _eq_sym(a.items[0], b)
    if isinstance(a, UnionV) and isinstance(b, UnionV):
        return len(a.parts) == len(b.parts) and _set_eq(a.parts, b.parts)
    if isinstance(a, NotEqual) and isinstance(b, NotEqual):
        return _eq_sym(a.value, b.value)
    return False


def _assign_eq(a: Assign, b: Assign) -> bool:
    da, db = dict(a.pairs), dict(b.pairs)
    if set(da) == set(db):
        return all(_eq_sym(da[n], db[n]) for n in da)
    if _seq_eq([p[1] for p in a.pairs], [p[1] for p in b.pairs]):
        return True
    # ``a = b`` vs ``b = a``, ``y = 2x + 3`` vs ``x = (y - 3)/2``: the same equation solved
    # for another name (both equation fingerprints are scale- and sign-free).
    return a.equation is not None and b.equation is not None and _fp_eq(a.equation, b.equation)


_KEYS: dict[int, tuple[Value, Hashable]] = {}


def _elem_key(v: Value) -> Hashable:
    """``_key`` of a container element, cached by identity: the infos are cached by the task,
    so a set compared with 63 others computes its elements' keys once, not 63 times."""
    hit = _KEYS.get(id(v))
    if hit is not None and hit[0] is v:
        return hit[1]
    if len(_KEYS) > 50_000:
        _KEYS.clear()
    k = _key(v)
    _KEYS[id(v)] = (v, k)  # holding ``v`` keeps its id from being reused while cached
    return k


def _eq_sym(x: Value, y: Value) -> bool:
    _tick()
    return _elem_key(x) == _elem_key(y) or _eq(x, y) or _eq(y, x)


def _seq_eq(xs: Sequence[Value], ys: Sequence[Value]) -> bool:
    return len(xs) == len(ys) and all(_eq_sym(x, y) for x, y in zip(xs, ys))


#: Element comparisons beyond key equality that one set comparison may make.  Elements
#: with equal keys match at once (hashing, linear); only the rest need the rounding / degree
#: policies, pair by pair.  Real answers leave a handful of such elements ({0.33, 0.67} vs
#: {1/3, 2/3}: 2 x 2 each way); 64 hostile 200-element sets would otherwise cost 200 x 200
#: comparisons per pair.  Beyond the budget the sets are "not equivalent" (a missed merge).
MAX_SET_FUZZY_CHECKS = 100


def _set_eq(xs: Sequence[Value], ys: Sequence[Value]) -> bool:
    """Same elements (duplicates ignored), by a symmetric element relation."""
    if len(xs) > limits.MAX_ELEMENTS or len(ys) > limits.MAX_ELEMENTS:
        return False
    kx = [_elem_key(x) for x in xs]
    ky = [_elem_key(y) for y in ys]
    sx, sy = set(kx), set(ky)
    ux = [x for x, k in zip(xs, kx) if k not in sy]
    uy = [y for y, k in zip(ys, ky) if k not in sx]
    if not ux and not uy:
        return True
    if len(ux) * len(ys) + len(uy) * len(xs) > MAX_SET_FUZZY_CHECKS:
        return False
    return all(any(_eq_sym(x, y) for y in ys) for x in ux) and all(any(_eq_sym(y, x) for x in xs) for y in uy)


def _fps_close(fa: Points, fb: Points) -> bool:
    if len(fa) != len(fb):
        return False
    for (ar, ai), (br, bi) in zip(fa, fb):
        if not _close(mpmath.mpc(mpmath.mpf(ar), mpmath.mpf(ai)), mpmath.mpc(mpmath.mpf(br), mpmath.mpf(bi))):
            return False
    return True


def _fp_eq(a: Equation, b: Equation) -> bool:
    return a.syms == b.syms and _fps_close(a.points, b.points)


def grading_rejects(gold: Info, pred: Info) -> bool:
    """Answer-form policy applied only when grading against a reference (never in voting):
    when the reference is written as an interval or set, an inequality does not answer it; when
    both sides name a known physical unit, the units must agree.  (Not in voting: "7 = 7 cm" and
    "7 = 7 m" but "7 cm != 7 m" is not transitive, so it cannot be a class key.)"""
    g, p = gold.value, pred.value
    gu, pu = gold.unit, pred.unit
    if gu and pu and gu.split("^")[0] != pu.split("^")[0]:
        return True  # ``7 cm`` does not answer ``7 m``; a missing unit or a sloppy power (cm vs cm^2) is not judged
    return (
        isinstance(g, (Interval, UnionV))
        and not (isinstance(g, Interval) and g.from_rel)
        and isinstance(p, Interval)
        and p.from_rel
    )
