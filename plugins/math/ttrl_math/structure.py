"""Answer structure: a syntax tree -> a canonical value (lists, sets, intervals, relations, matrices).

Why apart from :mod:`ttrl_math.evaluate`: these are the answer-form decisions (``x = 1, 2`` is a
set, ``(1, 2]`` an interval, ``a < x <= b`` an interval in the unknown, a list of tuples a
solution set); the numbers inside are left to the scalar evaluator.
"""

from __future__ import annotations

import re
from typing import Any

import mpmath

from ttrl_math import limits
from ttrl_math.evaluate import (
    EvalError,
    HasSymbols,
    NotScalar,
    ev,
    fingerprint,
    mp_value,
    num_str,
    recognise,
    scalar_value,
    symbols_of,
)
from ttrl_math.nodes import (
    INF,
    LEAVES,
    ZERO,
    Abs,
    Add,
    Base,
    Const,
    Div,
    Empty,
    Fn,
    ListOf,
    Mat,
    Mul,
    Neg,
    Node,
    Num,
    PlusMinus,
    Ratio,
    Rel,
    SetOf,
    Sym,
    Text,
    TupleOf,
    UnionOf,
    as_tuple,
    children,
    fields,
    rebuild,
)
from ttrl_math.values import (
    Assign,
    BaseV,
    Equation,
    Expr,
    Infinity,
    Interval,
    ListV,
    Matrix,
    NotEqual,
    Numeric,
    Rational,
    RatioV,
    Raw,
    SetV,
    TextV,
    TupleV,
    UnionV,
    Value,
)

Rows = tuple[tuple[Node, ...], ...]


def _name_like(node: Node) -> bool:
    match node:
        case Sym():
            return True
        case Const(name):
            return name in ("e", "i")
        case Mul(factors):
            return all(isinstance(f, Sym) or (isinstance(f, Const) and f.name in ("e", "i")) for f in factors)
        case Fn(name, args) if name.startswith("f:"):
            return all(_name_like(a) or isinstance(a, Num) for a in args)
        case Abs(x):
            return _name_like(x)
        case Div(a, b):
            return _name_like(a) and _name_like(b)
        case Ratio(items) | TupleOf(items):
            return all(_name_like(p) for p in items)
    return False


def name_of(node: Node) -> str:
    """The name an assignment gives (``x`` in ``x = 3``): the node's tagged-tuple spelling."""
    return re.sub(r"\s+", "", repr(as_tuple(node)))


def value_of(node: Node, depth: int = 0) -> Value:
    if depth > limits.MAX_DEPTH:
        raise EvalError("too deep")
    d = depth + 1
    match node:
        case Num(value, dp):  # the most common node: what ``scalar_value`` would return, directly
            return Rational(value.numerator, value.denominator, dp)
        case ListOf(items, how):
            return _list_value([value_of(x, d) for x in items], how)
        case PlusMinus(a, b):
            value_of(a, d)  # the left side must still be readable
            vb = value_of(b, d)
            if a == ZERO:
                return SetV((vb, negate(vb)), pm=True)
            return SetV((_combine(a, b, 1), _combine(a, b, -1)), pm=True)
        case Rel():
            return relation_value(node, d)
        case TupleOf(items, o, c):
            vals = [value_of(x, d) for x in items]
            if (
                len(vals) == 2
                and all(isinstance(v, (Rational, Numeric, Infinity, Expr)) for v in vals)
                and (o + c != "()" or any(isinstance(v, Infinity) for v in vals))
            ):
                return Interval(vals[0], vals[1], o == "[", c == "]", False)
            if len(vals) == 1 and o == "(":
                return vals[0]
            return TupleV(tuple(vals))
        case UnionOf(parts):
            out: list[Value] = []
            for p in parts:
                v = value_of(p, d)
                if isinstance(v, TupleV) and len(v.items) == 2:
                    v = Interval(v.items[0], v.items[1], False, False, False)
                if not isinstance(v, (Interval, SetV)):
                    raise EvalError("union of non-intervals")
                out.append(v)
            return UnionV(tuple(out))
        case SetOf(items):
            return SetV(_flatten_sets([value_of(x, d) for x in items]))
        case Empty():
            return SetV(())
        case Add() | Mul() | Neg() if _contains_mat(node):
            rows = _mat_ast(node)
            if rows is None:
                raise EvalError("matrix expression not understood")
            return _matrix_value(rows, d)
        case Mat(rows):
            return _matrix_value(rows, d)
        case Text(words):
            return TextV(words)
        case Ratio(parts):
            return RatioV(tuple(value_of(x, d) for x in parts))
        case Base(digits, base):
            return BaseV(str(digits.value), str(base.value if isinstance(base, Num) else as_tuple(base)))
        case Const("inf"):
            return Infinity(1)
        case Neg(x) if x == INF:
            return Infinity(-1)
        case Sym(name) if len(name) == 1 and name.isupper():
            # a lone capital letter: a choice label or a point name; compared as a symbol
            return Expr((name,), fingerprint(node, [name]))
    if _count_pm(node) == 1:
        # ``\\frac{-1 \\pm \\sqrt5}{2}``: a nested +- stands for the set of both signs
        return SetV((value_of(_pick_pm(node, 1), d), value_of(_pick_pm(node, -1), d)), pm=True)
    try:
        return scalar_value(node)
    except NotScalar:
        return Raw(name_of(node))


