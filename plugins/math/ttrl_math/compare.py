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
from collections.abc import Hashable
from fractions import Fraction
from typing import Any

import mpmath

from . import limits

_TOL = mpmath.mpf(10) ** -20


def bucket_key(info: dict | None) -> Hashable | None:
    if info is None:
        return None
    return _cached_key(info)


def _k12(s: str) -> str:
    x = mpmath.mpf(s)
    return "0" if x == 0 else mpmath.nstr(x, 12, min_fixed=-1, max_fixed=-1)


def _key(v: list) -> Hashable:
    tag = v[0]
    if tag == "q":
        return ("q", v[1], v[2])
    if tag == "n":
        return ("n", _k12(v[1]), _k12(v[2]))
    if tag == "e":
        return ("e", tuple(v[1]), tuple((_k12(a), _k12(b)) for a, b in v[2]))
    if tag == "eq":
        return ("eq", tuple(v[1]), tuple((_k12(a), _k12(b)) for a, b in v[2]))
    if tag == "assign":
        if len(v[1]) == 1:
            return _key(v[1][0][1])
        return ("assign", tuple(sorted((n, _key(x)) for n, x in v[1])))
    if tag == "iv":
        return ("iv", _key(v[1]), _key(v[2]), v[3], v[4])
    if tag in ("tuple", "list", "ratio"):
        return (tag, tuple(_key(x) for x in v[1]))
    if tag == "set":
        return ("set", tuple(sorted(set(_key(x) for x in v[1]), key=repr)))
    if tag == "union":
        return ("union", tuple(sorted((_key(x) for x in v[1]), key=repr)))
    if tag == "mat":
        return ("mat", v[1], v[2], tuple(_key(x) for x in v[3]))
    if tag == "ne":
        return ("ne", _key(v[1]))
    if tag == "inf":
        return ("inf", v[1])
    return (tag,) + tuple(str(x) for x in v[1:])


# ----------------------------------------------------------------------------- equivalence


class _OutOfTime(Exception):
    """The caller's deadline passed in the middle of a comparison: answer "not equivalent"."""


_CLOCK = threading.local()


