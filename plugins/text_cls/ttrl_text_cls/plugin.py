"""Hook implementations only: the text_cls plugin's whole contact surface with ttrl-kit."""

from __future__ import annotations

import re

from ttrl_kit import KeyedTask, hookimpl


class TextClassificationTask(KeyedTask):
    """Placeholder: the last label word in the response is the answer."""

    name = "text_cls"

    def __init__(self, labels=("positive", "negative")):
        self.labels = tuple(str(x).lower() for x in labels)
        self._re = re.compile(r"\b(" + "|".join(map(re.escape, self.labels)) + r")\b", re.I)

    def build_prompt(self, row):
        return [{"role": "user", "content": f"{row['text']}\nAnswer with one of: {', '.join(self.labels)}."}]

    def gold_label(self, row):
        return row.get("label")

    def extract_answer(self, response):
        found = self._re.findall(response)
        return found[-1].lower() if found else None

    def canonical_key(self, answer):
        a = answer.strip().lower()
        return a if a in self.labels else None


@hookimpl
def register_tasks(register):
    register("text_cls", TextClassificationTask, "text classification by label voting")