def _list_value(vals: list[Value], how: str) -> Value:
    if how == "comma":
        if all(isinstance(v, Assign) for v in vals):
            pairs = tuple(p for v in vals if isinstance(v, Assign) for p in v.pairs)
            if len({p[0] for p in pairs}) == 1 and len(pairs) > 1:
                return SetV(tuple(p[1] for p in pairs))
            return Assign(pairs)
        first = vals[0]
        if isinstance(first, Assign) and len(first.pairs) == 1 and not any(isinstance(v, Assign) for v in vals[1:]):
            return SetV(_flatten_sets([_unassign(v) for v in vals]))  # "x = 1, 2, 3"
        vals = [_unassign(v) for v in vals]
        if any(isinstance(v, SetV) and v.pm for v in vals):
            return SetV(_flatten_sets(vals))
        if all(isinstance(v, (TupleV, ListV, SetV)) for v in vals):
            return SetV(tuple(vals))  # a list of tuples is a solution set
        return ListV(tuple(vals))
    return SetV(_flatten_sets([_unassign_group(v) for v in vals]))


def _matrix_value(rows: Rows, d: int) -> Value:
    cells = [value_of(x, d) for r in rows for x in r]
    if len(rows) == 1 and len(rows[0]) == 1:
        return cells[0]
    return Matrix(len(rows), len(rows[0]), tuple(cells))


def _count_pm(x: Any, depth: int = 0) -> int:
    """``\\pm`` signs in a tree (a tuple of nodes counts as one level, as the depth bound always did)."""
    if depth > limits.MAX_DEPTH + 10 or isinstance(x, LEAVES):
        return 0
    if isinstance(x, Node):
        own = 1 if isinstance(x, PlusMinus) else 0
        return own + sum(_count_pm(f, depth + 1) for f in fields(x))
    if isinstance(x, tuple):
        return sum(_count_pm(y, depth + 1) for y in x)
    return 0


def _pick_pm(x: Any, sign: int) -> Any:
    """``x`` with its (single) ``a \\pm b`` replaced by ``a + b`` or ``a - b``."""
    if isinstance(x, PlusMinus):
        return Add((x.a, x.b if sign > 0 else Neg(x.b)))
    if isinstance(x, Node):
        return rebuild(x, lambda f: _pick_pm(f, sign))
    if isinstance(x, tuple):
        return tuple(_pick_pm(y, sign) for y in x)
    return x


def _contains_mat(node: Node) -> bool:
    return isinstance(node, Mat) or any(_contains_mat(x) for x in children(node))


def _mat_ast(node: Node) -> Rows | None:
    """Rows of cell trees for a sum/product of matrices and scalars (``A + B``, ``2A``, ``AB``);
    ``None`` when the expression is not a matrix (or the shapes do not fit)."""
    if isinstance(node, Mat):
        return node.rows
    if not _contains_mat(node):
        return None
    match node:
        case Neg(x):
            m = _mat_ast(x)
            return None if m is None else tuple(tuple(Neg(c) for c in r) for r in m)
        case Add(terms):
            found = [_mat_ast(t) for t in terms]
            mats = [m for m in found if m is not None]
            if len(mats) != len(found) or len({(len(m), len(m[0])) for m in mats}) != 1:
                return None
            return tuple(
                tuple(Add(tuple(m[i][j] for m in mats)) for j in range(len(mats[0][0]))) for i in range(len(mats[0]))
            )
        case Mul(factors):
            return _mat_product(factors)
    return None


