"""Write the held-out audit case set (cases_heldout.jsonl).

Built AFTER the plugin was finished, by a second engineer, from sources the development sets
did not use, to estimate out-of-sample accuracy honestly:

* ``qwen25-math-grader``: the pairs printed by ``_test_math_equal`` in Qwen2.5-Math-style
  ``grader.py`` files (Qwen2.5-Math ``evaluation/grader.py`` and its forks), labelled by
  mathematical truth by us (that function prints, it asserts nothing).
* ``openrlhf-style-math_utils``: ``test_math_equal`` / ``test_compare_*`` assertions of a
  ``math_utils`` test module (OpenRLHF-derived grader tests).
* ``verl``: ``tests/utils/reward_score/test_numeric_canonicalization_on_cpu.py`` (leading
  zeros, signs) plus the decimal/alphanumeric strings it says must stay different.
* ``mindspeed-rl``: ``tests/ut/models/test_math_dapo.py`` and ``test_verifier.py``
  (boxed extraction, "Answer:" pattern, a full ``<think>``/``<answer>`` response).
* ``heldout-own``: near misses written by hand for this audit (signs, reciprocals, swapped
  pairs, bracket types, roots vs squares, wrong rounding, units) — each has a note.
* ``responses:<dataset>``: realistic full responses (Minerva "Final Answer: ... I hope it is
  correct.", Qwen "**Final Answer**\\n\\[\\boxed{..}\\]", Llama "The final answer is: $\\boxed{..}$",
  ``<think>`` traces with a wrong box inside the thinking, self-corrections, "Answer: ..",
  ``\\(..\\)``) wrapped around AIME 2024 / AMC / MATH-500 reference answers from
  ../shared/data/math, with a correct surface variant or a near-miss wrong answer (seeded).

Run: python benchmarks/math_equivalence/make_heldout_cases.py [--data ../shared/data/math]
Each line: {"pred", "gold", "expected": 0|1, "source", "note"?}.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent

Q = "qwen25-math-grader:evaluation/grader.py::_test_math_equal (labelled by us)"
O = "openrlhf-style:tests math_utils test_math_equal/test_compare_*"
V = "verl:tests/utils/reward_score/test_numeric_canonicalization_on_cpu.py"
M = "mindspeed-rl:tests/ut/models/test_math_dapo.py"
MV = "mindspeed-rl:tests/ut/models/test_verifier.py"
H = "heldout-own"

MINDSPEED_RESPONSE = (
    "<think>\nFirst, we use the property of a parallelogram that opposite sides are equal in length.\n"
    "Therefore, we have:\n\\[AB = CD \\quad \\text{and} \\quad BC = AD\\]\n\nFrom the given measurements:\n"
    "\\[AB = 38 \\text{ cm}\\]\n\\[BC = 3y^3 \\text{ cm}\\]\n\\[CD = 2x + 4 \\text{ cm}\\]\n\\[AD = 24 \\text{ cm}\\]\n\n"
    "Setting \\(AB = CD\\), we get:\n\\[38 = 2x + 4\\]\n\nSetting \\(BC = AD\\), we get:\n\\[3y^3 = 24\\]\n\n"
    "Now, we solve each equation for \\(x\\) and \\(y\\).\n</think>\n<answer>\nFirst, solve for \\(x\\):\n"
    "\\[38 = 2x + 4\\]\n\\[38 - 4 = 2x\\]\n\\[34 = 2x\\]\n\\[x = \\frac{34}{2} = 17\\]\n\nNext, solve for \\(y\\):\n"
    "\\[3y^3 = 24\\]\n\\[y^3 = \\frac{24}{3} = 8\\]\n\\[y = \\sqrt[3]{8} = 2\\]\n\nNow, find the product of \\(x\\) and \\(y\\):\n"
    "\\[xy = 17 \\times 2 = 34\\]\n\nTherefore, the product of \\(x\\) and \\(y\\) is \\(\\boxed{%s}\\).</answer>"
)

# (pred, gold, expected, source, note)
TRANSCRIBED: list[tuple[str, str, int, str, str]] = [
    # Qwen2.5-Math grader _test_math_equal (prints only; labels are ours, by mathematical truth)
    ("\\frac{1}{12}", "1/12", 1, Q, ""),
    ("(1,4.5)", "(1,\\frac{9}{2})", 1, Q, ""),
    ("\\frac{x}{7}+\\frac{2}{7}", "\\frac{x+2}{7}", 1, Q, ""),
    ("5.51", "\\frac{11}{2}", 0, Q, "5.51 != 5.5"),
    ("$16.0$", "16", 1, Q, ""),
    ("(-\\sqrt{3},\\sqrt{3})", "(-1.732, 1.732)", 1, Q, "3-place rounding of sqrt 3"),
    ("(6.0+9.1i)", "6+9.2i", 0, Q, "imaginary parts differ"),
    ("10 - 10*i**2", "20", 1, Q, "i^2 = -1 (python-style power)"),
    ("(1,\\frac{9}{2})", "(1.0,4.5)", 1, Q, ""),
    ("3s^2", "3*s**2", 1, Q, ""),
    ("2x(15x^2-4x+10)", "2*x*(15*x**2 - 4*x + 10)", 1, Q, ""),
    ("7*(x - 3)*(x + 3)", "7(x+3)(x-3)", 1, Q, ""),
    ("\\begin{pmatrix}-\\frac{7}{4}&-2\\\\4&\\frac{1}{4}\\end{pmatrix}",
     "(\\begin{pmatrix}-\\frac{7}{4}&-2\\\\4&\\frac{1}{4}\\\\\\end{pmatrix})", 1, Q, "matrix in parentheses, trailing row break"),
    ("\\begin{pmatrix}\\frac{1}{3x^{2/3}}&0&0\\\\0&1&0\\\\-\\sin(x)&0&0\\end{pmatrix}",
     "(\\begin{pmatrix}\\frac{1}{3\\sqrt[3]{x}^2}&0&0\\\\0&1&0\\\\-\\sin(x)&0&0\\\\\\end{pmatrix})", 1, Q, "Jacobian"),
    ("-\\frac{8x^2}{9(x^2-2)^{5/3}}+\\frac{2}{3(x^2-2)^{2/3}}", "-\\frac{2(x^2+6)}{9(x^2-2)\\sqrt[3]{x^2-2}^2}", 1, Q,
     "same rational function of (x^2-2)^(1/3)"),
    ("-34x-45y+20z-100=0", "34x+45y-20z+100=0", 1, Q, "same plane"),
    ("\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{2\\sqrt{33}+15}", "\\frac{\\sqrt{\\sqrt{11}+\\sqrt{194}}}{15+2\\sqrt{33}}", 1, Q, ""),
    ("(+5)(b+2)", "(a+5)(b+2)", 0, Q, "missing a"),
    ("\\frac{1+\\sqrt{5}}{2}", "2", 0, Q, ""),
    ("1", "1\\sqrt{19}", 0, Q, ""),
    ("x+1", "x+2n+1", 0, Q, ""),
    ("1/6", "\\frac1{6}", 1, Q, ""),
    ("a = b", "b = a", 1, Q, "symmetric equation"),
    ("*** We can get the question's Final Answer: \\boxed{2}, \\boxed{3}, \\boxed{4}.", "2,3,4", 1, Q, "several boxes"),
    ("*** We can get the question's Final Answer: \\boxed{3}, \\boxed{2}, \\boxed{4}.", "2,3,4", 1, Q,
     "several boxes: the solutions as a set"),
    ("*** We can get the question's Final Answer: \\boxed{2}, \\boxed{3}, \\boxed{5}.", "2,3,4", 0, Q, "near miss of the above"),
    ("0.0833", "\\frac{1}{12}", 1, Q, "4-place rounding of 1/12"),
    ("0.0834", "\\frac{1}{12}", 0, Q, "badly rounded 1/12"),
    # OpenRLHF-style math_utils tests
    ("10", "10", 1, O, ""),
    ("[1, 2, 3]", "[1, 2, 3]", 1, O, ""),
    ("[1, 2, 4]", "[1, 2, 3]", 0, O, ""),
    ("(1, 2, 3)", "(1, 2, 3)", 1, O, ""),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", 1, O, ""),
    ("\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", 0, O, ""),
    ("\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", 1, O, "bmatrix vs pmatrix"),
    ("x = y", "x = y", 1, O, ""),
    ("x = z", "x = y", 0, O, ""),
    ("x = 10", "10", 1, O, ""),
    ("10", "x = 10", 1, O, ""),
    ("20", "10", 0, O, ""),
    # verl numeric canonicalisation
    ("33", "\\boxed{033}", 1, V, "leading zero"),
    ("33", "\\boxed{+033}", 1, V, "plus sign and leading zero"),
    ("0", "\\boxed{-0}", 1, V, "negative zero"),
    ("0", "\\boxed{000}", 1, V, ""),
    ("33", "3.3", 0, V, "decimal is not the integer"),
    ("-33", "--33", 0, V, "malformed sign: --33 is +33 at best; -33 is wrong either way"),
    # MindSpeed-RL math_dapo / verifier
    ("The answer is \\boxed{2x + 4}", "2x + 3", 0, M, ""),
    ("Some text \\boxed{2x + 3}", "2x + 3", 1, M, ""),
    ("Answer: 2x + 3", "2x + 3", 1, M, "Answer: pattern"),
    ("Some text without boxed answer", "2x + 3", 0, M, "no answer"),
    ("Some text \\boxed{2x + 3} and more text \\boxed{4y - 5}", "4y - 5", 1, M, "last box"),
    ("Some text \\boxed{2x + 3} and more text \\boxed{4y - 5}", "2x + 3", 0, M, "last box wins"),
    ("Some text " * 20 + "\\boxed{2x + 3}", "2x + 3", 1, M, "long prefix"),
    ("$\\boxed{2x + 3}$", "2x+3", 1, M, ""),
    ("\\boxed{3 + 2x}", "2x+3", 1, M, "commuted"),
    ("34", "34", 1, MV, ""),
    (MINDSPEED_RESPONSE % "34", "34", 1, MV, "think/answer response"),
    (MINDSPEED_RESPONSE % "17", "34", 0, MV, "same response, boxes x instead of xy"),
]

# Hand-written near misses for this audit (pred, gold, expected, note).
OWN: list[tuple[str, str, int, str]] = [
    ("-\\frac{1}{2}", "\\frac{1}{2}", 0, "sign"),
    ("2", "\\frac{1}{2}", 0, "reciprocal"),
    ("\\frac{3}{2}", "\\frac{2}{3}", 0, "reciprocal fraction"),
    ("(3, 2)", "(2, 3)", 0, "ordered pair swapped"),
    ("[2, 5)", "[2, 5]", 0, "bracket type"),
    ("(-\\infty, 1) \\cup (1, \\infty)", "(-\\infty, 1) \\cup (1, \\infty)", 1, "union identical"),
    ("(-\\infty, 1] \\cup (1, \\infty)", "(-\\infty, 1) \\cup (1, \\infty)", 0, "union endpoint included"),
    ("\\sqrt{3}", "3", 0, "root vs value"),
    ("3", "\\sqrt{3}", 0, "value vs root"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", 1, "rationalised"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{\\sqrt{2}}", 0, "different root"),
    ("2\\sqrt{2}", "\\sqrt{8}", 1, ""),
    ("4\\sqrt{2}", "\\sqrt{8}", 0, ""),
    ("0.33", "\\frac{1}{3}", 1, "2-place rounding"),
    ("0.34", "\\frac{1}{3}", 0, "wrong rounding"),
    ("3.14", "\\pi", 1, "2-place rounding"),
    ("3.15", "\\pi", 0, "wrong rounding"),
    ("1.73", "\\sqrt{3}", 1, ""),
    ("1.72", "\\sqrt{3}", 0, ""),
    ("12", "12\\text{ cm}^2", 1, "units on gold"),
    ("13 \\text{ cm}^2", "12\\text{ cm}^2", 0, "units both, wrong value"),
    ("\\text{Tuesday}", "\\text{Tuesday}", 1, ""),
    ("\\text{Monday}", "\\text{Tuesday}", 0, ""),
    ("x^2 - 4", "(x-2)(x+2)", 1, "expanded vs factored"),
    ("x^2 + 4", "(x-2)(x+2)", 0, "sign inside"),
    ("(x-1)^2", "x^2-2x+1", 1, ""),
    ("(x+1)^2", "x^2-2x+1", 0, ""),
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}", 1, "set order"),
    ("\\{1, 2\\}", "\\{1, 2, 3\\}", 0, "missing element"),
    ("1, 2, 3", "1, 2", 0, "extra element"),
    ("-2, 3", "3, -2", 1, "roots listed in another order (Hendrycks lists roots both ways)"),
    ("y = -2x + 5", "y = 2x + 5", 0, "slope sign"),
    ("y = 5 - 2x", "y = -2x + 5", 1, ""),
    ("\\frac{7}{2}", "3.5", 1, ""),
    ("3.05", "3.5", 0, "misplaced digit"),
    ("1000", "10^3", 1, ""),
    ("100", "10^3", 0, ""),
    ("2^{10}", "1024", 1, ""),
    ("2^{11}", "1024", 0, ""),
    ("\\binom{5}{2}", "10", 1, ""),
    ("\\binom{5}{3}", "15", 0, "C(5,3) = 10"),
    ("5!", "120", 1, ""),
    ("6!", "120", 0, ""),
    ("e^{2}", "e^2", 1, ""),
    ("2e", "e^2", 0, ""),
    ("\\frac{\\pi}{3}", "60^\\circ", 1, "radians vs degrees"),
    ("\\frac{\\pi}{6}", "60^\\circ", 0, ""),
    ("-3 + 4i", "-3+4i", 1, ""),
    ("3 - 4i", "-3+4i", 0, "conjugate-negated"),
    ("\\$1,250", "1250", 1, "dollar and separator"),
    ("\\$1,205", "1250", 0, "digits transposed"),
    ("50\\%", "50", 1, "percent sign"),
    ("5\\%", "50", 0, ""),
    ("\\text{(B)}", "B", 1, "MCQ letter in \\text{(..)} (no choices option: graded as plain text)"),
    ("\\text{(D)}", "B", 0, "MCQ wrong letter"),
    ("x \\in [1, 4]", "[1, 4]", 1, "membership"),
    ("1 \\le x \\le 4", "[1, 4]", 0, "grading policy: interval gold wants an interval (math-verify convention)"),
    ("a+b", "b+a", 1, ""),
    ("a-b", "b-a", 0, ""),
    ("\\dfrac{3\\sqrt{3}}{4}", "\\frac{3\\sqrt3}{4}", 1, "sqrt without braces"),
    ("\\dfrac{3\\sqrt{3}}{2}", "\\frac{3\\sqrt3}{4}", 0, ""),
]

# --------------------------------------------------------------------------- generated responses

TEMPLATES = [
    ("qwen-boxed", "Let me work through this. First, {d1} + {d2} = {s}, and substituting gives a cleaner form.\n"
                   "After simplifying, we obtain the result.\n\nTherefore, the answer is $\\boxed{{{X}}}$."),
    ("minerva", "Solution: Note that {d1} \\cdot {d2} = {p}. Continuing, we find the value.\n"
                "Final Answer: The final answer is ${X}$. I hope it is correct."),
    ("qwen-final", "We start with the given conditions. The intermediate value is ${d1}$, and then ${d2}$.\n\n"
                   "**Final Answer**\n\\[\n\\boxed{{{X}}}\n\\]"),
    ("think", "<think>\nHmm, maybe the answer is \\boxed{{{d1}}}? Let me re-check with {d2}... no, that was wrong.\n"
              "</think>\nAfter checking, the answer is ${X}$."),
    ("llama", "## Step 1: Set up\nWe have {d1} cases.\n\n## Step 2: Count\nThere are {d2} more.\n\n"
              "The final answer is: $\\boxed{{{X}}}$"),
    ("paren", "Combining the pieces ({d1} and {d2}), we conclude. So the answer is \\({X}\\)."),
    ("self-correct", "Initially I got $\\boxed{{{d1}}}$, but I made an arithmetic error in step {d2}.\n"
                     "Correcting it, the answer is $\\boxed{{{X}}}$."),
    ("answer-colon", "We compute {d1} - {d2} = {m} along the way.\n\nAnswer: ${X}$"),
    ("display", "Putting everything together,\n\\[\n{X}\n\\]\nis the final answer."),
    ("r1", "<think>\nLet me compute {d1} times {d2}.\nOkay.\n</think>\n\n**Step 1.** Compute the pieces.\n\n"
           "Thus, the final answer is $\\boxed{{{X}}}$."),
]

_INT = re.compile(r"^-?\d+$")
_FRAC = re.compile(r"^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")
_SQRT = re.compile(r"^(\d*)\\sqrt\{(\d+)\}$")


def _clean_gold(ans: str) -> str:
    """AMC golds are floats like '142.0'; keep them as the dataset has them (that is the test)."""
    return ans.strip()


def correct_variant(gold: str, rng: random.Random) -> tuple[str, str] | None:
    """A different surface form of the same value, or None when we have no safe rewrite."""
    g = gold.strip()
    if re.fullmatch(r"-?\d+\.0", g):  # AMC style 142.0
        return str(int(float(g))), "integer for N.0 gold"
    if _INT.match(g):
        n = int(g)
        opts = [(str(n), "same integer")]
        if abs(n) >= 1000:
            opts.append((f"{n:,}", "thousands separator"))
        if len(g) == 3 and g.startswith("0"):
            opts.append((str(n), "AIME leading zero dropped"))
        opts.append((f"n = {n}", "assignment"))
        opts.append((f"{n}.0", "trailing .0"))
        return rng.choice(opts)
    m = _FRAC.match(g)
    if m:
        sign, a, b = m.group(1), int(m.group(2)), int(m.group(3))
        opts = [(f"{sign}{a}/{b}", "slash fraction"), (f"{sign}\\dfrac{{{a}}}{{{b}}}", "dfrac")]
        bb = b
        for p in (2, 5):
            while bb % p == 0:
                bb //= p
        if bb == 1:
            from fractions import Fraction
            f = Fraction(a, b)
            d = f.numerator / f.denominator
            opts.append((f"{sign}{d}", "terminating decimal"))
        return rng.choice(opts)
    m = _SQRT.match(g)
    if m:
        k = m.group(1)
        return (f"{k}\\sqrt {m.group(2)}" if len(m.group(2)) == 1 else f"{k} \\sqrt{{{m.group(2)}}}"), "sqrt spacing"
    if "\\left" in g:
        return g.replace("\\left", "").replace("\\right", ""), "no left/right"
    if "\\dfrac" in g:
        return g.replace("\\dfrac", "\\frac"), "dfrac -> frac"
    if "\\frac" in g:
        return g.replace("\\frac", "\\dfrac"), "frac -> dfrac"
    return g, "identical"


def wrong_variant(gold: str, rng: random.Random) -> tuple[str, str] | None:
    """A near miss that is certainly a different value (or None)."""
    g = gold.strip()
    if re.fullmatch(r"-?\d+\.0", g):
        g = str(int(float(g)))
    if _INT.match(g):
        n = int(g)
        opts = [(str(n + 1), "off by one"), (str(n - 1), "off by one")]
        if n != 0:
            opts.append((str(-n), "sign"))
            opts.append((str(n * 10), "extra zero"))
        r = str(abs(n))[::-1].lstrip("0")
        if r and int(r) != abs(n):
            opts.append((("-" if n < 0 else "") + r, "digits reversed"))
        return rng.choice(opts)
    m = _FRAC.match(g)
    if m:
        sign, a, b = m.group(1), int(m.group(2)), int(m.group(3))
        opts = [(f"{sign}\\frac{{{a + 1}}}{{{b}}}", "numerator +1")]
        if a != b:
            opts.append((f"{sign}\\frac{{{b}}}{{{a}}}", "reciprocal"))
        opts.append((f"{'' if sign else '-'}\\frac{{{a}}}{{{b}}}", "sign"))
        return rng.choice(opts)
    m = _SQRT.match(g)
    if m:
        k, r = m.group(1), int(m.group(2))
        return rng.choice([(f"{k}\\sqrt{{{r + 1}}}", "radicand +1"), (f"{k or ''}{r}" if k else str(r), "lost root")])
    if "\\pi" in g and re.search(r"\d", g):
        s = re.sub(r"\d", lambda mm: str((int(mm.group()) + 1) % 10) if mm.group() != "0" else "1", g, count=1)
        return s, "digit changed next to pi"
    tup = re.fullmatch(r"\\left\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\\right\)|\(\s*([^,()]+?)\s*,\s*([^,()]+?)\s*\)", g)
    if tup:
        a, b = (tup.group(1), tup.group(2)) if tup.group(1) else (tup.group(3), tup.group(4))
        if a.replace(" ", "") != b.replace(" ", ""):
            return f"({b}, {a})", "pair swapped"
    digits = [i for i, c in enumerate(g) if c.isdigit()]
    if digits:
        i = digits[-1]
        c = g[i]
        new = str((int(c) + 1) % 10)
        if c == "9" and (i == 0 or not g[i - 1].isdigit()) and (i + 1 == len(g) or not g[i + 1].isdigit()):
            new = "8"
        return g[:i] + new + g[i + 1:], "last digit changed"
    return None


def _load(data: Path, name: str) -> list[str]:
    out = []
    with open(data / f"{name}.jsonl", encoding="utf-8") as fh:
        for line in fh:
            out.append(_clean_gold(json.loads(line)["answer"]))
    return out


def generated(data: Path, seed: int, per_set: dict[str, int]) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for name, k in per_set.items():
        golds = _load(data, name)
        picks = rng.sample(range(len(golds)), k)
        for j, idx in enumerate(picks):
            gold = golds[idx]
            want_correct = j % 2 == 0
            v = correct_variant(gold, rng) if want_correct else wrong_variant(gold, rng)
            if v is None:
                continue
            pred_ans, note = v
            tname, tpl = TEMPLATES[rng.randrange(len(TEMPLATES))]
            d1, d2 = rng.randint(2, 60), rng.randint(2, 60)
            text = tpl.format(X=pred_ans, d1=d1, d2=d2, s=d1 + d2, p=d1 * d2, m=d1 - d2)
            rows.append({"pred": text, "gold": gold, "expected": int(want_correct),
                         "source": f"responses:{name}", "note": f"{tname}; {note}"})
    return rows


# --------------------------------------------------------------------------- batch 2
# Written after the first run of batch 1 (and after its fixes), BEFORE looking at how the
# plugin handles any of these; first-run numbers of batch 2 are recorded separately.
# Tab-separated: pred, gold, expected, source (transcribed) / note (own). "\\n" = newline.
B2_TRANSCRIBED = r'''
\boxed{\frac{63}{400}}	\frac{63}{400}	1	trl:tests/test_rewards.py::TestAccuracyReward
\boxed{\frac{63}{400}}	63/400	1	trl:tests/test_rewards.py::TestAccuracyReward
\boxed{\frac{64}{400}}	\frac{63}{400}	0	trl:tests/test_rewards.py::TestAccuracyReward
\boxed{3}	6	0	trl:tests/test_rewards.py::TestAccuracyReward
<think> Reasoning content </think> \boxed{\frac{63}{400}}	\frac{63}{400}	1	trl:tests/test_rewards.py::TestReasoningAccuracyReward
Reasoning content </think> \boxed{\frac{63}{400}}	\frac{63}{400}	1	trl:tests/test_rewards.py::TestReasoningAccuracyReward
<think> Reasoning content </think> \boxed{\frac{64}{400}}	\frac{63}{400}	0	trl:tests/test_rewards.py::TestReasoningAccuracyReward
<think> My answer is \boxed{42} </think> Some other text.	\boxed{42}	0	trl:tests/test_rewards.py::TestReasoningAccuracyReward
<think> The answer is \boxed{42} </think> Here's a wrong answer: \boxed{43}.	\boxed{42}	0	trl:tests/test_rewards.py::TestReasoningAccuracyReward
<think> Incomplete reasoning without closing tag	\frac{63}{400}	0	trl:tests/test_rewards.py::TestReasoningAccuracyReward
so \boxed{42}	42	1	misc-rl-tests:math_reward_success
<think>\boxed{42}</think> \boxed{41}	42	0	misc-rl-tests:math_reward_success
no box	42	0	misc-rl-tests:math_reward_success
so there are 18 apples	#### 18	1	misc-rl-tests:test_math_reward (GSM8K gold)
the total is 19	18	0	misc-rl-tests:test_math_reward
answer: 3.0	3	1	misc-rl-tests:test_math_reward
no number at all	5	0	misc-rl-tests:test_math_reward
x \boxed{\frac{1}{2}} y \boxed{3}	3	1	misc-rl-tests:test_math_rewards
so Final answer: 12	12	1	misc-rl-tests:test_math_rewards
we get 3 then 1,234	1234	1	misc-rl-tests:test_math_rewards
steps #### 1,234	1234	1	misc-rl-tests:test_math_rewards
The answer is 42.	42	1	misc-rl-tests:test_extract_final_number
step 3, then -7.5	-7.5	1	misc-rl-tests:test_extract_final_number
<answer>42</answer>	\boxed{42}	1	misc-rl-tests:test_math_reward_with_boxed_expected
<think>Compute two plus two.</think>\n<answer>4</answer>	4	1	misc-rl-tests:declared_final_answer
<think>\nSolving 2+2\n</think>\n<answer>\n$\boxed{4}$\n</answer>	4	1	misc-rl-tests:test_accuracy_reward_correct
<think>\nSolving 3*2\n</think>\n<answer>\n$\boxed{7}$\n</answer>	6	0	misc-rl-tests:test_accuracy_reward_incorrect
The answer is \boxed{2}	2	1	misc-rl-tests:trl accuracy_reward cases
\boxed{wrong}	correct	0	misc-rl-tests:trl accuracy_reward cases
答案是 960	960	1	misc-rl-tests:test_accuracy_reward (zh)
答案是 42	960	0	misc-rl-tests:test_accuracy_reward (zh)
Let me solve this step by step.\nAaron runs 2 miles in 16 minutes.\nPace = 16/2 = 8 minutes per mile.\nVanessa is twice as slow, so 8 * 2 = 16 minutes per mile.\nShe runs 4 miles, so 4 * 16 = 64 minutes.\n#### 64	64	1	misc-rl-tests:test_math_reward_gsm8k
Let me solve this step by step.\nAaron runs 2 miles in 16 minutes.\nPace = 16/2 = 8 minutes per mile.\nVanessa is twice as slow, so 8 * 2 = 16 minutes per mile.\nShe runs 4 miles, so 4 * 16 = 64 minutes.\n#### 64	16	0	misc-rl-tests:test_math_reward_gsm8k (near miss: intermediate value as gold)
The answer is $\boxed{\left(\n\begin{array}{ccc}\n -13 & 4 & -2 \\\n 7 & 8 & -3 \\\n 0 & 18 & -7 \\\n 6 & 12 & 5 \\\n\end{array}\n\right)}$.	\begin{pmatrix} -13 & 4 & -2 \\ 7 & 8 & -3 \\ 0 & 18 & -7 \\ 6 & 12 & 5 \end{pmatrix}	1	qwen25-math-parser:evaluation/parser.py::_test_extract_answer
The answer is $\boxed{\left(\n\begin{array}{ccc}\n -13 & 4 & -2 \\\n 7 & 8 & -3 \\\n 0 & 18 & -7 \\\n 6 & 12 & 5 \\\n\end{array}\n\right)}$.	\begin{pmatrix} -13 & 4 & -2 \\ 7 & 8 & -3 \\ 0 & 18 & 7 \\ 6 & 12 & 5 \end{pmatrix}	0	qwen25-math-parser:evaluation/parser.py::_test_extract_answer (one entry's sign changed)
To solve the equation \(18 + p = 29\), I need to isolate the variable \(p\).\n\nFirst, I'll subtract 18 from both sides.\n\nThis gives me \(p = 29 - 18\).\n\nCalculating the right side, \(29 - 18\) equals 11.\n\nTherefore, the value of \(p\) is 11.\n</think>\n\nTo solve the equation \(18 + p = 29\), follow these steps:\n\n1. **Isolate the variable \(p\):**\n   \[\n   p = 29 - 18\n   \]\n\n2. **Calculate the right side:**\n   \[\n   p = 11\n   \]\n\n**Final Answer:**\n\n\(\boxed{11}\)	11	1	qwen25-math-parser:evaluation/parser.py::_test_extract_answer (R1 distill)
To solve the equation \(18 + p = 29\), I need to isolate the variable \(p\).\n\nFirst, I'll subtract 18 from both sides.\n\nThis gives me \(p = 29 - 18\).\n\nCalculating the right side, \(29 - 18\) equals 11.\n\nTherefore, the value of \(p\) is 11.\n</think>\n\nTo solve the equation \(18 + p = 29\), follow these steps:\n\n1. **Isolate the variable \(p\):**\n   \[\n   p = 29 - 18\n   \]\n\n2. **Calculate the right side:**\n   \[\n   p = 11\n   \]\n\n**Final Answer:**\n\n\(\boxed{11}\)	29	0	qwen25-math-parser:evaluation/parser.py::_test_extract_answer (near miss)
\nThis is still not equal to $0$, so we must have made another mistake.\n\nWhen we subtracted $7$ from $\frac{386}{64}$, we should have subtracted $7 \cdot 64$ from $386$, not the other way around. Let's correct that:\n\n\[\frac{386}{64} - 7 = \frac{386}{64} - \frac{7 \cdot 64}{1 \cdot 64} = \frac{386 - 448}{64} = \frac{-62}{64}.\]\n\nThis is still not equal to $0$, so we must have made another mistake.\n\nWhen we subtracted $7$ from $\frac{386}{64}$, we should have subtracted $7 \cdot 64$ from $386$, not the other way around. Let's correct that:\n\n\[\frac{386}{64}\n	-\frac{31}{32}	0	qwen25-math-parser:evaluation/parser.py::_test_extract_answer (truncated response: no final answer; the value it shows it calls a mistake)
'''

B2_OWN = r'''
Therefore, the probability is $\frac{3}{8}$.	\frac{3}{8}	1	last math segment, no box
Therefore, the probability is $\frac{3}{8}$.	\frac{5}{8}	0	complement
The final answer is 18. Note that 17 would be wrong.	18	1	answer phrase beats a later number
The final answer is 18. Note that 17 would be wrong.	17	0	later number is not the answer
The answer is not 12; it is $\boxed{13}$.	13	1	
The answer is not 12; it is $\boxed{13}$.	12	0	negated value
So the area is $\boxed{24\text{ cm}^2}$.	24	1	unit inside box
Final Answer: The final answer is $\frac{1}{2}$. I hope it is correct.	0.5	1	
Final Answer: The final answer is 5,040. I hope it is correct.	5040	1	no $, separator
Final Answer: The final answer is 5,040. I hope it is correct.	504	0	
The answer is: 7	7	1	MetaMath style
The answer is: 7	-7	0	
Hence, the sum is \[\boxed{-\frac{3}{2}}.\]	-\frac{3}{2}	1	
Hence, the sum is \[\boxed{-\frac{3}{2}}.\]	\frac{3}{2}	0	sign
the smallest such $n$ is $\boxed{1{,}001}$.	1001	1	
the smallest such $n$ is $\boxed{1{,}001}$.	101	0	
So the answer is 3/4.	\frac34	1	
So the answer is 3/4.	\frac43	0	
The answer is $\boxed{2\sqrt{5}}$.	\sqrt{20}	1	
The answer is $\boxed{2\sqrt{5}}$.	\sqrt{10}	0	
Thus $a+b = 5 + 7 = \boxed{12}$.	12	1	
Thus $a+b = 5 + 7 = \boxed{12}$.	7	0	
We need $\boxed{(-\infty, -2) \cup (3, \infty)}$.	(-\infty,-2)\cup(3,\infty)	1	
We need $\boxed{(-\infty, -2) \cup (3, \infty)}$.	(-\infty,-2]\cup[3,\infty)	0	closed endpoints
<think>\nso the answer should be 7... let me double check. Hmm, 8.\n</think>\n\nThe answer is $\boxed{8}$.	8	1	
<think>\nso the answer should be 7... let me double check. Hmm, 8.\n</think>\n\nThe answer is $\boxed{8}$.	7	0	value only in thinking
I think the answer is 10. Wait, actually it's 12.\n\nFinal answer: 12	12	1	
I think the answer is 10. Wait, actually it's 12.\n\nFinal answer: 12	10	0	retracted value
The answer is $\dfrac{\sqrt{3}}{3}$.	\frac{1}{\sqrt{3}}	1	
The answer is $\dfrac{\sqrt{3}}{3}$.	\sqrt{3}	0	
The cost is $\boxed{\$4.50}$.	4.5	1	
The cost is $\boxed{\$4.50}$.	4.05	0	
$\boxed{\frac{1}{4}}$ is the probability.	\frac14	1	
The line is $\boxed{y = 3x - 2}$.	y=3x-2	1	
The line is $\boxed{y = 3x - 2}$.	y=3x+2	0	
**Answer:** 42	42	1	bold label
**Answer:** 42	24	0	
It takes $\boxed{1/2}$ hours.	\frac12	1	
The final answer is $\boxed{e^{-1}}$	\frac{1}{e}	1	
The final answer is $\boxed{e^{-1}}$	-e	0	
\boxed{\log_2 8}	3	1	
\boxed{\log_2 8}	4	0	
\boxed{0.\overline{3}}	\frac13	1	repeating decimal
\boxed{3\frac{1}{2}}	3.5	1	mixed number
\boxed{\frac{5}{2}}	2\frac{1}{2}	1	mixed number gold
\boxed{\frac{5}{2}}	2\frac{1}{3}	0	
\boxed{2^{-3}}	0.125	1	
\boxed{\sqrt[3]{27}}	3	1	
\boxed{10^{-2}}	0.01	1	
\boxed{10^{-2}}	0.02	0	
\boxed{4 \text{ and } 5}	4, 5	1	
\boxed{(2,3)}	x=2, y=3	1	solution pair
\boxed{(2,3)}	x=3, y=2	0	swapped solution
The speed is \boxed{0.5} meters per second.	\frac{1}{2}	1	
\boxed{\pi r^2}	r^2\pi	1	
\boxed{\pi r^2}	2\pi r	0	area vs circumference
\boxed{1.0}	1	1	
\boxed{3.0}	3.01	0	
\boxed{2.50}	2.5	1	
\boxed{\frac{2}{4}}	\frac12	1	unreduced fraction
\boxed{x \in (0, 1)}	(0,1)	1	
\boxed{1,2,3}	\{1,2,3\}	1	
\boxed{\frac{\sqrt{3}}{2}}	\frac{\sqrt{2}}{2}	0	
\boxed{x^2+1}	x^2-1	0	
\boxed{\frac{1}{x}}	x^{-1}	1	
\boxed{\{-1, 1\}}	\pm 1	1	
\boxed{-1, 1}	\pm1	1	
\boxed{5 \text{ dollars}}	\$5	1	
\boxed{12 \text{ hours}}	12	1	
\boxed{(1, 2]}	1 < x \le 2	1	interval answer, inequality gold
\boxed{\frac{a+b}{2}}	\frac{b+a}{2}	1	
\boxed{\frac{a+b}{2}}	\frac{a-b}{2}	0	
\boxed{\sqrt{2}/2}	\frac{\sqrt{2}}{2}	1	
\boxed{1/\sqrt{2}}	\frac{\sqrt{2}}{2}	1	
\boxed{2\pi/3}	\frac{2\pi}{3}	1	
\boxed{6.02 \times 10^{23}}	6.02e23	1	
\boxed{6.02 \times 10^{23}}	6.02 \times 10^{22}	0	exponent
\boxed{-0.5}	-\frac{1}{2}	1	
\boxed{-0.5}	\frac{1}{2}	0	
\boxed{\frac{-1}{2}}	-\frac12	1	
\boxed{1\,000\,000}	1000000	1	
\boxed{10^6}	1,000,000	1	
\boxed{10^6}	100,000	0	
\boxed{\text{Yes}}	yes	1	
\boxed{\text{No}}	yes	0	
\boxed{\dfrac{7}{3}}	2.33	1	2-place rounding
\boxed{\dfrac{7}{3}}	2.34	0	
\boxed{y=-x+2}	x+y=2	1	same line
\boxed{x+y=2}	x+y=3	0	
\boxed{3:2}	3:2	1	
\boxed{2:3}	3:2	0	
\boxed{\sin 30^\circ}	\frac12	1	trig of degrees
\boxed{\cos 60^\circ}	\frac{\sqrt3}{2}	0	
\boxed{\infty}	\infty	1	
\boxed{-\infty}	\infty	0	
\boxed{\text{no solution}}	\text{no solution}	1	
\boxed{7}\text{ (final)}	7	1	
The two roots are $\boxed{2}$ and $\boxed{5}$.	2, 5	1	
The two roots are $\boxed{2}$ and $\boxed{5}$.	2, 6	0	
$\boxed{\textbf{(C)}\ 12}$	12	1	MCQ letter plus value, value gold
$x=\boxed{5}$	5	1	
The value is $\boxed{\sqrt{2}+1}$.	1+\sqrt2	1	
The value is $\boxed{\sqrt{2}+1}$.	\sqrt2-1	0	
'''


def _unescape(s: str) -> str:
    return s.replace("\\\\\\n", "\\\\\n").replace("\\n", "\n")


def batch2() -> list[dict]:
    rows = []
    for line in B2_TRANSCRIBED.strip("\n").split("\n"):
        pred, gold, exp, src = line.split("\t")
        rows.append({"pred": _unescape(pred), "gold": _unescape(gold), "expected": int(exp), "source": src})
    for line in B2_OWN.strip("\n").split("\n"):
        pred, gold, exp, note = line.split("\t")
        r = {"pred": _unescape(pred), "gold": _unescape(gold), "expected": int(exp), "source": "heldout-own-b2"}
        if note:
            r["note"] = note
        rows.append(r)
    return rows


# --------------------------------------------------------------------------- batch 3
# Written after batch 2's fixes: false-positive probes (near misses a lenient checker accepts)
# plus forms no earlier set had.  pred, gold, expected (by mathematical truth), note.
B3_OWN = r'''
10^{-30}	0	0	tiny vs zero
e^{-100}	0	0	tiny irrational vs zero
\frac{1}{2^{99}}	\frac{1}{2^{98}}	0	tiny powers
2^{100}	2^{100}+1	0	huge exact
1.0000001	1	0	no tolerance
\frac{22}{7}	\pi	0	approximation fraction
3.1416	\pi	1	4-place rounding
\sqrt{2}	\frac{99}{70}	0	rational approximation of sqrt2
0.5	\frac{1}{2}	1	
\frac{1}{2}x	\frac{x}{2}	1	
\frac{1}{2x}	\frac{x}{2}	0	
2x+3	2y+3	0	different variable
x^2	|x|^2	1	
\sqrt{x^2}	x	0	|x| vs x
\log_2 3	\frac{\ln 3}{\ln 2}	1	change of base
\log_3 2	\frac{\ln 3}{\ln 2}	0	base swapped
\arctan 1	\frac{\pi}{4}	1	
\arcsin 1	\frac{\pi}{4}	0	
i^2	-1	1	
\sqrt{-4}	2i	1	
\sqrt{-4}	2	0	
(1,2)	\{1,2\}	0	tuple vs set
[1,2]	(1,2)	0	closed vs open interval
\emptyset	\{\}	1	empty set
\emptyset	0	0	empty set is not zero
\text{even}	\text{odd}	0	
\text{(A)}	\text{(B)}	0	
7 \text{ cm}	7 \text{ m}	0	different units (truth)
\frac{5}{3}	1\frac{2}{3}	1	mixed number
\frac{5}{3}	1\frac{1}{3}	0	
12\sqrt{3}	12 \sqrt 3	1	
12\sqrt{3}	\sqrt{123}	0	
6\sqrt{3}	6.3	0	not a rounding of 6sqrt3 (10.39)
100\pi	314.16	1	2-place rounding of 100pi
100\pi	314	0	integer is not a rounding
\infty	10^{100}	0	
-\infty	\infty	0	
a^2-b^2	(a-b)(a+b)	1	
a^2+b^2	(a+b)^2	0	
\frac{n(n+1)}{2}	\binom{n+1}{2}	1	
n!	\Gamma(n+1)	1	
\frac{1}{1-x}	1+x+x^2	0	truncated series
x<3	x\le 3	0	strict vs non-strict
x \ge 1	[1, \infty)	1	
x > 1	[1, \infty)	0	
(-2, 2)	-2 < x < 2	1	
(-2, 2)	|x| < 2	1	
[-2, 2]	|x| < 2	0	
4, 6	\{4, 6\}	1	
4, 6	\{4, 6, 8\}	0	
\{4\}	4	1	singleton
\{4, 5\}	4	0	
\frac{\sqrt{3}}{3}	\frac{1}{\sqrt 3}	1	
0.577	\frac{1}{\sqrt 3}	1	3-place rounding
0.58	\frac{1}{\sqrt 3}	1	2-place rounding
0.57	\frac{1}{\sqrt 3}	0	truncation, not rounding
\$0.50	50	0	fifty cents vs fifty dollars
50\text{ cents}	0.5	0	different unit scale (truth: 50 cents = 0.5 dollars, but the gold is a bare number of the other unit)
2:30	2.5	0	time vs decimal
1:2	\frac{1}{2}	0	ratio vs fraction (kept distinct)
3 \text{ hours and } 20 \text{ minutes}	3	0	compound quantity
'''


def batch3() -> list[dict]:
    rows = []
    for line in B3_OWN.strip("\n").split("\n"):
        pred, gold, exp, note = line.split("\t")
        rows.append({"pred": pred, "gold": gold, "expected": int(exp), "source": "heldout-own-b3", "note": note})
    return rows


# --------------------------------------------------------------------------- batch 4
# Written after batch 3's fixes: realistic full responses (notes after the box, corrections,
# approximation glosses, chat end tokens, plain-text sqrt(), +- inside fractions).
# pred ("\\n" = newline), gold, expected (by mathematical truth), note.
B4_OWN = r'''
We compute $6 \times 7 = 42$.\n\nSo the answer is $\boxed{42}$.\n\nCheck: $6 \cdot 7 = 42$ and $42 - 6 = 36$. ✓	42	1	verification line after the box
**Final Answer**\n\nThe number of ways is $\boxed{120}$.	120	1	
**Final Answer**\n\nThe number of ways is $\boxed{120}$.	720	0	
The answer is $x=\frac{-1\pm\sqrt{5}}{2}$.	\frac{-1+\sqrt5}{2}, \frac{-1-\sqrt5}{2}	1	pm vs both roots
The answer is $x=\frac{-1\pm\sqrt{5}}{2}$.	\frac{-1+\sqrt5}{2}	0	pm vs one root
So $m+n = 7 + 9 = \boxed{16}$.	016	1	AIME gold with leading zero
So $m+n = 7 + 9 = \boxed{16}$.	009	0	
The final answer is $\boxed{\textbf{(D) }4}$	4	1	AMC label and value
The answer is \(\boxed{-\dfrac{1}{3}}\).	-\frac13	1	
The answer is \(\boxed{-\dfrac{1}{3}}\).	\frac13	0	
Therefore the area of the triangle is $\boxed{6\sqrt{3}}$ square units.	6\sqrt3	1	
Therefore the area of the triangle is $\boxed{6\sqrt{3}}$ square units.	3\sqrt6	0	
Final Answer: The final answer is $(3,-1)$. I hope it is correct.	(3,-1)	1	
Final Answer: The final answer is $(3,-1)$. I hope it is correct.	(-1,3)	0	
Answer: $\boxed{y=2x-1}$	y = 2x - 1	1	
Answer: $\boxed{y=2x-1}$	y = 2x + 1	0	
Hence\n\[\boxed{\frac{\sqrt{5}-1}{2}}\]	\frac{-1+\sqrt5}{2}	1	
So there are $\boxed{6}$ ways.\n\nNote: if order mattered there would be $12$.	6	1	note after the box
So there are $\boxed{6}$ ways.\n\nNote: if order mattered there would be $12$.	12	0	
The sum of the roots is $-\frac{b}{a} = -\frac{-6}{2} = 3$.	3	1	equality chain, last value
The sum of the roots is $-\frac{b}{a} = -\frac{-6}{2} = 3$.	-3	0	
Thus, $\sqrt{50} = 5\sqrt{2}$.	5\sqrt2	1	
We get $x = 2$ and $y = -1$, so the ordered pair is $(2,-1)$.	(2,-1)	1	
We get $x = 2$ and $y = -1$, so the ordered pair is $(2,-1)$.	(-1,2)	0	
<think>\nLet me compute... 3 times 4 is 12, so \boxed{12}.\n</think>\n\nThe answer is 12.	12	1	restated after think
<think>\nLet me compute... 3 times 4 is 12, so \boxed{12}.\n</think>\n\nThe answer is 12.	13	0	
The answer is $\boxed{4}$.<|im_end|>	4	1	chat end token
The final answer is $\boxed{4}$. I hope it is correct.<|eot_id|>	4	1	
## Step 3: Simplify\nWe divide.\n\nThe final answer is: $\boxed{\frac{7}{2}}$	3.5	1	
## Step 3: Simplify\nWe divide.\n\nThe final answer is: $\boxed{\frac{7}{2}}$	2.5	0	
Hence $n=\boxed{7}$ is the smallest such integer. (For $n=8$ the condition fails.)	7	1	
Hence $n=\boxed{7}$ is the smallest such integer. (For $n=8$ the condition fails.)	8	0	
Answer: 1/2 + sqrt(3)/2	\frac{1+\sqrt3}{2}	1	plain-text sqrt()
The answer is x^2 - 1	(x-1)(x+1)	1	
The answer is x^2 - 1	(x-1)^2	0	
I estimated 3.14 for the area at first.\n\nFinal answer: \boxed{\pi}	\pi	1	
Therefore, the remainder when $N$ is divided by $1000$ is $\boxed{321}$.	321	1	
Therefore, the remainder when $N$ is divided by $1000$ is $\boxed{321}$.	1000	0	
The final answer is $\boxed{-2}$	2	0	
$\boxed{3}$ and $\boxed{-3}$	\pm 3	1	two boxes as a set
The solutions are $x=1$ and $x=2$.	1, 2	1	
The solutions are $x=1$ and $x=2$.	1, 3	0	
So the total cost is $\$1.25$.	1.25	1	
So the total cost is $\$1.25$.	1.52	0	
The value of $k$ is $\boxed{k = 4}$.	4	1	
The value of $k$ is $\boxed{k = 4}$.	-4	0	
The probability is $\frac{1}{6}$, or about $16.7\%$.	\frac16	1	exact value then a percent gloss
Therefore $f(2) = \boxed{11}$, and $f(3) = 20$ would be the next value.	11	1	box then a later value
Therefore $f(2) = \boxed{11}$, and $f(3) = 20$ would be the next value.	20	0	
So I get \boxed{4}. Hmm, wait: I dropped a sign. Redoing it, the final answer is 5.	5	1	correction after the box
So I get \boxed{4}. Hmm, wait: I dropped a sign. Redoing it, the final answer is 5.	4	0	retracted boxed value
'''


def batch4() -> list[dict]:
    rows = []
    for line in B4_OWN.strip("\n").split("\n"):
        pred, gold, exp, note = line.split("\t")
        r = {"pred": pred.replace("\\n", "\n"), "gold": gold, "expected": int(exp), "source": "heldout-own-b4"}
        if note:
            r["note"] = note
        rows.append(r)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(HERE.parents[1] / "../shared/data/math"))
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--out", default=str(HERE / "cases_heldout.jsonl"))
    ap.add_argument("--out2", default=str(HERE / "cases_heldout2.jsonl"))
    ap.add_argument("--out3", default=str(HERE / "cases_heldout3.jsonl"))
    ap.add_argument("--out4", default=str(HERE / "cases_heldout4.jsonl"))
    a = ap.parse_args()
    rows = []
    for pred, gold, exp, src, note in TRANSCRIBED:
        r = {"pred": pred, "gold": gold, "expected": exp, "source": src}
        if note:
            r["note"] = note
        rows.append(r)
    for pred, gold, exp, note in OWN:
        r = {"pred": pred, "gold": gold, "expected": exp, "source": H, "note": note}
        rows.append(r)
    rows += generated(Path(a.data), a.seed, {"aime2024": 20, "amc": 30, "math500": 90})
    with open(a.out, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    neg = sum(1 for r in rows if not r["expected"])
    print(f"wrote {len(rows)} cases ({neg} negatives) to {a.out}")
    rows2 = batch2()
    with open(a.out2, "w", encoding="utf-8") as fh:
        for r in rows2:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    neg2 = sum(1 for r in rows2 if not r["expected"])
    print(f"wrote {len(rows2)} cases ({neg2} negatives) to {a.out2}")
    rows3 = batch3()
    with open(a.out3, "w", encoding="utf-8") as fh:
        for r in rows3:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows3)} cases ({sum(1 for r in rows3 if not r['expected'])} negatives) to {a.out3}")
    rows4 = batch4()
    with open(a.out4, "w", encoding="utf-8") as fh:
        for r in rows4:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows4)} cases ({sum(1 for r in rows4 if not r['expected'])} negatives) to {a.out4}")


if __name__ == "__main__":
    main()