def _tick() -> None:
    deadline = getattr(_CLOCK, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _OutOfTime


def equivalent(a: dict | None, b: dict | None, *, grading: bool = False, deadline: float | None = None) -> bool:
    """Symmetric equivalence of two canonical infos (see module docstring).

    ``deadline`` (a ``time.monotonic()`` value) bounds the comparison of containers: when it
    passes, the answer is ``False`` -- a missed merge, never a wrong one."""
    if a is None or b is None:
        return False
    _CLOCK.deadline = deadline
    try:
        if _cached_key(a) == _cached_key(b):
            return True
        if _fast_reject(a, b):
            return False
        # Values are 30-digit strings; compare them at that precision (at mpmath's default 15
        # digits, 60 * pi / 180 and the stored pi / 3 can differ by an ulp, beyond the 1e-20 bound).
        with mpmath.workdps(limits.PRECISION_DPS):
            return _eq_top(a, b) or _eq_top(b, a)
    except (ValueError, ZeroDivisionError, TypeError, IndexError, KeyError, RecursionError, _OutOfTime):
        return False
    finally:
        _CLOCK.deadline = None


def _cached_key(info: dict) -> Hashable:
    k = info.get("_key")
    if k is None:
        k = info["_key"] = _key(info["v"])
    return k


_SCALARS = ("q", "n")
_SOLO = ("text", "raw", "mat", "ratio", "base", "choice", "ne")


def _unwrap(v: list) -> list:
    return v[1][0][1] if v[0] == "assign" and len(v[1]) == 1 else v


def _float(info: dict) -> complex:
    f = info.get("_f")
    if f is None:
        v = _unwrap(info["v"])
        if v[0] == "q":
            f = (
                complex(float(Fraction(v[1], v[2])), 0.0)
                if max(abs(v[1]), v[2]).bit_length() < 1000
                else complex("nan")
            )
        else:
            try:
                f = complex(float(v[1]), float(v[2]))
            except (OverflowError, ValueError):
                f = complex("nan")
        info["_f"] = f
    return f


def _fast_reject(a: dict, b: dict) -> bool:
    """Cheap, conservative "certainly different" test run before the exact comparison
    (most representative pairs in a group are different numbers)."""
    if a["v"][0] == b["v"][0] == "assign":
        return False  # ``a = b`` / ``b = a`` differ as values but may be one equation
    va, vb = _unwrap(a["v"]), _unwrap(b["v"])
    ka, kb = va[0], vb[0]
    if (ka in _SOLO or kb in _SOLO) and ka != kb:
        return True
    if ka in _SCALARS and kb in _SCALARS:
        if a.get("deg") or b.get("deg"):
            return False
        fa, fb = _float(a), _float(b)
        if fa != fa or fb != fb:  # nan: no cheap answer
            return False
        gap = abs(fa - fb)
        scale = max(abs(fa), abs(fb), 1e-300)
        dps = [v[3] for v in (va, vb) if v[0] == "q" and v[3] is not None]
        if dps:
            return gap > 0.51 * 10.0 ** (-min(dps)) + 1e-9 * scale
        return gap > 1e-9 * scale
    if (ka in _SCALARS and kb == "e") or (ka == "e" and kb in _SCALARS):
        return True
    if ka == kb == "e" and va[1] != vb[1]:
        return True
    if ka == kb == "set":
        # the budget test of ``_set_eq`` on distinct element keys (never more than the real
        # counts), from keys cached per answer: 64 x 63 set pairs cost microseconds each
        sa, sb = _elem_keys(a, va), _elem_keys(b, vb)
        return len(sa - sb) * len(sb) + len(sb - sa) * len(sa) > MAX_SET_FUZZY_CHECKS
    return False


def _elem_keys(info: dict, v: list) -> frozenset:
    ks = info.get("_es")
    if ks is None:
        ks = info["_es"] = frozenset(_elem_key(x) for x in v[1])
    return ks


def _eq_top(a: dict, b: dict) -> bool:
    va, vb = a["v"], b["v"]
    if _cached_key(a) == _cached_key(b):
        return True
    if a.get("deg") and not b.get("deg") and b.get("pi") and _scalar(va) and _scalar(vb):
        deg = _num(va) * mpmath.pi / 180
        return _close(deg, _num(vb))
    return _eq(va, vb)


def _scalar(v: list) -> bool:
    return v[0] in ("q", "n") or (v[0] == "assign" and len(v[1]) == 1 and v[1][0][1][0] in ("q", "n"))


def _num(v: list) -> Any:
    if v[0] == "assign":
        v = v[1][0][1]
    if v[0] == "q":
        return mpmath.mpc(mpmath.mpf(v[1]) / v[2])
    return mpmath.mpc(mpmath.mpf(v[1]), mpmath.mpf(v[2]))


def _close(x: Any, y: Any) -> bool:
    scale = max(abs(x), abs(y), mpmath.mpf(1) if (x == 0 or y == 0) else mpmath.mpf(0))
    return abs(x - y) <= _TOL * scale


def _terminates(q: Fraction) -> bool:
    d = q.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _sig_digits(v: list) -> int:
    """Significant digits of a decimal literal with ``v[3]`` places (``0.0833`` -> 3)."""
    digits = abs(Fraction(v[1], v[2])) * 10 ** v[3]
    return len(str(int(digits)).lstrip("0"))


def _rounded_match(dec: list, other: list) -> bool:
    """``dec`` is a decimal literal with ``dp`` places; ``other`` an exact non-terminating value."""
    if dec[0] != "q" or dec[3] is None or other[0] not in ("q", "n"):
        return False
    if other[0] == "q" and _terminates(Fraction(other[1], other[2])):
        return False
    if other[0] == "n" and abs(mpmath.mpf(other[2])) > 0:
        return False
    if _sig_digits(dec) < 2 or dec[3] < 2:
        return False  # at least hundredths and two significant digits: 0.33, 1.41, 6.28
    x = _num(other).real
    d = mpmath.mpf(dec[1]) / dec[2]
    half = mpmath.mpf(10) ** (-dec[3]) / 2
    return abs(x - d) <= half * (1 + mpmath.mpf(10) ** -12)


def _eq(a: list, b: list) -> bool:
    ta, tb = a[0], b[0]
    if ta == "assign" and len(a[1]) == 1 and tb != "assign":
        if tb == "eq" and len(a) > 2 and a[2] is not None:
            return _fp_eq(["eq"] + a[2], b)
        return _eq(a[1][0][1], b) or _eq(b, a[1][0][1])
    if ta == tb == "q":
        # two exact rationals: equal keys were caught already, so only the rounding policy is left
        # (a relative tolerance would make 2^100 equal 2^100 + 1)
        return _rounded_match(a, b) or _rounded_match(b, a)
    if ta in ("q", "n") and tb in ("q", "n"):
        if _close(_num(a), _num(b)):
            return True
        return _rounded_match(a, b) or _rounded_match(b, a)
    if ta == tb == "e":
        return a[1] == b[1] and _fps_close(a[2], b[2])
    if ta == tb == "eq":
        return _fp_eq(a, b)
    if ta == "tuple" and tb == "iv":
        return len(a[1]) == 2 and not b[3] and not b[4] and _seq_eq(a[1], [b[1], b[2]])
    if ta == "iv" and tb == "iv":
        return a[3] == b[3] and a[4] == b[4] and _eq_sym(a[1], b[1]) and _eq_sym(a[2], b[2])
    if ta == "inf" and tb == "inf":
        return a[1] == b[1]
    if ta == tb and ta in ("tuple", "ratio"):
        return _seq_eq(a[1], b[1])
    if ta == tb == "mat":
        return a[1] == b[1] and a[2] == b[2] and _seq_eq(a[3], b[3])
    if ta == tb == "list" or (ta == "list" and tb == "tuple"):
        return _seq_eq(a[1], b[1])
    if ta in ("list", "set") and tb in ("set",):
        return _set_eq(a[1], b[1])
    if ta in ("list", "tuple") and tb == "assign" and len(b[1]) > 1:
        # ``(2, 3)`` answers ``x = 2, y = 3``: values in the order the names were written
        return _seq_eq(a[1], [p[1] for p in b[1]])
    if ta == tb == "assign":
        da, db = dict((n, x) for n, x in a[1]), dict((n, x) for n, x in b[1])
        if set(da) == set(db):
            return all(_eq_sym(da[n], db[n]) for n in da)
        if _seq_eq([p[1] for p in a[1]], [p[1] for p in b[1]]):
            return True
        # ``a = b`` vs ``b = a``, ``y = 2x + 3`` vs ``x = (y - 3)/2``: the same equation solved
        # for another name (both equation fingerprints are scale- and sign-free).
        return (
            len(a) > 2 and len(b) > 2 and a[2] is not None and b[2] is not None and _fp_eq(["eq"] + a[2], ["eq"] + b[2])
        )
    if ta == "set" and tb == "assign":
        return _set_eq(a[1], [p[1] for p in b[1]])
    if ta == "set" and len(a[1]) == 1 and tb not in ("set", "list"):
        return _eq_sym(a[1][0], b)
    if ta == "union" and tb == "union":
        return len(a[1]) == len(b[1]) and _set_eq(a[1], b[1])
    if ta == tb == "ne":
        return _eq_sym(a[1], b[1])
    return False


_KEYS: dict[int, tuple[list, Hashable]] = {}


def _elem_key(v: list) -> Hashable:
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


def _eq_sym(x: list, y: list) -> bool:
    _tick()
    return _elem_key(x) == _elem_key(y) or _eq(x, y) or _eq(y, x)


def _seq_eq(xs: list, ys: list) -> bool:
    return len(xs) == len(ys) and all(_eq_sym(x, y) for x, y in zip(xs, ys))


#: Element comparisons beyond key equality that one set comparison may make.  Elements
#: with equal keys match at once (hashing, linear); only the rest need the rounding / degree
#: policies, pair by pair.  Real answers leave a handful of such elements ({0.33, 0.67} vs
#: {1/3, 2/3}: 2 x 2 each way); 64 hostile 200-element sets would otherwise cost 200 x 200
#: comparisons per pair.  Beyond the budget the sets are "not equivalent" (a missed merge).
MAX_SET_FUZZY_CHECKS = 100


def _set_eq(xs: list, ys: list) -> bool:
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


def _fps_close(fa: list, fb: list) -> bool:
    if len(fa) != len(fb):
        return False
    for (ar, ai), (br, bi) in zip(fa, fb):
        if not _close(mpmath.mpc(mpmath.mpf(ar), mpmath.mpf(ai)), mpmath.mpc(mpmath.mpf(br), mpmath.mpf(bi))):
            return False
    return True


def _fp_eq(a: list, b: list) -> bool:
    return a[1] == b[1] and _fps_close(a[2], b[2])


def grading_rejects(gold: dict, pred: dict) -> bool:
    """Answer-form policy applied only when grading against a reference (never in voting):
    when the reference is written as an interval or set, an inequality does not answer it; when
    both sides name a known physical unit, the units must agree.  (Not in voting: "7 = 7 cm" and
    "7 = 7 m" but "7 cm != 7 m" is not transitive, so it cannot be a class key.)"""
    g, p = gold["v"], pred["v"]
    gu, pu = gold.get("unit"), pred.get("unit")
    if gu and pu and gu.split("^")[0] != pu.split("^")[0]:
        return True  # ``7 cm`` does not answer ``7 m``; a missing unit or a sloppy power (cm vs cm^2) is not judged
    return g[0] in ("iv", "union") and not (g[0] == "iv" and g[5]) and p[0] == "iv" and p[5]
