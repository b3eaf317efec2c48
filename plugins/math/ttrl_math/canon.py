"""AST -> canonical value: exact where possible, fingerprinted where not.

A *value* is plain JSON-able lists so it can cross the worker-process pipe:

* ``["q", p, q, dp]``  an exact rational ``p/q`` (``dp``: decimals written, for the
  rounding policy; ``None`` when written exactly);
* ``["n", re, im]``  a non-rational constant (``\\sqrt2``, ``\\pi/4``), as 30-digit strings;
* ``["e", symbols, [[re, im], ...]]``  an expression in free symbols, fingerprinted by its
  values at fixed pseudo-random points (randomised identity testing: two expressions
  that agree to 30 digits at three generic points are the same function);
* ``["eq", symbols, [[re, im], ...]]``  an equation ``lhs = rhs``: the fingerprint of
  ``lhs - rhs`` divided by its first value, so equations equal up to scale compare equal;
* ``["inf", +-1]``, ``["tuple", [v...]]``, ``["iv", lo, hi, lo_closed, hi_closed, from_rel]``,
  ``["union", [iv...]]``, ``["set", [v...]]`` (unordered), ``["list", [v...]]`` (a plain
  comma list, ordered), ``["assign", [[name, v]...]]``, ``["ne", v]``, ``["mat", r, c, [v...]]``,
  ``["ratio", [v...]]``, ``["base", digits, base]``, ``["text", words]``, ``["raw", text]``.

:func:`canonicalize` is total over bounded input: it returns ``None`` (abstain) instead of
raising.  It is run in the worker subprocess for anything beyond plain numbers.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction
from typing import Any

import mpmath
from mpmath import mp

from ttrl_math import limits
from ttrl_math.latex import Node, ParseError, normalise, parse, unit_of

Value = list


class EvalError(ValueError):
    """The expression has no finite value we are willing to compute."""


class NotScalar(ValueError):
    """A structural node (list, set, interval, ...) where a number was expected."""


# ----------------------------------------------------------------------------- scalars


def _bits(q: Fraction) -> int:
    return max(q.numerator.bit_length(), q.denominator.bit_length())


def _check(q: Fraction) -> Fraction:
    if _bits(q) > limits.MAX_INT_BITS:
        raise EvalError("number too large")
    return q


def _mp(x: Any) -> Any:
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


def _pseudo_fn(name: str, args: list) -> Any:
    key = name + "|" + "|".join(mpmath.nstr(a, 15) for a in args)
    h = int(hashlib.md5(key.encode()).hexdigest()[:12], 16)
    return mpmath.mpc(mpmath.mpf(h % 1_000_003) / 1_000_003 + mpmath.mpf("0.5"))


_FUNCS = {
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


def ev(node: Node, env: dict | None) -> Any:
    """Evaluate a scalar AST: a ``Fraction`` when exact, else an ``mpmath.mpc``."""
    tag = node[0]
    if tag == "num":
        return node[1]
    if tag == "neg":
        v = ev(node[1], env)
        return -v
    if tag == "add":
        vals = [ev(t, env) for t in node[1]]
        if all(isinstance(v, Fraction) for v in vals):
            return _check(sum(vals, Fraction(0)))
        return mpmath.fsum(_mp(v) for v in vals)
    if tag == "mul":
        fs = node[1]
        if (
            len(fs) == 2
            and fs[0][0] == "num"
            and fs[0][2] is None
            and fs[0][1].denominator == 1
            and fs[1][0] == "div"
            and fs[1][1][0] == "num"
            and fs[1][2][0] == "num"
            and 0 < fs[1][1][1] < fs[1][2][1]
        ):
            return fs[0][1] + fs[1][1][1] / fs[1][2][1]  # mixed number 918\frac{1}{2}
        vals = [ev(t, env) for t in fs]
        if all(isinstance(v, Fraction) for v in vals):
            out = Fraction(1)
            for v in vals:
                out = _check(out * v)
            return out
        out = mpmath.mpc(1)
        for v in vals:
            out *= _mp(v)
        return out
    if tag == "div":
        a, b = ev(node[1], env), ev(node[2], env)
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            if b == 0:
                raise EvalError("division by zero")
            return _check(a / b)
        b = _mp(b)
        if b == 0:
            raise EvalError("division by zero")
        return _mp(a) / b
    if tag == "pow":
        return _pow(ev(node[1], env), ev(node[2], env))
    if tag == "root":
        n = Fraction(2) if node[2] is None else ev(node[2], env)
        if not (isinstance(n, Fraction) and n.denominator == 1 and 1 <= n <= 100):
            raise EvalError("bad root index")
        x = ev(node[1], env)
        if isinstance(x, Fraction):
            r = _exact_root(x, int(n))
            if r is not None:
                return r
        if int(n) % 2 == 1 and isinstance(x, Fraction) and x < 0:
            return -mpmath.root(_mp(-x).real, int(n))
        return mpmath.mpc(mpmath.root(_mp(x), int(n))) if int(n) != 2 else mpmath.sqrt(_mp(x))
    if tag == "const":
        c = node[1]
        if c == "pi":
            return mpmath.mpc(mp.pi)
        if c == "e":
            return mpmath.mpc(mp.e)
        if c == "i":
            return mpmath.mpc(0, 1)
        raise EvalError("infinity")
    if tag == "sym":
        if env is None:
            raise _HasSymbols()
        return env[node[1]]
    if tag == "abs":
        v = ev(node[1], env)
        return abs(v) if isinstance(v, Fraction) else mpmath.mpc(abs(v))
    if tag == "fact":
        v = ev(node[1], env)
        if isinstance(v, Fraction) and v.denominator == 1 and 0 <= v <= limits.MAX_FACTORIAL:
            import math

            return Fraction(math.factorial(int(v)))
        raise EvalError("factorial out of range")
    if tag == "binom":
        n, k = ev(node[1], env), ev(node[2], env)
        if all(isinstance(v, Fraction) and v.denominator == 1 for v in (n, k)) and 0 <= n <= 100_000:
            import math

            return Fraction(math.comb(int(n), int(k))) if 0 <= k <= n else Fraction(0)
        raise EvalError("binomial out of range")
    if tag == "fn":
        name = node[1]
        args = [ev(a, env) for a in node[2]]
        if name.startswith("f:"):
            if env is None:
                raise _HasSymbols()
            return _pseudo_fn(name, [_mp(a) for a in args])
        if name == "log_":
            b, x = (_mp(a) for a in args)
            lb = mpmath.log(b)
            if lb == 0:
                raise EvalError("log base 1")
            return mpmath.log(x) / lb
        if name not in _FUNCS or len(args) != 1:
            raise EvalError(f"unknown function {name}")
        x = _mp(args[0])
        if abs(x) > limits.MAX_TRIG_ARG:
            raise EvalError("function argument too large")
        if name in ("ln", "log") and x == 0:
            raise EvalError("log 0")
        out = _FUNCS[name](x if name not in ("floor", "ceil") else x.real)
        return mpmath.mpc(out)
    raise NotScalar(tag)


class _HasSymbols(Exception):
    pass


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
    bm, em = _mp(b), _mp(e)
    if bm == 0:
        if em.real > 0:
            return mpmath.mpc(0)
        raise EvalError("0 to a non-positive power")
    mag = abs(em) * (abs(mpmath.log(abs(bm))) + 1)
    if abs(em) > limits.MAX_FLOAT_EXPONENT or mag > 1e7:
        raise EvalError("exponent too large")
    return mpmath.power(bm, em)


def symbols_of(node: Any, out: set | None = None) -> set:
    out = set() if out is None else out
    if isinstance(node, tuple):
        if node and node[0] == "sym":
            out.add(node[1])
            return out
        for x in node[1:]:
            symbols_of(x, out)
    elif isinstance(node, list):
        for x in node:
            symbols_of(x, out)
    return out


def has_pi(node: Any) -> bool:
    if isinstance(node, tuple):
        if node == ("const", "pi"):
            return True
        return any(has_pi(x) for x in node[1:])
    if isinstance(node, list):
        return any(has_pi(x) for x in node)
    return False


def _num_str(x: Any) -> str:
    return mpmath.nstr(x, 25, min_fixed=-1, max_fixed=-1) if x != 0 else "0"


def _recognise(v: Any) -> Fraction | None:
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
    if abs(_mp(g).real - re_) <= mpmath.mpf(10) ** -24 * scale:
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
            return ["q", v.numerator, v.denominator, _decimals(node)]
        if not (mpmath.isfinite(v.real) and mpmath.isfinite(v.imag)):
            raise EvalError("not finite")
        r = _recognise(v)
        if r is not None:
            return ["q", r.numerator, r.denominator, None]
        return ["n", _num_str(v.real), _num_str(v.imag)]
    return ["e", syms, fingerprint(node, syms)]


def _is_fn_of_symbols(node: Any) -> bool:
    if isinstance(node, tuple):
        if node and node[0] == "fn" and str(node[1]).startswith("f:"):
            return True
        return any(_is_fn_of_symbols(x) for x in node[1:])
    if isinstance(node, list):
        return any(_is_fn_of_symbols(x) for x in node)
    return False


def fingerprint(node: Node, syms: list[str], npoints: int = 3) -> list[list[str]]:
    out: list[list[str]] = []
    k = 0
    while len(out) < npoints and k < npoints + 4:
        env = {s: _pseudo(s, k) for s in syms}
        k += 1
        try:
            v = _mp(ev(node, env))
        except (EvalError, ZeroDivisionError, ValueError, OverflowError):
            continue
        if not (mpmath.isfinite(v.real) and mpmath.isfinite(v.imag)):
            continue
        out.append([_num_str(v.real), _num_str(v.imag)])
    if len(out) < npoints:
        raise EvalError("expression undefined at the sample points")
    return out


def _decimals(node: Node) -> int | None:
    if node[0] == "num":
        return node[2]
    if node[0] == "neg" and node[1][0] == "num":
        return node[1][2]
    return None


# ----------------------------------------------------------------------------- structure


def _name_like(node: Node) -> bool:
    tag = node[0]
    if tag == "sym":
        return True
    if tag == "const" and node[1] in ("e", "i"):
        return True
    if tag == "mul":
        return all(f[0] in ("sym", "const") and (f[0] == "sym" or f[1] in ("e", "i")) for f in node[1])
    if tag == "fn" and node[1].startswith("f:"):
        return all(_name_like(a) or a[0] == "num" for a in node[2])
    if tag in ("abs",):
        return _name_like(node[1])
    if tag == "div":
        return _name_like(node[1]) and _name_like(node[2])
    if tag == "ratio":
        return all(_name_like(p) for p in node[1])
    if tag == "tuple":
        return all(_name_like(p) for p in node[1])
    return False


def _name_of(node: Node) -> str:
    return re.sub(r"\s+", "", repr(node))


def value_of(node: Node, depth: int = 0) -> Value:
    if depth > limits.MAX_DEPTH:
        raise EvalError("too deep")
    tag = node[0]
    d = depth + 1
    if tag == "list":
        items, how = node[1], node[2]
        vals = [value_of(x, d) for x in items]
        if how == "comma":
            if all(v[0] == "assign" for v in vals):
                pairs = [p for v in vals for p in v[1]]
                names = [p[0] for p in pairs]
                if len(set(names)) == 1 and len(pairs) > 1:
                    return ["set", [p[1] for p in pairs]]
                return ["assign", pairs]
            if vals[0][0] == "assign" and len(vals[0][1]) == 1 and all(v[0] != "assign" for v in vals[1:]):
                return ["set", _flatten_sets([_unassign(v) for v in vals])]  # "x = 1, 2, 3"
            vals = [_unassign(v) for v in vals]
            if any(v[0] == "set" and v[2:] == ["pm"] for v in vals):
                return ["set", _flatten_sets(vals)]
            if all(v[0] in ("tuple", "list", "set") for v in vals):
                return ["set", vals]  # a list of tuples is a solution set
            return ["list", vals]
        vals = [_unassign_group(v) for v in vals]
        return ["set", _flatten_sets(vals)]
    if tag == "pm":
        value_of(node[1], d)  # the left side must still be readable
        b = value_of(node[2], d)
        if node[1] == ("num", Fraction(0), None):
            return ["set", [b, _neg(b)], "pm"]
        return ["set", [_combine(node[1], node[2], 1), _combine(node[1], node[2], -1)], "pm"]
    if tag == "rel":
        return relation_value(node, d)
    if tag == "tuple":
        items = node[1]
        vals = [value_of(x, d) for x in items]
        o, c = node[2], node[3]
        if (
            len(vals) == 2
            and all(_is_scalarish(v) for v in vals)
            and (o + c != "()" or any(v[0] == "inf" for v in vals))
        ):
            return ["iv", vals[0], vals[1], o == "[", c == "]", False]
        if len(vals) == 1 and o == "(":
            return vals[0]
        return ["tuple", vals]
    if tag == "union":
        parts = []
        for p in node[1]:
            v = value_of(p, d)
            if v[0] == "tuple" and len(v[1]) == 2:
                v = ["iv", v[1][0], v[1][1], False, False, False]
            if v[0] not in ("iv", "set"):
                raise EvalError("union of non-intervals")
            parts.append(v)
        return ["union", parts]
    if tag == "set":
        return ["set", _flatten_sets([value_of(x, d) for x in node[1]])]
    if tag == "empty":
        return ["set", []]
    if tag in ("add", "mul", "neg") and _contains_mat(node):
        rows = _mat_ast(node)
        if rows is None:
            raise EvalError("matrix expression not understood")
        node, tag = ("mat", rows), "mat"
    if tag == "mat":
        rows = node[1]
        cells = [value_of(x, d) for r in rows for x in r]
        if len(rows) == 1 and len(rows[0]) == 1:
            return cells[0]
        return ["mat", len(rows), len(rows[0]), cells]
    if tag == "text":
        return ["text", node[1]]
    if tag == "ratio":
        return ["ratio", [value_of(x, d) for x in node[1]]]
    if tag == "base":
        return ["base", str(node[1][1]), str(node[2][1] if node[2][0] == "num" else node[2])]
    if tag == "const" and node[1] == "inf":
        return ["inf", 1]
    if tag == "neg" and node[1] == ("const", "inf"):
        return ["inf", -1]
    if tag == "sym" and len(node[1]) == 1 and node[1].isupper():
        # a lone capital letter: a choice label or a point name; compared as a symbol
        return ["e", [node[1]], fingerprint(node, [node[1]])]
    if _count_pm(node) == 1:
        # ``\\frac{-1 \\pm \\sqrt5}{2}``: a nested +- stands for the set of both signs
        return ["set", [value_of(_pick_pm(node, 1), d), value_of(_pick_pm(node, -1), d)], "pm"]
    try:
        return scalar_value(node)
    except NotScalar:
        return ["raw", _name_of(node)]


def _count_pm(node: Any, depth: int = 0) -> int:
    if depth > limits.MAX_DEPTH + 10:
        return 0
    if isinstance(node, tuple):
        own = 1 if node[:1] == ("pm",) else 0
        return own + sum(_count_pm(x, depth + 1) for x in node[1:])
    if isinstance(node, list):
        return sum(_count_pm(x, depth + 1) for x in node)
    return 0


def _pick_pm(node: Any, sign: int) -> Any:
    """``node`` with its (single) ``("pm", a, b)`` replaced by ``a + b`` or ``a - b``."""
    if isinstance(node, tuple):
        if node[:1] == ("pm",):
            return ("add", [node[1], node[2] if sign > 0 else ("neg", node[2])])
        return (node[0],) + tuple(_pick_pm(x, sign) for x in node[1:])
    if isinstance(node, list):
        return [_pick_pm(x, sign) for x in node]
    return node


def _contains_mat(node: Any) -> bool:
    if isinstance(node, tuple):
        return node[:1] == ("mat",) or any(_contains_mat(x) for x in node[1:])
    if isinstance(node, list):
        return any(_contains_mat(x) for x in node)
    return False


def _mat_ast(node: Node) -> list | None:
    """Rows of cell ASTs for a sum/product of matrices and scalars (``A + B``, ``2A``, ``AB``);
    ``None`` when the expression is not a matrix (or the shapes do not fit)."""
    tag = node[0]
    if tag == "mat":
        return node[1]
    if not _contains_mat(node):
        return None
    if tag == "neg":
        m = _mat_ast(node[1])
        return None if m is None else [[("neg", c) for c in r] for r in m]
    if tag == "add":
        found = [_mat_ast(t) for t in node[1]]
        mats = [m for m in found if m is not None]
        if len(mats) != len(found) or len({(len(m), len(m[0])) for m in mats}) != 1:
            return None
        return [[("add", [m[i][j] for m in mats]) for j in range(len(mats[0][0]))] for i in range(len(mats[0]))]
    if tag == "mul":
        acc: list | None = None
        scalars: list = []
        for f in node[1]:
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
            acc = [
                [("add", [("mul", [acc[i][k], m[k][j]]) for k in range(len(m))]) for j in range(len(m[0]))]
                for i in range(len(acc))
            ]
        if acc is None:
            return None
        if scalars:
            acc = [[("mul", scalars + [c]) for c in r] for r in acc]
        return acc
    return None


def _combine(a: Node, b: Node, sign: int) -> Value:
    return scalar_value(("add", [a, b if sign > 0 else ("neg", b)]))


def _neg(v: Value) -> Value:
    if v[0] == "q":
        return ["q", -v[1], v[2], v[3]]
    if v[0] == "n":
        return ["n", _num_str(-mpmath.mpf(v[1])), _num_str(-mpmath.mpf(v[2]))]
    if v[0] == "e":
        return ["e", v[1], [[_num_str(-mpmath.mpf(a)), _num_str(-mpmath.mpf(b))] for a, b in v[2]]]
    raise EvalError("cannot negate")


def _is_scalarish(v: Value) -> bool:
    return v[0] in ("q", "n", "inf", "e")


def _flatten_sets(vals: list[Value]) -> list[Value]:
    out: list[Value] = []
    for v in vals:
        if (v[0] == "set" and v[2:] == ["pm"]) or v[0] == "list":
            out.extend(v[1])
        else:
            out.append(v)
    return out


def _unassign(v: Value) -> Value:
    if v[0] == "assign" and len(v[1]) == 1:
        return v[1][0][1]
    return v


def _unassign_group(v: Value) -> Value:
    if v[0] == "assign":
        if len(v[1]) == 1:
            return v[1][0][1]
        return ["tuple", [p[1] for p in v[1]]]
    return v


def relation_value(node: Node, depth: int) -> Value:
    ops, exprs = list(node[1]), list(node[2])
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
            return ["assign", [[_name_of(lhs), v]], _eq_fp(lhs, rhs)]
        if _name_like(rhs) and not symbols_of(lhs):
            return ["assign", [[_name_of(rhs), value_of(lhs, depth)]], _eq_fp(lhs, rhs)]
        if not (symbols_of(lhs) | symbols_of(rhs)):
            return value_of(rhs, depth)
        fp = _eq_fp(lhs, rhs)
        if fp is None:
            raise EvalError("equation not readable")
        return ["eq"] + fp
    if ops == ["in"] and _name_like(exprs[0]):
        return value_of(exprs[1], depth)
    if ops == ["!="]:
        if _name_like(exprs[0]):
            return ["ne", value_of(exprs[1], depth)]
        if _name_like(exprs[1]):
            return ["ne", value_of(exprs[0], depth)]
    if all(o in ("<", "<=", ">", ">=") for o in ops):
        iv = _inequality(ops, exprs, depth)
        if iv is not None:
            return iv
    raise EvalError("relation not understood")


def _eq_fp(lhs: Node, rhs: Node) -> list | None:
    """Scale-free fingerprint of ``lhs - rhs``: equations equal up to a factor match."""
    diff = ("add", [lhs, ("neg", rhs)])
    syms = sorted(symbols_of(diff))
    if not syms:
        return None
    try:
        fp = fingerprint(diff, syms, npoints=4)
    except (EvalError, NotScalar, _HasSymbols):
        return None
    vals = [mpmath.mpc(mpmath.mpf(a), mpmath.mpf(b)) for a, b in fp]
    pivot = next((v for v in vals if abs(v) > mpmath.mpf(10) ** -20), None)
    if pivot is None:
        return [syms, [["0", "0"]] * len(vals)]
    return [syms, [[_num_str((v / pivot).real), _num_str((v / pivot).imag)] for v in vals]]


def _inequality(ops: list[str], exprs: list[Node], depth: int) -> Value | None:
    """``a < x <= b``, ``x >= 5``, ``-x > -1``: an interval in the single unknown."""
    flip = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
    if len(exprs) == 3 and _name_like(exprs[1]) and ops[0][0] == ops[1][0]:
        lo, hi = value_of(exprs[0], depth), value_of(exprs[2], depth)
        lo_closed, hi_closed = ops[0].endswith("="), ops[1].endswith("=")
        if ops[0][0] == ">":
            lo, hi, lo_closed, hi_closed = hi, lo, hi_closed, lo_closed
        if exprs[1][0] == "abs" and lo[0] == "q" and hi[0] in ("q", "n", "inf"):
            # lo <= |z| <= hi  ->  [-hi, -lo] U [lo, hi]
            neg_hi = ["inf", -1] if hi[0] == "inf" else _neg(hi)
            if lo[1] <= 0:
                return ["iv", neg_hi, hi, hi_closed, hi_closed, True]
            return [
                "union",
                [["iv", neg_hi, _neg(lo), hi_closed, lo_closed, True], ["iv", lo, hi, lo_closed, hi_closed, True]],
            ]
        return ["iv", lo, hi, lo_closed, hi_closed, True]
    if len(exprs) != 2:
        return None
    lhs, rhs = exprs
    op = ops[0]
    if _name_like(rhs) and not _name_like(lhs):
        lhs, rhs, op = rhs, lhs, flip[op]
    if lhs[0] == "abs" and _name_like(lhs) and not symbols_of(rhs):
        # |x| < b  ->  (-b, b);  |x| > b  ->  (-inf, -b) U (b, inf)   (b > 0)
        b = value_of(rhs, depth)
        if (b[0] == "q" and b[1] > 0) or (b[0] == "n" and mpmath.mpf(b[2]) == 0 and mpmath.mpf(b[1]) > 0):
            pass
        else:
            return None
        closed = op.endswith("=")
        if op[0] == "<":
            return ["iv", _neg(b), b, closed, closed, True]
        return [
            "union",
            [["iv", ["inf", -1], _neg(b), False, closed, True], ["iv", b, ["inf", 1], closed, False, True]],
        ]
    if _name_like(lhs) and not symbols_of(rhs):
        bound = value_of(rhs, depth)
    else:
        syms = sorted(symbols_of(lhs) | symbols_of(rhs))
        if len(syms) != 1:
            return None
        # linear in one unknown: f(x) = lhs - rhs = c x + d
        diff = ("add", [lhs, ("neg", rhs)])
        s = syms[0]
        try:
            f0 = _mp(ev(diff, {s: mpmath.mpc(0)}))
            f1 = _mp(ev(diff, {s: mpmath.mpc(1)}))
            f2 = _mp(ev(diff, {s: mpmath.mpc(2)}))
        except (EvalError, ZeroDivisionError):
            return None
        c = f1 - f0
        if c == 0 or abs((f2 - f0) - 2 * c) > mpmath.mpf(10) ** -20 or abs(c.imag) > 0 or abs(f0.imag) > 0:
            return None
        root = -f0 / c
        r = _recognise(root)
        bound = ["q", r.numerator, r.denominator, None] if r is not None else ["n", _num_str(root.real), "0"]
        if c.real < 0:
            op = flip[op]
    closed = op.endswith("=")
    if op[0] == ">":
        return ["iv", bound, ["inf", 1], closed, False, True]
    return ["iv", ["inf", -1], bound, False, closed, True]


# ----------------------------------------------------------------------------- entry

_CHOICE = re.compile(r"^\(?\s*([A-Z])\s*\)?$")


def canonicalize(answer: str, choices: str | None = None) -> dict | None:
    """Canonical value of one extracted answer (``None`` = abstain).  Never raises."""
    try:
        return _canonicalize(answer, choices)
    except (
        ParseError,
        EvalError,
        NotScalar,
        _HasSymbols,
        ZeroDivisionError,
        ValueError,
        OverflowError,
        RecursionError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        MemoryError,
    ):
        return None


def _canonicalize(answer: str, choices: str | None) -> dict | None:
    if not isinstance(answer, str) or len(answer) > limits.MAX_ANSWER_CHARS:
        return None
    text, flags = normalise(answer)
    if not text:
        return None
    if choices:
        letter = _choice_letter(text, choices)
        if letter is not None:
            return {"v": ["choice", letter], **flags}
    with mp.workdps(limits.PRECISION_DPS):
        try:
            node = parse(text)
        except ParseError:
            return _text_value(text, flags)
        if node[0] == "text":
            return {"v": ["text", node[1]], **flags}
        try:
            v = value_of(node)
        except EvalError:
            return {"v": ["raw", _raw_key(text)], **flags}
        out = {"v": v, **flags, "pi": has_pi(node)}
        if node[0] in ("mul", "sym") and _is_word(text):
            out = {"v": ["text", text.lower()], **flags}
        elif v[0] in ("q", "n"):
            unit = unit_of(text)
            if unit is not None:
                out["unit"] = unit
        return out


def _is_word(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]{3,}(?: [A-Za-z]+)*", text.strip()))


def _choice_letter(text: str, choices: str) -> str | None:
    t = re.sub(r"\\text(?:bf)?\{([^{}]*)\}", r"\1", text).strip()
    m = _CHOICE.match(t)
    if m and m.group(1) in choices:
        return m.group(1)
    return None


def _text_value(text: str, flags: dict) -> dict | None:
    t = re.sub(r"\\(?:text|textbf|mathrm|mbox|textnormal|operatorname)\s*\{([^{}]*)\}", r"\1", text)
    t = " ".join(t.lower().split())
    if not t or len(t) > 500:
        return None
    if re.fullmatch(r"[a-z][a-z '\-]*", t):
        return {"v": ["text", t], **flags}
    return {"v": ["raw", _raw_key(text)], **flags}


def _raw_key(text: str) -> str:
    return re.sub(r"\s+", "", text)
