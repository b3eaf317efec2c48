"""The typed syntax tree and values: the JSON form at the worker pipe, and the spellings that
fingerprints are hashed from (issue 13: typing the domain must not move a key)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ttrl_math import compare
from ttrl_math.canon import canonicalize
from ttrl_math.latex import normalise, parse
from ttrl_math.nodes import Add, Num, Sym, as_tuple
from ttrl_math.values import (
    Assign,
    Equation,
    Info,
    Interval,
    Rational,
    SetV,
    from_json,
    info_from_json,
    info_to_json,
    to_json,
)

ANSWERS = [
    "\\frac{1}{2}",
    "0.25",
    "\\sqrt{2}",
    "x^2+2x+1",
    "y = 2x + 3",
    "x = 2, y = 3",
    "p=5, q=2 and p=7, q=2",
    "(1, 2]",
    "(-\\infty, 3) \\cup [5, \\infty)",
    "\\{1, 2, 3\\}",
    "\\frac{-1 \\pm \\sqrt{5}}{2}",
    "|x| > 2",
    "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
    "7:32",
    "1011_2",
    "x \\ne 3",
    "7 \\text{ cm}",
    "30^\\circ",
    "15\\%",
    "\\text{even}",
    "f(x) = x^2",
    "(A)",
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_every_value_kind_survives_the_worker_pipe_form(answer):
    info = canonicalize(answer)
    assert info is not None
    back = info_from_json(info_to_json(info))
    assert back == info
    assert compare.bucket_key(back) == compare.bucket_key(info)


def test_the_json_form_keeps_its_tags():
    assert to_json(Rational(1, 2, None)) == ["q", 1, 2, None]
    v = canonicalize("\\pm 2")
    assert v is not None and isinstance(v.value, SetV) and v.value.pm
    assert to_json(v.value)[0] == "set" and to_json(v.value)[-1] == "pm"
    iv = canonicalize("x > 3")
    assert iv is not None and isinstance(iv.value, Interval) and iv.value.from_rel


@pytest.mark.parametrize(
    "bad",
    [
        ["q", "1", 2, None],  # p must be an int
        ["zz", 1],
        ["set", [["q", 1, 1, None]], "nope"],
        ["assign", [["x", ["q", 1, 1, None]]], ["q", 1, 1, None]],  # equation slot holds a non-equation
        ["iv", ["q", 1, 1, None], ["q", 2, 1, None], 1, 0, 0],  # flags must be booleans
        "q",
        None,
    ],
)
def test_a_malformed_value_from_the_pipe_is_refused(bad):
    with pytest.raises(ValueError):
        from_json(bad)


def test_a_malformed_info_from_the_pipe_is_refused():
    with pytest.raises(ValueError):
        info_from_json(["q", 1, 1, None])
    with pytest.raises(ValueError):
        info_from_json({"v": ["q", 1, 1, None], "deg": "yes"})
    assert info_from_json({"v": ["q", 1, 1, None]}) == Info(Rational(1, 1, None))


def test_names_are_spelled_from_the_tagged_tuple_form():
    # ``x_{n+1} = 3``: the name is the subscript's tuple spelling, exactly as before the tree was typed
    # (fingerprints hash symbol names, so a different spelling would move every key built on it).
    tree = parse(normalise("x_{n+1}")[0])
    assert tree == Sym("x_('add', [('sym', 'n'), ('num', Fraction(1, 1), None)])")
    assert as_tuple(Add((Sym("n"), Num(Fraction(1))))) == ("add", [("sym", "n"), ("num", Fraction(1, 1), None)])
    info = canonicalize("x = 3")
    assert info is not None and isinstance(info.value, Assign)
    assert info.value.pairs[0][0] == "('sym','x')"


def test_an_equation_keeps_its_scale_free_fingerprint_for_assignments():
    a, b = canonicalize("y = 2x + 3"), canonicalize("x = (y - 3)/2")
    assert a is not None and b is not None
    assert isinstance(a.value, Assign) and isinstance(a.value.equation, Equation)
    assert compare.equivalent(a, b) and compare.equivalent(b, a)


def test_values_and_nodes_are_immutable():
    v = Rational(1, 2, None)
    with pytest.raises(AttributeError):
        v.p = 3  # type: ignore[misc]  # assigning to a frozen field is what is tested
    n = Num(Fraction(1))
    with pytest.raises(AttributeError):
        n.value = Fraction(2)  # type: ignore[misc]  # assigning to a frozen field is what is tested
