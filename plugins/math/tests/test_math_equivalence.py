"""Canonical keys and equivalence over the answer types of the issue, plus grouping."""

from __future__ import annotations

import random

import pytest

from ttrl_kit import get_registry, grade
from ttrl_math import compare
from ttrl_math.canon import canonicalize
from ttrl_math.task import MathTask


@pytest.fixture(scope="module")
def task():
    return MathTask(isolate=False)


SAME = [
    ("025", "25"),
    ("+033", "33"),
    ("-0", "0"),
    ("1,000", "1000"),
    ("1 000", "1000"),
    ("1000.0", "1000"),
    ("12,\\!000", "12000"),
    ("14{,}916", "14916"),
    ("\\frac{1}{2}", "0.5"),
    ("\\dfrac12", "1/2"),
    (".5", "1/2"),
    ("2\\sqrt3", "\\sqrt{12}"),
    ("\\frac{\\sqrt2}{2}", "\\frac1{\\sqrt2}"),
    ("\\frac94\\pi", "\\frac{9\\pi}{4}"),
    ("28\\%", "28"),
    ("90^\\circ", "90"),
    ("45^\\circ", "\\frac{\\pi}{4}"),
    ("15\\mbox{ cm}^2", "15"),
    ("125\\textnormal{ miles}", "125"),
    ("\\$10", "10"),
    ("0.06 \\text{ yuan}", "0.06"),
    ("x=3", "3"),
    ("k = \\frac13", "\\frac{1}{3}"),
    ("(p,q)=(3,2)", "(3,2)"),
    ("x = 5+5+1 = 11", "11"),
    ("34x+45y-20z+100=0", "-34x-45y+20z-100=0"),
    ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}"),
    ("x\\ge5", "5\\le x"),
    ("x > 5", "(5, \\infty)"),
    ("-x > -1", "x < 1"),
    ("0 < x \\le 1", "(0,1]"),
    ("(-\\infty, 1) \\cup (2, \\infty)", "(2,\\infty)\\cup(-\\infty,1)"),
    ("\\{1,2\\}", "\\{2,1\\}"),
    ("1 \\text{ and } 2", "\\{2, 1\\}"),
    ("\\pm 2021", "\\{-2021, 2021\\}"),
    ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("(1,2),(3,4)", "(3,4),(1,2)"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\left[\\begin{array}{cc}1 & 2 \\\\ 3 & 4\\end{array}\\right]"),
    ("\\tan^2 y+1", "\\sec^2 y"),
    ("\\frac{x+2}{7}", "\\frac x7+\\frac27"),
    ("(r+5)(r+5)", "(r+5)^2"),
    ("x^2+2x+1", "x^2 + 2*x + 1"),
    ("\\text{Evelyn}", "Evelyn"),
    ("\\text{odd}", "odd"),
    ("204_5", "204_5"),
    ("7:32", "7:32"),
    ("\\frac34i", "\\frac{3}{4}i"),
    ("1\\pm\\sqrt{19}", "\\{1+\\sqrt{19}, 1-\\sqrt{19}\\}"),
    ("\\frac{1}{3}", "0.3333"),
    ("\\sqrt{2}", "1.414"),
    ("2.5 \\times 10^{3}", "2500"),
    ("1.2e3", "1200"),
    ("918\\frac{1}{2}", "918.5"),
    ("\\binom{5}{2}", "10"),
    ("5!", "120"),
    ("|-3|", "3"),
]

DIFFERENT = [
    ("5", "5.001"),
    ("1", "1.0001"),
    ("0.28", "28\\%"),
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),
    ("1-\\frac{1}{e}", "1+\\frac{1}{e}"),
    ("12.25", "12.3"),
    ("\\frac{1}{3}", "0.3"),
    ("3x-y+13=0", "3x+4y+14=0"),
    ("x+1", "x+2"),
    ("x^2+2x+1", "x^3+2x+1"),
    ("f(x)", "f(y)"),
    ("|x|", "x"),
    ("(1,2)", "(2,1)"),
    ("[0,1)", "[0,1]"),
    ("(0,9)", "[0,9)"),
    ("\\{1,2\\}", "\\{1,3\\}"),
    ("10, 4, -2", "4, 10, -2"),
    ("\\sqrt{67},-\\sqrt{85}", "\\sqrt{67}"),
    ("odd", "\\text{oddd}"),
    ("\\pm 2021", "2021"),
    ("12:00", "1:00"),
    ("\\frac{\\pi}{4}", "45"),
    ("90", "\\frac{\\pi}{2}"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}"),
    ("2", "\\frac{1+\\sqrt{5}}{2}"),
    ("x > 5", "x < 5"),
    ("x \\ne 3", "x = 3"),
    ("E", "2E"),
]


