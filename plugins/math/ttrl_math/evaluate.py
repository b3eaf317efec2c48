"""Scalar evaluation: a syntax tree -> an exact rational, a 30-digit number or a fingerprint.

Why exact first: rationals stay ``Fraction`` (bounded by ``limits.MAX_INT_BITS``) so ``2^100``
and ``2^100 + 1`` never merge; anything else is evaluated with mpmath at
``limits.PRECISION_DPS`` digits, and an expression in free symbols is fingerprinted by its
values at fixed pseudo-random points (randomised identity testing).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import mpmath
from mpmath import mp

from ttrl_math import limits
from ttrl_math.nodes import (
    PI,
    Abs,
    Add,
    Binom,
    Const,
    Div,
    Fact,
    Fn,
    Mul,
    Neg,
    Node,
    Num,
    Pow,
    Root,
    Sym,
    children,
)
from ttrl_math.values import Expr, Numeric, Points, Rational, Value

Env = dict[str, Any]


class EvalError(ValueError):
    """The expression has no finite value we are willing to compute."""


class NotScalar(ValueError):
    """A structural node (list, set, interval, ...) where a number was expected."""


class HasSymbols(Exception):
    """A free symbol where a number was needed (evaluated without an environment)."""


def _bits(q: Fraction) -> int:
    return max(q.numerator.bit_length(), q.denominator.bit_length())


def _check(q: Fraction) -> Fraction:
    if _bits(q) > limits.MAX_INT_BITS:
        raise EvalError("number too large")
    return q


def mp_value(x: Any) -> Any:
    if isinstance(x, Fraction):
        return mpmath.mpc(mpmath.mpf(x.numerator) / x.denominator)
    return mpmath.mpc(x)


def _exact_root(q: Fraction, n: int) -> Fraction | None:
    if q < 0 and n % 2 == 0:
        return None
    sign = -1 if q < 0 else 1
    a, b = abs(q.numerator), q.denominator
    ra = _iroot(a, n)
    rb = _iroot(b, n)
    if ra is not None and rb is not None:
        return Fraction(sign * ra, rb)
    return None


def _iroot(a: int, n: int) -> int | None:
    if a < 2:
        return a
    if a.bit_length() > 4000:
        return None
    r = round(a ** (1.0 / n)) if a.bit_length() < 1000 else int(mpmath.nint(mpmath.root(a, n)))
    for c in (r - 1, r, r + 1):
        if c >= 0 and c**n == a:
            return c
    return None


def _pseudo(name: str, k: int) -> Any:
    """Deterministic generic value of symbol ``name`` at fingerprint point ``k``.

    Magnitudes in [0.3, 1.7]; point 1 is negative so ``|x|`` and ``x`` differ."""
    h = int(hashlib.md5(f"{name}|{k}".encode()).hexdigest()[:12], 16)
    v = mpmath.mpf(h % 1_000_003) / 1_000_003 * mpmath.mpf("1.4") + mpmath.mpf("0.3")
    return mpmath.mpc(-v if k == 1 else v)


def _pseudo_fn(name: str, args: list[Any]) -> Any:
    key = name + "|" + "|".join(mpmath.nstr(a, 15) for a in args)
    h = int(hashlib.md5(key.encode()).hexdigest()[:12], 16)
    return mpmath.mpc(mpmath.mpf(h % 1_000_003) / 1_000_003 + mpmath.mpf("0.5"))


_FUNCS: dict[str, Callable[..., Any]] = {
    "sin": mpmath.sin,
    "cos": mpmath.cos,
    "tan": mpmath.tan,
    "sec": mpmath.sec,
    "csc": mpmath.csc,
    "cot": mpmath.cot,
    "arcsin": mpmath.asin,
    "arccos": mpmath.acos,
    "arctan": mpmath.atan,
    "sinh": mpmath.sinh,
    "cosh": mpmath.cosh,
    "tanh": mpmath.tanh,
    "ln": mpmath.log,
    "log": mpmath.log10,
    "exp": mpmath.exp,
    "lg": mpmath.log10,
    "floor": mpmath.floor,
    "ceil": mpmath.ceil,
    "arccot": mpmath.acot,
    "arcsec": mpmath.asec,
    "arccsc": mpmath.acsc,
}


def ev(node: Node, env: Env | None) -> Any:
    """Evaluate a scalar tree: a ``Fraction`` when exact, else an ``mpmath.mpc``."""
    match node:
        case Num(value):
            return value
        case Neg(x):
            return -ev(x, env)
        case Add(terms):
            vals = [ev(t, env) for t in terms]
            if all(isinstance(v, Fraction) for v in vals):
                return _check(sum(vals, Fraction(0)))
            return mpmath.fsum(mp_value(v) for v in vals)
        case Mul(factors):
            return _product(factors, env)
        case Div(a, b):
            return _divide(ev(a, env), ev(b, env))
        case Pow(b, e):
            return _pow(ev(b, env), ev(e, env))
        case Root(x, index):
            return _root(x, index, env)
        case Const(c):
            if c == "pi":
                return mpmath.mpc(mp.pi)
            if c == "e":
                return mpmath.mpc(mp.e)
            if c == "i":
                return mpmath.mpc(0, 1)
            raise EvalError("infinity")
        case Sym(name):
            if env is None:
                raise HasSymbols()
            return env[name]
        case Abs(x):
            v = ev(x, env)
            return abs(v) if isinstance(v, Fraction) else mpmath.mpc(abs(v))
        case Fact(x):
            v = ev(x, env)
            if isinstance(v, Fraction) and v.denominator == 1 and 0 <= v <= limits.MAX_FACTORIAL:
                return Fraction(math.factorial(int(v)))
            raise EvalError("factorial out of range")
        case Binom(n_, k_):
            n, k = ev(n_, env), ev(k_, env)
            if all(isinstance(v, Fraction) and v.denominator == 1 for v in (n, k)) and 0 <= n <= 100_000:
                return Fraction(math.comb(int(n), int(k))) if 0 <= k <= n else Fraction(0)
            raise EvalError("binomial out of range")
        case Fn(name, args):
            return _function(name, [ev(a, env) for a in args], env)
    raise NotScalar(node.TAG)


def _product(fs: tuple[Node, ...], env: Env | None) -> Any:
    match fs:
        case (Num(whole, None), Div(Num(p), Num(q))) if whole.denominator == 1 and 0 < p < q:
            return whole + p / q  # mixed number 918\frac{1}{2}
    vals = [ev(t, env) for t in fs]
    if all(isinstance(v, Fraction) for v in vals):
        out = Fraction(1)
        for v in vals:
            out = _check(out * v)
        return out
    acc = mpmath.mpc(1)
    for v in vals:
        acc *= mp_value(v)
    return acc


def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        if b == 0:
            raise EvalError("division by zero")
        return _check(a / b)
    b = mp_value(b)
    if b == 0:
        raise EvalError("division by zero")
    return mp_value(a) / b


def _root(x_: Node, index: Node | None, env: Env | None) -> Any:
    n = Fraction(2) if index is None else ev(index, env)
    if not (isinstance(n, Fraction) and n.denominator == 1 and 1 <= n <= 100):
        raise EvalError("bad root index")
    x = ev(x_, env)
    if isinstance(x, Fraction):
        r = _exact_root(x, int(n))
        if r is not None:
            return r
    if int(n) % 2 == 1 and isinstance(x, Fraction) and x < 0:
        return -mpmath.root(mp_value(-x).real, int(n))
    return mpmath.mpc(mpmath.root(mp_value(x), int(n))) if int(n) != 2 else mpmath.sqrt(mp_value(x))


def _function(name: str, args: list[Any], env: Env | None) -> Any:
    if name.startswith("f:"):
        if env is None:
            raise HasSymbols()
        return _pseudo_fn(name, [mp_value(a) for a in args])
    if name == "log_":
        b, x = (mp_value(a) for a in args)
        lb = mpmath.log(b)
        if lb == 0:
            raise EvalError("log base 1")
        return mpmath.log(x) / lb
    if name not in _FUNCS or len(args) != 1:
        raise EvalError(f"unknown function {name}")
    x = mp_value(args[0])
    if abs(x) > limits.MAX_TRIG_ARG:
        raise EvalError("function argument too large")
    if name in ("ln", "log") and x == 0:
        raise EvalError("log 0")
    out = _FUNCS[name](x if name not in ("floor", "ceil") else x.real)
    return mpmath.mpc(out)


def _pow(b: Any, e: Any) -> Any:
    if isinstance(b, Fraction) and isinstance(e, Fraction):
        if e.denominator == 1:
            n = int(e)
            if b == 0 and n < 0:
                raise EvalError("0 to a negative power")
            if b in (0, 1):
                return b
            if b == -1:
                return Fraction(-1 if n % 2 else 1)
            if abs(n) > limits.MAX_EXPONENT or _bits(b) * abs(n) > limits.MAX_INT_BITS:
                raise EvalError("exponent too large")
            return b**n
        if abs(e) <= 100 and e.denominator <= 100 and b > 0:
            r = _exact_root(b, e.denominator)
            if r is not None:
                return _pow(r, Fraction(e.numerator))
    bm, em = mp_value(b), mp_value(e)
    if bm == 0:
        if em.real > 0:
            return mpmath.mpc(0)
        raise EvalError("0 to a non-positive power")
    mag = abs(em) * (abs(mpmath.log(abs(bm))) + 1)
    if abs(em) > limits.MAX_FLOAT_EXPONENT or mag > 1e7:
        raise EvalError("exponent too large")
    return mpmath.power(bm, em)


def symbols_of(node: Node, out: set[str] | None = None) -> set[str]:
    """Names of the free symbols in ``node``."""
    out = set() if out is None else out
    if isinstance(node, Sym):
        out.add(node.name)
        return out
    for x in children(node):
        symbols_of(x, out)
    return out


def has_pi(node: Node) -> bool:
    return node == PI or any(has_pi(x) for x in children(node))


def num_str(x: Any) -> str:
    return mpmath.nstr(x, 25, min_fixed=-1, max_fixed=-1) if x != 0 else "0"


def recognise(v: Any) -> Fraction | None:
    """A 30-digit value that is really a small-denominator rational (``\\sqrt2\\sqrt8``)."""
    re_, im = v.real, v.imag
    scale = max(abs(re_), mpmath.mpf(1))
    if abs(im) > mpmath.mpf(10) ** -24 * scale:
        return None
    if abs(re_) > 10**15 or (re_ != 0 and abs(re_) < mpmath.mpf(10) ** -12):
        return Fraction(0) if re_ == 0 else None
    man, exp = mpmath.mpf(re_).man_exp
    f = Fraction(man) * (Fraction(2) ** exp)
    g = f.limit_denominator(10**6)
    if abs(mp_value(g).real - re_) <= mpmath.mpf(10) ** -24 * scale:
        return g
    return None


def scalar_value(node: Node) -> Value:
    """Value of a symbol-free scalar node, or its fingerprint if it has symbols."""
    syms = sorted(symbols_of(node) - {"inf"})
    if _is_fn_of_symbols(node):
        syms = syms or ["_f"]
    if not syms:
        v = ev(node, None)
        if isinstance(v, Fraction):
            return Rational(v.numerator, v.denominator, _decimals(node))
        if not (mpmath.isfinite(v.real) and mpmath.isfinite(v.imag)):
            raise EvalError("not finite")
        r = recognise(v)
        if r is not None:
            return Rational(r.numerator, r.denominator, None)
        return Numeric(num_str(v.real), num_str(v.imag))
    return Expr(tuple(syms), fingerprint(node, syms))


def _is_fn_of_symbols(node: Node) -> bool:
    if isinstance(node, Fn) and node.name.startswith("f:"):
        return True
    return any(_is_fn_of_symbols(x) for x in children(node))


def fingerprint(node: Node, syms: list[str], npoints: int = 3) -> Points:
    out: list[tuple[str, str]] = []
    k = 0
    while len(out) < npoints and k < npoints + 4:
        env = {s: _pseudo(s, k) for s in syms}
        k += 1
        try:
            v = mp_value(ev(node, env))
        except (EvalError, ZeroDivisionError, ValueError, OverflowError):
            continue
        if not (mpmath.isfinite(v.real) and mpmath.isfinite(v.imag)):
            continue
        out.append((num_str(v.real), num_str(v.imag)))
    if len(out) < npoints:
        raise EvalError("expression undefined at the sample points")
    return tuple(out)


def _decimals(node: Node) -> int | None:
    match node:
        case Num(_, dp) | Neg(Num(_, dp)):
            return dp
    return None
