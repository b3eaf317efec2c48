"""Regression tests for the errors found by the held-out audit (benchmarks/math_equivalence/
cases_heldout.jsonl): each is a generic rule, checked on more than the case that exposed it."""

from __future__ import annotations

import pytest

from ttrl_math import compare
from ttrl_math.canon import canonicalize


def _eq(a: str, b: str) -> bool:
    ia, ib = canonicalize(a), canonicalize(b)
    r = compare.equivalent(ia, ib)
    assert r == compare.equivalent(ib, ia), "equivalence must be symmetric"
    return r


@pytest.mark.parametrize(
    "deg,rad",
    [
        ("60^\\circ", "\\frac{\\pi}{3}"),
        ("30^\\circ", "\\frac{\\pi}{6}"),
        ("120^\\circ", "\\frac{2\\pi}{3}"),
        ("135^\\circ", "\\frac{3\\pi}{4}"),
        ("72^\\circ", "\\frac{2\\pi}{5}"),
        ("1^\\circ", "\\frac{\\pi}{180}"),
    ],
)
def test_degrees_equal_radians_at_full_precision(deg, rad):
    # 60 * pi / 180 computed at mpmath's default 15 digits missed the 30-digit pi/3 by an ulp.
    assert _eq(deg, rad)


@pytest.mark.parametrize(
    "deg,rad", [("60^\\circ", "\\frac{\\pi}{6}"), ("30^\\circ", "\\frac{\\pi}{3}"), ("1^\\circ", "\\frac{\\pi}{179}")]
)
def test_wrong_angles_stay_different(deg, rad):
    assert not _eq(deg, rad)


@pytest.mark.parametrize(
    "a,b", [("a = b", "b = a"), ("x = y", "y = x"), ("y = 2x+3", "x = \\frac{y-3}{2}"), ("x = 2y", "y = \\frac{x}{2}")]
)
def test_same_equation_solved_for_another_name(a, b):
    assert _eq(a, b)


@pytest.mark.parametrize(
    "a,b",
    [
        ("x = y", "x = z"),
        ("x = y", "z = x"),
        ("x = 2y", "y = 2x"),
        ("y = 2x+3", "x = \\frac{y+3}{2}"),
        ("x = 3", "y = 4"),
    ],
)
def test_different_equations_stay_different(a, b):
    assert not _eq(a, b)


@pytest.mark.parametrize(
    "a,b",
    [
        ("10 - 10*i**2", "20"),
        ("2**10", "1024"),
        ("x**2 + 2*x + 1", "(x+1)^2"),
        ("2*x*(15*x**2 - 4*x + 10)", "2x(15x^2-4x+10)"),
    ],
)
def test_python_power_operator(a, b):
    assert _eq(a, b)


@pytest.mark.parametrize("a,b", [("2**11", "1024"), ("x**3", "x^2"), ("2*3", "2**3")])
def test_python_power_is_not_multiplication(a, b):
    assert not _eq(a, b)


# ----------------------------------------------------------------------------- batch 2 fixes

from ttrl_kit import grade  # noqa: E402
from ttrl_math.extract import extract  # noqa: E402
from ttrl_math.task import MathTask  # noqa: E402


@pytest.fixture(scope="module")
def task():
    return MathTask(isolate=False)


def test_boxed_matrix_environment_is_not_cut_as_prose():
    # ``{ccc}`` (an array column spec) read as an English word cut the box at ``\begin{array}{``.
    resp = (
        "The answer is $\\boxed{\\left(\n\\begin{array}{ccc}\n -13 & 4 & -2 \\\\\n 7 & 8 & -3 \\\\\n"
        "\\end{array}\n\\right)}$."
    )
    assert extract(resp).endswith("\\end{array}\n\\right)")
    gold = "\\begin{pmatrix} -13 & 4 & -2 \\\\ 7 & 8 & -3 \\end{pmatrix}"
    assert _eq(extract(resp), gold)
    assert not _eq(extract(resp), gold.replace("-3", "3"))
    assert extract("\\boxed{The answer is 4}") == "4"  # prose inside a box is still read


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("(2,3)", "x=2, y=3", True),
        ("(2,3)", "x=3, y=2", False),
        ("(1,2,3)", "a=1, b=2, c=3", True),
        ("(1,2)", "a=1, b=2, c=3", False),
    ],
)
def test_tuple_answers_a_list_of_assignments_in_order(a, b, same):
    assert _eq(a, b) is same


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("\\sin 30^\\circ", "\\frac12", True),
        ("\\cos(60^\\circ)", "0.5", True),
        ("\\tan{45^{\\circ}}", "1", True),
        ("\\cos 60^\\circ", "\\frac{\\sqrt3}{2}", False),
        ("\\sin 30^\\circ", "\\sin 30", False),
    ],
)
def test_trig_of_degrees(a, b, same):
    assert _eq(a, b) is same


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("0.\\overline{3}", "\\frac13", True),
        ("1.2\\overline{45}", "\\frac{137}{110}", True),
        ("0.\\overline{142857}", "\\frac17", True),
        ("-0.\\overline{6}", "-\\frac23", True),
        ("0.\\overline{3}", "0.3", False),
        ("0.\\overline{3}", "\\frac{3}{10}", False),
        ("0.1\\overline{6}", "\\frac16", True),
        ("0.1\\overline{6}", "\\frac{1}{7}", False),
    ],
)
def test_repeating_decimals_are_exact(a, b, same):
    assert _eq(a, b) is same


