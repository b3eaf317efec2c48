"""Hook implementations only: the math plugin's whole contact surface with ttrl-kit."""

from __future__ import annotations

import re
from fractions import Fraction

from ttrl_kit import KeyedTask, hookimpl

_NUM = re.compile(r"-?\d+(?:\.\d+)?")
PROMPT_SUFFIX = "Please reason step by step, and put your final answer within \\boxed{}."


class MathTask(KeyedTask):
    """Placeholder numeric task (last number, compared as an exact rational)."""

    name = "math"

    def build_prompt(self, row):
        return [{"role": "user", "content": f"{row['prompt']}\n{PROMPT_SUFFIX}"}]

    def gold_label(self, row):
        ans = row.get("answer")
        return None if ans is None else str(ans)

    def extract_answer(self, response):
        nums = _NUM.findall(response[-10000:])
        return nums[-1] if nums else None

    def canonical_key(self, answer):
        m = _NUM.fullmatch(answer.strip())
        return Fraction(m.group(0)) if m else None


@hookimpl
def register_tasks(register):
    register("math", MathTask, "math word problems: numeric answers")


@hookimpl
def register_datasets(register):
    from ttrl_math.arithmetic import load_arithmetic

    register("arithmetic", load_arithmetic, "seeded synthetic arithmetic questions (offline demo task)")