@pytest.mark.parametrize("a,b", SAME)
def test_same(a, b):
    ia, ib = canonicalize(a), canonicalize(b)
    assert ia is not None and ib is not None, (a, b)
    assert compare.equivalent(ia, ib) and compare.equivalent(ib, ia), (ia, ib)


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different(a, b):
    ia, ib = canonicalize(a), canonicalize(b)
    assert not compare.equivalent(ia, ib) and not compare.equivalent(ib, ia), (ia, ib)


def test_equal_values_share_a_bucket_key():
    keys = {compare.bucket_key(canonicalize(s)) for s in ["\\frac{1}{2}", "0.5", "1/2", "\\dfrac12", ".5", "2/4"]}
    assert len(keys) == 1
    assert compare.bucket_key(canonicalize("x^2+2x+1")) == compare.bucket_key(canonicalize("(x+1)^2"))


def test_group_answers_classes_and_abstain(task):
    answers = ["\\frac{1}{2}", "0.5", None, "3", "1/2", "\\boxed{3}", "x=3", "7"]
    classes = task.group_answers(answers)
    assert classes.class_of == (0, 0, None, 1, 0, 1, 1, 2)
    assert classes.counts() == [3, 3, 1]


def test_grouping_does_not_depend_on_order(task):
    pool = [
        "\\frac{1}{2}",
        "0.5",
        "1/2",
        "50\\%",
        "\\sqrt{2}",
        "1.414",
        "\\frac{\\sqrt{8}}{2}",
        "x>1",
        "(1,\\infty)",
        "1 < x",
        "\\{1,2\\}",
        "2, 1",
        "\\pi/4",
        "45^\\circ",
        "0.785",
        "7",
    ]
    rng = random.Random(0)
    ref = None
    for _ in range(6):
        order = pool[:]
        rng.shuffle(order)
        cls = task.group_answers(order)
        part = frozenset(frozenset(a for a, c in zip(order, cls.class_of) if c == k) for k in set(cls.class_of))
        ref = ref or part
        assert part == ref


def test_grading_policies(task):
    assert grade(task, "The answer is \\boxed{28\\%}", "28")
    assert not grade(task, "\\boxed{0.28}", "28\\%")
    assert grade(task, "$x \\in [-2,7]$", "$-2 \\le x \\le 7$")
    assert not grade(task, "$-2 \\le x \\le 7$", "$x \\in [-2,7]$")  # asked for an interval
    assert grade(task, "so \\boxed{\\frac{14}{3}}", "\\frac{14}{3}")
    assert grade(task, "Final answer: 025", "25")
    assert not task.is_correct(None, "1")


def test_registry_task_and_options():
    reg = get_registry()
    t = reg.task("math")
    assert isinstance(t, MathTask)
    assert t.build_prompt({"prompt": "What is 1+1?"})[0]["content"].endswith(
        "Please reason step by step, and put your final answer within \\boxed{}."
    )
    assert reg.task("math", suffix="").build_prompt({"prompt": "Q?"}) == [{"role": "user", "content": "Q?"}]
    assert reg.task("math", mode="boxed").extract_answer("The answer is 3.") is None
    mcq = reg.task("math", choices="ABCD")
    assert mcq.extract_answer("I think the answer is (B)") == "B"
    assert mcq.is_correct("B", "B") and not mcq.is_correct("B", "C")
    from ttrl_kit import ConfigError

    for bad in ({"mode": "strict"}, {"choices": "ab"}, {"suffix": 3}, {"timeout_s": 0}):
        with pytest.raises(ConfigError):
            reg.task("math", **bad)
    assert "arithmetic" in reg.datasets if hasattr(reg, "datasets") else reg.dataset_loader("arithmetic")


@pytest.mark.parametrize(
    "a,b",
    [
        (
            "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}",
            "\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
        ),
        ("2\\begin{pmatrix}1 \\\\ 2\\end{pmatrix}", "\\begin{pmatrix}2 \\\\ 4\\end{pmatrix}"),
        (
            "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}\\begin{pmatrix}0 & 1 \\\\ 1 & 0\\end{pmatrix}",
            "\\begin{pmatrix}2 & 1 \\\\ 4 & 3\\end{pmatrix}",
        ),
        ("1\\leq|z|\\leq \\frac{3}{2}", "[-\\frac{3}{2}, -1] \\cup [1, \\frac{3}{2}]"),
        ("5 > x \\ge 1", "[1, 5)"),
    ],
)
def test_matrix_arithmetic_and_abs_chains(a, b):
    assert compare.equivalent(canonicalize(a), canonicalize(b))


def test_matrix_product_is_not_commutative():
    a = "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}\\begin{pmatrix}0 & 1 \\\\ 1 & 0\\end{pmatrix}"
    b = "\\begin{pmatrix}0 & 1 \\\\ 1 & 0\\end{pmatrix}\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}"
    assert not compare.equivalent(canonicalize(a), canonicalize(b))
