"""Write our own hard cases (cases_own.jsonl): policies the public suites under-test.

Labels are what a careful human grader would say for a competition answer; each case has
a ``note`` saying why.  Run: python benchmarks/math_equivalence/make_own_cases.py
"""

from __future__ import annotations

import json
from pathlib import Path

R = "The final answer is $\\boxed{%s}$."
CASES = [
    # degrees vs radians
    ("45^\\circ", "\\frac{\\pi}{4}", 1, "degrees equal radians when the other side has pi"),
    ("90^\\circ", "\\frac{\\pi}{2}", 1, "degrees vs radians"),
    ("90", "\\frac{\\pi}{2}", 0, "plain 90 is not pi/2"),
    ("30^\\circ", "30", 1, "degree sign dropped"),
    ("60^{\\circ}", "\\frac{\\pi}{4}", 0, "wrong angle"),
    # percent
    ("28\\%", "28", 1, "percent sign dropped"),
    ("28\\%", "0.28", 0, "fraction vs percent number: different written value"),
    ("12.5\\%", "12.5", 1, "percent with decimals"),
    # units / text
    ("5\\text{ cm}", "5", 1, "unit text"),
    ("5 \\text{ meters}", "5.0", 1, "unit words"),
    ("\\$18.90", "18.9", 1, "currency"),
    ("12 \\text{ inches}", "13", 0, "wrong number with unit"),
    # pi and roots
    ("2\\pi", "6.2832", 1, "4-dp rounding of an irrational"),
    ("2\\pi", "6.28", 1, "2-dp rounding of an irrational"),
    ("2\\pi", "6.3", 0, "policy: a rounded decimal needs >= 2 decimal places (hundredths)"),
    ("\\log 100", "2", 1, "log without a base is base 10"),
    ("\\ln 2", "\\log 2", 0, "natural log is not log base 10"),
    ("2\\pi", "6", 0, "one significant digit is too coarse"),
    ("\\sqrt{2}", "1.4142", 1, "rounded root"),
    ("\\sqrt{2}", "1.41", 1, "rounded root, 3 significant digits"),
    ("\\sqrt{50}", "5\\sqrt{2}", 1, "simplified radical"),
    ("\\frac{\\sqrt{6}}{3}", "\\sqrt{\\frac{2}{3}}", 1, "equivalent radicals"),
    ("3\\sqrt{2}", "2\\sqrt{3}", 0, "different radicals"),
    ("\\pi^2", "9.87", 1, "rounded pi^2"),
    ("\\pi", "3.14159", 1, "rounded pi"),
    ("\\pi", "3", 0, "pi is not 3"),
    # exact decimals: no tolerance
    ("0.125", "0.13", 0, "terminating value must match exactly"),
    ("\\frac{1}{8}", "0.125", 1, "terminating value exact"),
    ("1", "0.999", 0, "integer vs near-integer"),
    ("\\frac{2}{3}", "0.667", 1, "rounded"),
    ("\\frac{2}{3}", "0.666", 0, "truncated, not rounded"),
    ("\\frac{1}{7}", "0.14", 1, "2 significant digits"),
    # equations vs values
    ("y = 2x + 3", "2x+3", 1, "assignment vs expression"),
    ("x = 4", "4", 1, "assignment vs value"),
    ("x + y = 4", "4", 0, "an equation is not its right-hand side"),
    ("y = 2x+3", "2x - y + 3 = 0", 1, "same line"),
    ("y = 2x+3", "y = 3x+2", 0, "different line"),
    ("x^2 + y^2 = 25", "2x^2 + 2y^2 = 50", 1, "equation up to scale"),
    # intervals vs inequalities
    ("(2, \\infty)", "x > 2", 0, "grading policy: an interval gold asks for an interval (as math-verify); voting still merges them"),
    ("x > 2", "(2, \\infty)", 1, "interval for an inequality gold"),
    ("[2, \\infty)", "x > 2", 0, "closed vs open"),
    ("(-\\infty, 3] \\cup [5, \\infty)", "(-\\infty,3]\\cup[5,\\infty)", 1, "spacing"),
    ("(-\\infty, 3] \\cup [5, \\infty)", "(-\\infty, 3) \\cup [5, \\infty)", 0, "endpoint differs"),
    ("1 < x < 4", "(1,4)", 1, "chain inequality"),
    # sets / tuples / lists
    ("\\{1, 2, 3\\}", "\\{3, 2, 1\\}", 1, "sets are unordered"),
    ("(1, 2)", "(2, 1)", 0, "ordered pairs are ordered"),
    ("(3, -1)", "\\left( 3, -1 \\right)", 1, "left/right"),
    ("1, -2", "-2 \\text{ and } 1", 1, "solutions listed with and"),
    ("2, 3", "2, 3, 4", 0, "extra element"),
    ("-3, 3", "\\pm 3", 1, "plus-minus"),
    # matrices
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{bmatrix} 1 \\\\ 2 \\end{bmatrix}", 1, "column vector brackets"),
    ("\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix} 1 & 0 \\\\ 1 & 0 \\end{pmatrix}", 0, "different matrix"),
    ("\\begin{pmatrix} \\frac{1}{2} \\\\ -3 \\end{pmatrix}", "\\begin{pmatrix} 0.5 \\\\ -3 \\end{pmatrix}", 1, "decimal entries"),
    # expressions
    ("\\frac{x^2-1}{x-1}", "x+1", 1, "cancels (identity testing at generic points)"),
    ("(x-1)(x+1)", "x^2-1", 1, "expanded product"),
    ("\\frac{1}{x+1}", "\\frac{1}{x}+1", 0, "different rational function"),
    ("2^{10}", "1024", 1, "power"),
    ("\\log_2 8", "3", 1, "log"),
    ("\\binom{10}{3}", "120", 1, "binomial"),
    ("3.0 \\times 10^{8}", "300000000", 1, "scientific notation"),
    ("6.02 \\times 10^{23}", "6.02e23", 1, "two scientific spellings"),
    ("-\\frac{3}{4}", "\\frac{-3}{4}", 1, "sign placement"),
    ("-\\frac{3}{4}", "\\frac{3}{4}", 0, "sign"),
    ("3+4i", "4i+3", 1, "complex order"),
    ("3+4i", "3-4i", 0, "conjugate"),
    # text / multiple choice / base
    ("\\text{(C)}", "C", 1, "choice letter spelled two ways"),
    ("\\text{even}", "Even", 1, "case of a text answer"),
    ("\\text{even}", "odd", 0, "different text"),
    ("1011_2", "1011_2", 1, "base-2 numeral"),
    ("1011_2", "1011", 0, "base subscript dropped: ambiguous, not accepted"),
    # full responses (extraction)
    ("17", "We compute $3+14$. Therefore the answer is $17$.", 1, "phrase + $"),
    ("17", "After simplifying we get 17.", 1, "last number fallback"),
    ("17", "The answer is **17**.", 1, "markdown bold"),
    ("\\frac{3}{5}", "Thus the probability is $\\frac{3}{5}$, i.e. 0.6 as a decimal.", 1, "equal spellings at the end"),
    ("12", "I first guessed $\\boxed{10}$ but that was wrong; the correct value is $\\boxed{12}$.", 1, "last box"),
    ("12", "So we have \\boxed{10}.", 0, "wrong box"),
    ("204", "Minutes: 204. Final Answer: The final answer is 204. I hope it is correct.", 1, "minerva format"),
    ("\\frac{14}{3}", "$f(-2)+f(-1)+f(0)=2+\\frac{5}{3}+1=\\boxed{\\frac{14}{3}}$", 1, "box after a chain"),
    ("5", "The value is $x=5$.", 1, "assignment inside math"),
    ("25", "The answer is 025.", 1, "leading zeros (AIME)"),
    ("809", "There are \\boxed{809} such $n$.", 1, "AIME style"),
    ("3", "It is a $3$-dimensional object, so the answer is $2$.", 0, "phrase wins over earlier numbers"),
]


def main() -> None:
    out = Path(__file__).with_name("cases_own.jsonl")
    with out.open("w", encoding="utf-8") as fh:
        for gold, pred, exp, note in CASES:
            fh.write(json.dumps({"pred": pred, "gold": gold, "expected": exp, "source": "own", "note": note},
                                ensure_ascii=False) + "\n")
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()
