"""Extraction: boxed (nested), phrases, math segments, last number, strict mode, MCQ."""

from __future__ import annotations

import pytest

from ttrl_math.extract import extract, extract_choice


@pytest.mark.parametrize(
    "text,expected",
    [
        ("so the result is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
        ("first \\boxed{3} then \\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{\\sqrt{2}}{2}"),
        ("nested \\boxed{\\{1, \\{2\\}\\}} end", "\\{1, \\{2\\}\\}"),
        ("answer \\fbox{42}", "42"),
        ("answer \\boxed 7$", "7"),
        ("We get 5. The answer is 12.", "12"),
        ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}"),
        ("Final Answer: The largest $n$ is 34.", "34"),
        ("Thus we find $x = 4$ and then $y = 9$", "y = 9"),
        ("I think it is 7 or maybe 8", "8"),
        ("so the sum is **73**", "73"),
        ("Therefore $x \\geq 5$ is the solution.", "x \\geq 5"),
        ("\\frac{1}{2}", "\\frac{1}{2}"),
        ("x^2+2x+1", "x^2+2x+1"),
        ("1,000.99\u20ac is the price", "1,000.99"),
        ("\\boxed{1} and \\boxed{2}", "1 and 2"),
        ("\\boxed{1} no no no no no \\boxed{2}", "2"),
        ("blah \\boxed{255} more text. Final Answer: The final answer is $10,455$. I hope it is correct.", "10,455"),
        ("Answer: Step 1 compute 3+4 and then we get $7$.", "7"),
        ("The answer is 5 apples.", "5"),
        ("The answer is 5 because 2+3=5.", "5"),
        ("so 6*7=42\n#### 42", "42"),
        ("\\boxed{The answer is 4}", "4"),
        ("We get $x=3$. Therefore, there are 12 distinct sequences. I hope it is correct. <|im_start|>user", "12"),
        ("W(x)=1orW(x)=-1", "W(x)=1 or W(x)=-1"),
        ("hmm", None),
        ("?", None),
        ("Evelyn", "Evelyn"),
        ("p - q", "p - q"),
        ("no digits at all here, sorry", None),
        ("", None),
    ],
)
def test_extract(text, expected):
    assert extract(text) == expected


def test_strict_boxed_mode():
    assert extract("The answer is 12.", mode="boxed") is None
    assert extract("so \\boxed{12}.", mode="boxed") == "12"


def test_think_block_is_skipped():
    assert extract("<think>maybe \\boxed{3}</think> The answer is \\boxed{4}") == "4"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The answer is (C).", "C"),
        ("a car travels at a speed; the correct option is B", "B"),
        ("A reasonable guess: \\boxed{D}", "D"),
        ("I pick a number and a letter: a", None),
        ("Answer: A", "A"),
        ("a", None),
        ("E", None),  # not among the declared choices
    ],
)
def test_choice_letters(text, expected):
    assert extract_choice(text, "ABCD") == expected
