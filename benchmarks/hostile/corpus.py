"""Hostile model outputs: a seeded generator of answers written to hang, crash or execute.

Every task plugin must take each of these through extraction, grouping and grading in
bounded time, without an exception and without running anything.  ``generate("full")`` is
what ``benchmarks/hostile/run.py`` measures; ``generate("ci")`` is the same categories at
sizes the test-suite can afford on every run (``tests/test_hostile_corpus.py``).

Categories (``Case.category``):

* ``unclosed``   unclosed ``\\(``, ``\\[``, ``{``, ``$``, ``$$``, ``\\boxed{``, ``\\left(``, environments,
                 repeated up to 200 KB (the lazy-regex quadratic blow-ups of issue 12);
* ``huge``       1 MB answers: digits, letters, blanks, newlines, one giant box, many boxes;
* ``nested``     10,000-deep braces, parentheses, brackets, ``\\frac{``, ``\\sqrt{``, ``^{``;
* ``tower``      exponent towers, huge factorials / binomials, trig of astronomic arguments;
* ``container``  sets, tuples, matrices and interval unions far beyond the parser's limits;
* ``unicode``    lone surrogates, BOM, bidi and zero-width marks, full-width digits, combining marks;
* ``control``    NUL and every other C0 control character, inside and outside boxes;
* ``macro``      TeX macro definitions, recursive macros, ``\\input``, ``\\write18``;
* ``code``       Python / shell / template payloads that would create the *canary* file if
                 anything evaluated them (the caller checks that it never appears);
* ``random``     seeded random mixtures of LaTeX tokens, digits and unicode (fuzzing).

The generator is plain Python (no project imports), so the benchmark and the tests share it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

SCALES = {
    # scale: (KB for "unclosed", MB for "huge", nesting depth, container size, random cases)
    "full": (200, 1.0, 10_000, 50_000, 400),
    "ci": (20, 0.1, 2_000, 5_000, 40),
}


@dataclass(frozen=True)
class Case:
    category: str
    name: str
    text: str


def _unclosed(kb: int) -> list[Case]:
    n = kb * 1000
    openers = {
        "paren": "\\(", "bracket": "\\[", "brace": "{", "dollar": "$", "dollars": "$$",
        "boxed": "\\boxed{", "left": "\\left(", "env": "\\begin{pmatrix}", "text": "\\text{", "frac": "\\frac{",
    }
    out = []
    for name, op in openers.items():
        body = (op + " x ") * (n // (len(op) + 3))
        out.append(Case("unclosed", f"{name}-repeated", body))
        out.append(Case("unclosed", f"{name}-once-then-text", op + "y " * (n // 2)))
        out.append(Case("unclosed", f"{name}-then-answer", body[: n // 2] + " The answer is \\boxed{7}."))
        out.append(Case("unclosed", f"{name}-lines", ((op + " a b ") * 20 + "\n") * (n // (20 * (len(op) + 5)))))
    out.append(Case("unclosed", "answer-phrase-blanks", "answer" + " " * n + "x"))
    out.append(Case("unclosed", "boxed-blanks", "\\boxed{" + " " * n))
    out.append(Case("unclosed", "newlines", "\n" * n))
    out.append(Case("unclosed", "phrase-dollars", "The answer is " + "$x$. " * (n // 5)))
    out.append(Case("unclosed", "box-gap-letters", "\\boxed{1}" + "a" * n + "\\boxed{2}"))
    out.append(Case("unclosed", "many-boxes-and-words", ("\\boxed{1} and " + "then " * 30) * (n // 160)))
    out.append(Case("unclosed", "choice-blanks", "answer:" + " " * n + "**" + " " * n))
    return out


def _huge(mb: float) -> list[Case]:
    n = int(mb * 1_000_000)
    return [
        Case("huge", "digits", "1" * n),
        Case("huge", "letters", "x" * n),
        Case("huge", "blanks", " " * n),
        Case("huge", "giant-box", "\\boxed{" + "1" * n + "}"),
        Case("huge", "many-boxes", "\\boxed{1} " * (n // 10)),
        Case("huge", "numbers", " ".join(str(i) for i in range(n // 7))),
        Case("huge", "dollars", "$" * n),
        Case("huge", "backslashes", "\\" * n),
        Case("huge", "fraction-digits", "\\boxed{\\frac{" + "9" * (n // 2) + "}{" + "7" * (n // 2) + "}}"),
    ]


def _nested(depth: int) -> list[Case]:
    d = depth
    return [
        Case("nested", "braces", "{" * d + "1" + "}" * d),
        Case("nested", "boxed-braces", "\\boxed{" + "{" * d + "1" + "}" * d + "}"),
        Case("nested", "parens", "\\boxed{" + "(" * d + "1" + ")" * d + "}"),
        Case("nested", "brackets", "\\boxed{" + "[" * d + "1" + "]" * d + "}"),
        Case("nested", "frac", "\\boxed{" + "\\frac{1}{" * d + "2" + "}" * d + "}"),
        Case("nested", "sqrt", "\\boxed{" + "\\sqrt{" * d + "2" + "}" * d + "}"),
        Case("nested", "powers", "\\boxed{" + "x^{" * d + "2" + "}" * d + "}"),
        Case("nested", "unbalanced-open", "\\boxed{" + "(" * d),
        Case("nested", "boxes-in-boxes", "\\boxed{" * d + "1" + "}" * d),
        Case("nested", "tuples", "\\boxed{(1" + ",(1" * min(d, 5000) + ")" * (min(d, 5000) + 1) + "}"),
    ]


def _towers() -> list[Case]:
    towers = [
        "2^{2^{2^{2^{2^{2^{2}}}}}}", "10^{10^{10^{10}}}", "9^{9^{9^{9}}}", "9^9^9^9", "10**10**10**10",
        "2^" * 60 + "2", "e^{e^{e^{100}}}", "(10^{100})!", "100000!", "10^{10}!", "\\binom{10^{9}}{5\\cdot10^{8}}",
        "\\sin(10^{100})", "\\tan(10^{10^{10}})", "1e999999999", "10^{-10^{10}}", "\\sqrt[10^{10}]{2}",
        "\\left(1+\\frac{1}{10^{100}}\\right)^{10^{100}}", "\\sum_{k=1}^{10^{12}} k", "\\prod_{k=1}^{10^{9}} k",
        "(-1)^{1/3}^{10^{9}}", "0^0^0^0", "\\frac{1}{0}", "\\frac{0}{0}", "\\log 0", "\\infty^{\\infty}",
        "i^{i^{i^{i}}}", "\\Gamma(10^{10})", "2\\uparrow\\uparrow 10", "10^{" + "9" * 5000 + "}",
        "1" + "0" * 100_000, "0." + "3" * 100_000, "\\frac{" + "1" * 3000 + "}{" + "3" * 3000 + "}",
    ]
    out = []
    for i, t in enumerate(towers):
        out.append(Case("tower", f"bare-{i}", t))
        out.append(Case("tower", f"boxed-{i}", f"So the result is \\boxed{{{t}}}."))
    return out


def _matrix(row: str, rows: int) -> str:
    return "\\boxed{\\begin{pmatrix}" + " \\\\ ".join(row for _ in range(rows)) + "\\end{pmatrix}}"


def _containers(size: int) -> list[Case]:
    s200 = ", ".join(str(i) for i in range(200))
    big = ", ".join(str(i) for i in range(size))
    side = max(2, int(size ** 0.5))
    row = " & ".join("1" for _ in range(side))
    return [
        Case("container", "set-200", "\\boxed{\\{" + s200 + "\\}}"),
        Case("container", "set-201", "\\boxed{\\{" + s200 + ", 200\\}}"),
        Case("container", "set-huge", "\\boxed{\\{" + big + "\\}}"),
        Case("container", "tuple-huge", "\\boxed{(" + big + ")}"),
        Case("container", "list-huge", "\\boxed{" + big + "}"),
        Case("container", "set-of-decimals", "\\boxed{\\{" + ", ".join(f"0.{i:03d}" for i in range(200)) + "\\}}"),
        Case("container", "set-of-roots", "\\boxed{\\{" + ", ".join(f"\\sqrt{{{i}}}" for i in range(2, 202)) + "\\}}"),
        Case("container", "matrix-20", _matrix(" & ".join("1" for _ in range(20)), 20)),
        Case("container", "matrix-huge", _matrix(row, side)),
        Case("container", "union-huge", "\\boxed{" + " \\cup ".join(f"({i}, {i + 1})" for i in range(min(size, 5000))) + "}"),
        Case("container", "assignments", "\\boxed{" + ", ".join(f"x_{{{i}}} = {i}" for i in range(min(size, 5000))) + "}"),
    ]


def _unicode() -> list[Case]:
    return [
        Case("unicode", "lone-high", "\ud800"),
        Case("unicode", "lone-low-boxed", "\\boxed{\udc00}"),
        Case("unicode", "surrogate-mix", "\ud800\udfff lone \udc00 surrogates \\boxed{\ud834} = 1"),
        Case("unicode", "surrogates-many", "\ud800" * 100_000 + "\\boxed{3}"),
        Case("unicode", "bom", "\ufeff\\boxed{\ufeff4}"),
        Case("unicode", "bidi", "\u202e\\boxed{21}\u202c the answer is \u2067 12 \u2069"),
        Case("unicode", "zero-width", "\\boxed{1\u200b2\u200d3\ufeff}"),
        Case("unicode", "fullwidth", "答案是 \uff11\uff12\uff13"),
        Case("unicode", "combining", "\\boxed{1" + "\u0301" * 10_000 + "}"),
        Case("unicode", "astral", "\\boxed{\U0001d7d9\U0001d7da}" + "\U0001f600" * 10_000),
        Case("unicode", "private-use", "\ue000\uf8ff\\boxed{\U000f0000}"),
    ]


def _control() -> list[Case]:
    c0 = "".join(chr(i) for i in range(32))
    return [
        Case("control", "nul-in-box", "\x00\x01\x02 \\boxed{\x00}"),
        Case("control", "nul-digits", "\\boxed{1\x002}"),
        Case("control", "all-c0", c0 * 100 + "\\boxed{5}" + c0),
        Case("control", "nul-flood", "\x00" * 100_000),
        Case("control", "del-and-c1", "\x7f\x80\x9f \\boxed{\x85 6}"),
        Case("control", "carriage-returns", "The answer is\r\r\r 8\r\n\\boxed{8\r}"),
    ]


def _macros(canary: Path) -> list[Case]:
    return [
        Case("macro", "def-recursive", "\\def\\x{\\x\\x}\\x \\boxed{\\x}"),
        Case("macro", "newcommand-bomb", "\\newcommand{\\a}{\\a\\a}\\boxed{\\a}"),
        Case("macro", "let", "\\let\\boxed\\relax \\boxed{3}"),
        Case("macro", "input", "\\boxed{\\input{/etc/passwd}}"),
        Case("macro", "include", "\\include{/etc/shadow} \\boxed{1}"),
        Case("macro", "write18", f"\\immediate\\write18{{touch {canary}}} \\boxed{{2}}"),
        Case("macro", "catcode", "\\catcode`\\{=12 \\boxed{{1}"),
        Case("macro", "expandafter", "\\expandafter" * 10_000 + "\\boxed{1}"),
        Case("macro", "csname", "\\boxed{\\csname " + "a" * 10_000 + "\\endcsname}"),
    ]


def _code(canary: Path) -> list[Case]:
    c = str(canary)
    payloads = [
        f"__import__('os').system('touch {c}')",
        f"__import__('pathlib').Path('{c}').touch()",
        f"open('{c}', 'w').write('x')",
        f"eval(\"open('{c}','w')\")",
        f"exec(\"open('{c}','w')\")",
        f"(lambda: __import__('os').system('touch {c}'))()",
        f"[x for x in ().__class__.__base__.__subclasses__() if x.__name__ == 'Popen'][0](['touch', '{c}'])",
        f"$(touch {c})",
        f"`touch {c}`",
        f"; touch {c}; echo",
        "{{ cycler.__init__.__globals__.os.popen('touch " + c + "') }}",
        "${jndi:ldap://x/" + c + "}",
        f"Function('f')(Symbol('x')).subs(x, __import__('os').system('touch {c}'))",
        f"sympify(\"__import__('os').system('touch {c}')\")",
        f"\\boxed{{__import__('os').system('touch {c}')}}",
        f"The answer is $__import__('os').system('touch {c}')$",
        f"```python\nimport os; os.system('touch {c}')\n```\n\\boxed{{1}}",
        f"\\boxed{{\\text{{{c}}}}}",
    ]
    return [Case("code", f"payload-{i}", p) for i, p in enumerate(payloads)]


_TOKENS = list("0123456789+-*/^_{}()[]|=<>,.;:!\\$ xyzabce%&'\n") + [
    "\\frac", "\\sqrt", "\\boxed{", "\\left(", "\\right)", "\\pi", "\\begin{pmatrix}", "\\end{pmatrix}", "\\\\",
    "\\text{", "\\infty", "\\cup", "\\le", "\\pm", "^{", "\\circ", "\\%", " and ", "\\(", "\\)", "\\[", "\\]",
    "$$", "The answer is ", "Final Answer: ", "</think>", "**", "\ud800", "\x00", "答案是", "(A)", "answer: B",
    "positive", "negative", "\\dfrac", "\\sin", "10^{10^{", "!", "\\{", "\\}", "e^{", "i", "\\cdot", "\\times",
]


def _random(count: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        n = rng.choice([5, 20, 80, 400, 3000])
        text = "".join(rng.choice(_TOKENS) for _ in range(n))
        out.append(Case("random", f"mix-{i}", text))
    return out


def generate(scale: str = "full", *, canary: Path, seed: int = 0) -> list[Case]:
    """Every hostile case at ``scale`` (``full`` or ``ci``); code payloads aim at ``canary``."""
    kb, mb, depth, size, n_random = SCALES[scale]
    return (_unclosed(kb) + _huge(mb) + _nested(depth) + _towers() + _containers(size) + _unicode()
            + _control() + _macros(canary) + _code(canary) + _random(n_random, seed))


def set_group(n: int = 64, size: int = 200) -> list[str]:
    """``n`` responses, each a distinct ``size``-element set (issue 12: 64 distinct 200-element
    sets took over 100 s to group before the set comparison was bounded)."""
    return ["The answer is \\boxed{\\{" + ", ".join(str(g * 7 + i) for i in range(size)) + "\\}}" for g in range(n)]


def near_set_group(n: int = 64, size: int = 200) -> list[str]:
    """Sets that differ from each other in one element: the worst case for element matching."""
    return ["\\boxed{\\{" + ", ".join(str(i if i != g else 1000 + g) for i in range(size)) + "\\}}" for g in range(n)]