@pytest.mark.parametrize(
    "pred,gold,ok",
    [
        ("$\\boxed{\\textbf{(C)}\\ 12}$", "12", True),
        ("(C) 12", "12", True),
        ("\\mathrm{(D)}\\ 1,008,016", "1008016", True),
        ("$\\boxed{\\textbf{(C)}\\ 12}$", "13", False),
        ("(A) + B", "B", False),
        ("(C)", "C", True),
    ],
)
def test_option_label_before_a_value(task, pred, gold, ok):
    assert grade(task, pred, gold) is ok


# ----------------------------------------------------------------------------- batch 3 fixes


@pytest.mark.parametrize(
    "a,b",
    [
        ("2^{100}", "2^{100}+1"),
        ("10^{30}", "10^{30}+1"),
        ("123456789012345678901234", "123456789012345678901235"),
        ("\\frac{10^{25}+1}{10^{25}}", "1"),
    ],
)
def test_exact_rationals_have_no_relative_tolerance(a, b):
    # two different exact rationals were compared with the 1e-20 relative bound meant for
    # irrational fingerprints
    assert not _eq(a, b)


def test_exact_rationals_keep_the_rounding_policy():
    assert _eq("0.333", "\\frac13") and _eq("0.50", "\\frac12") and not _eq("0.34", "\\frac13")


@pytest.mark.parametrize(
    "ineq,iv,same",
    [
        ("|x| < 2", "-2 < x < 2", True),
        ("2 > |x|", "-2 < x < 2", True),
        ("|x| \\le 2", "-2 \\le x \\le 2", True),
        ("|x| > 3", "(-\\infty, -3) \\cup (3, \\infty)", True),
        ("|x| < 2", "x < 2", False),
        ("|x| < 2", "-2 \\le x \\le 2", False),
        ("|x| \\ge 3", "|x| > 3", False),
    ],
)
def test_one_sided_absolute_value_inequalities(ineq, iv, same):
    assert _eq(ineq, iv) is same


def test_abs_inequality_is_not_the_plain_one_when_grading(task):
    assert not grade(task, "(-\\infty, 2)", "|x| < 2")
    assert grade(task, "(-2, 2)", "|x| < 2")


# ----------------------------------------------------------------------------- batch 4 fixes


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("x=\\frac{-1\\pm\\sqrt{5}}{2}", "\\frac{-1+\\sqrt5}{2}, \\frac{-1-\\sqrt5}{2}", True),
        ("\\frac{3\\pm\\sqrt{5}}{2}", "\\{\\frac{3+\\sqrt5}{2}, \\frac{3-\\sqrt5}{2}\\}", True),
        ("(1\\pm 2)^2", "\\{9, 1\\}", True),
        ("\\frac{3\\pm\\sqrt{5}}{2}", "\\frac{-3\\pm\\sqrt{5}}{2}", False),
        ("x=\\frac{-1\\pm\\sqrt{5}}{2}", "\\frac{-1+\\sqrt5}{2}", False),
    ],
)
def test_plus_minus_inside_an_expression_is_a_two_element_set(a, b, same):
    assert _eq(a, b) is same


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("sqrt(3)", "\\sqrt3", True),
        ("1/2 + sqrt(3)/2", "\\frac{1+\\sqrt3}{2}", True),
        ("\\sqrt(x+1)", "\\sqrt{x+1}", True),
        ("4\\sqrt(2)", "4", False),
        ("sqrt(3)", "3", False),
    ],
)
def test_parenthesised_square_root(a, b, same):
    assert _eq(a, b) is same


@pytest.mark.parametrize(
    "resp,want",
    [
        ("So I get \\boxed{4}. Hmm, wait: I dropped a sign. Redoing it, the final answer is 5.", "5"),
        ("\\boxed{12}. So the final answer is 12.", "12"),
        ("\\boxed{5}. The final answer is the number of ways, 5.", "5"),
        ("So there are $\\boxed{6}$ ways.\n\nNote: if order mattered there would be $12$.", "6"),
    ],
)
def test_final_answer_phrase_after_the_last_box_wins(resp, want):
    assert extract(resp) == want


@pytest.mark.parametrize(
    "resp,want",
    [
        ("The probability is $\\frac{1}{6}$, or about $16.7\\%$.", "\\frac{1}{6}"),
        ("It is $\\sqrt2$, approximately $1.41$.", "\\sqrt2"),
        ("$x$ is $3$ and $y$ is $4$.", "4"),
    ],
)
def test_approximation_gloss_after_the_value_is_not_the_answer(resp, want):
    assert extract(resp) == want


# ----------------------------------------------------------------------------- units (grading only)


@pytest.mark.parametrize(
    "pred,gold,ok",
    [
        ("7 \\text{ cm}", "7 \\text{ m}", False),
        ("5.4 \\text{ dollars}", "5.4 \\text{ cents}", False),
        ("864 \\text{ ft}^2", "864 \\mbox{ inches}^2", False),
        ("7 \\text{ centimeters}", "7 \\text{ cm}", True),
        ("7", "7 \\text{ m}", True),
        ("7 \\text{ m}", "7", True),
        ("864 \\text{ in}^2", "864 \\mbox{ inches}^2", True),
        ("15 \\text{ cm}", "15\\mbox{ cm}^2", True),
        ("12 students", "12 people", True),
        ("8 \\text{ cm}", "7 \\text{ cm}", False),
    ],
)
def test_grading_tells_known_units_apart(task, pred, gold, ok):
    assert grade(task, pred, gold) is ok


def test_units_do_not_split_voting_classes(task):
    # "7" = "7 cm" and "7" = "7 m": a unit cannot be part of the class key (not transitive)
    classes = task.group_answers(["7", "7 \\text{ cm}", "7 \\text{ m}"])
    assert len(set(classes.class_of)) == 1
