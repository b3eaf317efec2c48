"""Hook implementations only: the multimodal plugin's whole contact surface with ttrl-kit."""

from __future__ import annotations

import re

from ttrl_kit import KeyedTask, hookimpl

_TOKEN = re.compile(r"\b([A-D]|\d+)\b")


class VisualQATask(KeyedTask):
    """Placeholder: last option letter or integer in the response."""

    name = "multimodal"

    def build_prompt(self, row):
        return [{"role": "user", "content": [{"type": "image", "image": row.get("image")}, {"type": "text", "text": row["question"]}]}]

    def gold_label(self, row):
        return row.get("answer")

    def extract_answer(self, response):
        found = _TOKEN.findall(response)
        return found[-1] if found else None

    def canonical_key(self, answer):
        return answer.strip().upper() or None


@hookimpl
def register_tasks(register):
    register("multimodal", VisualQATask, "vision-language questions: counts, choices, short answers")