def _mat_product(factors: tuple[Node, ...]) -> Rows | None:
    acc: Rows | None = None
    scalars: list[Node] = []
    for f in factors:
        if not _contains_mat(f):
            scalars.append(f)
            continue
        m = _mat_ast(f)
        if m is None:
            return None
        if acc is None:
            acc = m
            continue
        if len(acc[0]) != len(m) or len(acc) * len(m[0]) * len(m) > limits.MAX_MATRIX_CELLS * 10:
            return None
        a = acc
        acc = tuple(
            tuple(Add(tuple(Mul((a[i][k], m[k][j])) for k in range(len(m)))) for j in range(len(m[0])))
            for i in range(len(a))
        )
    if acc is None:
        return None
    if scalars:
        acc = tuple(tuple(Mul((*scalars, c)) for c in r) for r in acc)
    return acc


def _combine(a: Node, b: Node, sign: int) -> Value:
    return scalar_value(Add((a, b if sign > 0 else Neg(b))))


def _neg_str(s: str) -> str:
    return num_str(-mpmath.mpf(s))


def negate(v: Value) -> Value:
    match v:
        case Rational(p, q, dp):
            return Rational(-p, q, dp)
        case Numeric(re_, im):
            return Numeric(_neg_str(re_), _neg_str(im))
        case Expr(syms, points):
            return Expr(syms, tuple((_neg_str(a), _neg_str(b)) for a, b in points))
    raise EvalError("cannot negate")


def _flatten_sets(vals: list[Value]) -> tuple[Value, ...]:
    out: list[Value] = []
    for v in vals:
        if (isinstance(v, SetV) and v.pm) or isinstance(v, ListV):
            out.extend(v.items)
        else:
            out.append(v)
    return tuple(out)


def _unassign(v: Value) -> Value:
    if isinstance(v, Assign) and len(v.pairs) == 1:
        return v.pairs[0][1]
    return v


def _unassign_group(v: Value) -> Value:
    if isinstance(v, Assign):
        if len(v.pairs) == 1:
            return v.pairs[0][1]
        return TupleV(tuple(p[1] for p in v.pairs))
    return v


def relation_value(node: Rel, depth: int) -> Value:
    ops, exprs = list(node.ops), list(node.exprs)
    if "~" in ops:  # "a = b \approx c": keep what precedes the approximation
        k = ops.index("~")
        if k == 0 and _name_like(exprs[0]):
            ops, exprs = ops[1:], exprs[1:]
            if "~" in ops:
                k = ops.index("~")
                ops, exprs = ops[:k], exprs[: k + 1]
        else:
            ops, exprs = ops[:k], exprs[: k + 1]
        if not ops:
            return value_of(exprs[0], depth)
    if all(o == "=" for o in ops):
        if len(exprs) >= 3:
            return value_of(exprs[-1], depth)
        lhs, rhs = exprs
        if _name_like(lhs):
            v = value_of(rhs, depth)
            return Assign(((name_of(lhs), v),), _eq_fp(lhs, rhs))
        if _name_like(rhs) and not symbols_of(lhs):
            return Assign(((name_of(rhs), value_of(lhs, depth)),), _eq_fp(lhs, rhs))
        if not (symbols_of(lhs) | symbols_of(rhs)):
            return value_of(rhs, depth)
        fp = _eq_fp(lhs, rhs)
        if fp is None:
            raise EvalError("equation not readable")
        return fp
    if ops == ["in"] and _name_like(exprs[0]):
        return value_of(exprs[1], depth)
    if ops == ["!="]:
        if _name_like(exprs[0]):
            return NotEqual(value_of(exprs[1], depth))
        if _name_like(exprs[1]):
            return NotEqual(value_of(exprs[0], depth))
    if all(o in ("<", "<=", ">", ">=") for o in ops):
        iv = _inequality(ops, exprs, depth)
        if iv is not None:
            return iv
    raise EvalError("relation not understood")


