"""Hard limits applied to every answer before and during parsing.

Model output is untrusted; these bounds make the pure-Python parser and evaluator run in
time linear in a small input, and they refuse the classic hangs (exponent towers, huge
factorials, trig of astronomically large arguments) before any arithmetic is attempted.
The subprocess deadline in :mod:`ttrl_math.sandbox` is the second, independent line.
"""

#: Extraction only looks at the last this-many characters of a response.  The final answer
#: sits at the end (TTRL's rollouts are <= 3K tokens, ~12K characters; a reasoning model's
#: answer follows ``</think>``), and extraction is linear in this length, so it is also what
#: bounds extraction time: measured ~30 ms for 32K characters of unclosed ``\[``, ~10x that
#: for 200K (benchmarks/results/hostile.md), which a 64-answer group cannot afford.
MAX_RESPONSE_CHARS = 32_000
MAX_ANSWER_CHARS = 2_000  #: an extracted answer longer than this abstains
MAX_TOKENS = 600  #: token budget of one answer
MAX_DEPTH = 40  #: bracket / recursion nesting
MAX_INT_BITS = 20_000  #: largest exact integer we build (numerator or denominator)
MAX_EXPONENT = 10_000  #: largest |exponent| applied exactly to a rational base
MAX_FLOAT_EXPONENT = 1e6  #: largest |exponent| applied numerically (non-trivial base)
MAX_FACTORIAL = 3_000
MAX_TRIG_ARG = 1e6
MAX_MATRIX_CELLS = 400
MAX_ELEMENTS = 200  #: elements of a tuple / set / list
PRECISION_DPS = 30  #: mpmath working precision (decimal digits)
KEY_DIGITS = 12  #: significant digits of numeric fingerprints used in bucket keys
ANSWER_TIMEOUT_S = 1.0  #: per-answer wall-clock bound in the worker subprocess
#: Wall-clock budget for parsing one group's new answers in the worker.  The per-answer bound
#: alone lets 64 answers crafted to take just under 1 s each hold a step for a minute; once
#: this budget is spent the remaining answers abstain (and are not cached, so a later group
#: parses them again) and the group's stats report ``parse_truncated``.
GROUP_PARSE_S = 2.0
#: The equivalence stage of one group (representatives compared pairwise) stops merging at
#: this wall-clock deadline; the rest stays in canonical-key classes (a missed merge, never
#: a wrong one) and the group's stats report ``equivalence_truncated``.
GROUP_EQUIVALENCE_S = 2.0
#: Time one answer (one representative) may spend being compared with the earlier ones; it
#: also bounds any single comparison.
ANSWER_EQUIVALENCE_S = 0.25