def _eq_fp(lhs: Node, rhs: Node) -> Equation | None:
    """Scale-free fingerprint of ``lhs - rhs``: equations equal up to a factor match."""
    diff = Add((lhs, Neg(rhs)))
    syms = sorted(symbols_of(diff))
    if not syms:
        return None
    try:
        fp = fingerprint(diff, syms, npoints=4)
    except (EvalError, NotScalar, HasSymbols):
        return None
    vals = [mpmath.mpc(mpmath.mpf(a), mpmath.mpf(b)) for a, b in fp]
    pivot = next((v for v in vals if abs(v) > mpmath.mpf(10) ** -20), None)
    if pivot is None:
        return Equation(tuple(syms), (("0", "0"),) * len(vals))
    return Equation(tuple(syms), tuple((num_str((v / pivot).real), num_str((v / pivot).imag)) for v in vals))


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _inequality(ops: list[str], exprs: list[Node], depth: int) -> Value | None:
    """``a < x <= b``, ``x >= 5``, ``-x > -1``: an interval in the single unknown."""
    if len(exprs) == 3 and _name_like(exprs[1]) and ops[0][0] == ops[1][0]:
        lo, hi = value_of(exprs[0], depth), value_of(exprs[2], depth)
        lo_closed, hi_closed = ops[0].endswith("="), ops[1].endswith("=")
        if ops[0][0] == ">":
            lo, hi, lo_closed, hi_closed = hi, lo, hi_closed, lo_closed
        if isinstance(exprs[1], Abs) and isinstance(lo, Rational) and isinstance(hi, (Rational, Numeric, Infinity)):
            # lo <= |z| <= hi  ->  [-hi, -lo] U [lo, hi]
            neg_hi = Infinity(-1) if isinstance(hi, Infinity) else negate(hi)
            if lo.p <= 0:
                return Interval(neg_hi, hi, hi_closed, hi_closed, True)
            return UnionV(
                (Interval(neg_hi, negate(lo), hi_closed, lo_closed, True), Interval(lo, hi, lo_closed, hi_closed, True))
            )
        return Interval(lo, hi, lo_closed, hi_closed, True)
    if len(exprs) != 2:
        return None
    lhs, rhs = exprs
    op = ops[0]
    if _name_like(rhs) and not _name_like(lhs):
        lhs, rhs, op = rhs, lhs, _FLIP[op]
    if isinstance(lhs, Abs) and _name_like(lhs) and not symbols_of(rhs):
        # |x| < b  ->  (-b, b);  |x| > b  ->  (-inf, -b) U (b, inf)   (b > 0)
        b = value_of(rhs, depth)
        positive = (isinstance(b, Rational) and b.p > 0) or (
            isinstance(b, Numeric) and mpmath.mpf(b.im) == 0 and mpmath.mpf(b.re) > 0
        )
        if not positive:
            return None
        closed = op.endswith("=")
        if op[0] == "<":
            return Interval(negate(b), b, closed, closed, True)
        return UnionV(
            (Interval(Infinity(-1), negate(b), False, closed, True), Interval(b, Infinity(1), closed, False, True))
        )
    if _name_like(lhs) and not symbols_of(rhs):
        bound = value_of(rhs, depth)
    else:
        linear = _linear_root(lhs, rhs)
        if linear is None:
            return None
        bound, c_negative = linear
        if c_negative:
            op = _FLIP[op]
    closed = op.endswith("=")
    if op[0] == ">":
        return Interval(bound, Infinity(1), closed, False, True)
    return Interval(Infinity(-1), bound, False, closed, True)


def _linear_root(lhs: Node, rhs: Node) -> tuple[Value, bool] | None:
    """Where ``lhs - rhs = c x + d`` (one unknown) is zero, and whether ``c < 0``."""
    syms = sorted(symbols_of(lhs) | symbols_of(rhs))
    if len(syms) != 1:
        return None
    diff = Add((lhs, Neg(rhs)))
    s = syms[0]
    try:
        f0 = mp_value(ev(diff, {s: mpmath.mpc(0)}))
        f1 = mp_value(ev(diff, {s: mpmath.mpc(1)}))
        f2 = mp_value(ev(diff, {s: mpmath.mpc(2)}))
    except (EvalError, ZeroDivisionError):
        return None
    c = f1 - f0
    if c == 0 or abs((f2 - f0) - 2 * c) > mpmath.mpf(10) ** -20 or abs(c.imag) > 0 or abs(f0.imag) > 0:
        return None
    root = -f0 / c
    r = recognise(root)
    bound: Value = Rational(r.numerator, r.denominator, None) if r is not None else Numeric(num_str(root.real), "0")
    return bound, c.real < 0
