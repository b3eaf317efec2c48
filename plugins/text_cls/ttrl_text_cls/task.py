"""The ``text_cls`` task: prompt, extraction, grouping by canonical label, grading.

Voting happens in the core estimators: this task only maps every sample to a canonical
label (or ``None`` = abstain), so ``majority``/``soft``/``entropy`` with their
``abstain``/``tie_break``/``min_consensus`` options work unchanged over labels.
"""

from __future__ import annotations

import string
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from ttrl_kit import GroupResult, InputError, KeyedTask
from ttrl_text_cls.extract import Extractor
from ttrl_text_cls.options import TextClsOptions, parse_options


class TextClassificationTask(KeyedTask):
    """Text classification over a fixed label set, configured entirely by options."""

    name = "text_cls"

    def __init__(self, **options: Any) -> None:
        self.options: TextClsOptions = parse_options(options)
        self.labels: tuple[str, ...] = self.options.labels
        self._extractor = Extractor(self.options)

    # -- prompt --------------------------------------------------------------------------
    def prompt_fields(self) -> dict[str, str]:
        """The template placeholders other than ``{text}``."""
        letters = string.ascii_uppercase[: len(self.labels)]
        return {
            "labels": ", ".join(self.labels),
            "options": "\n".join(f"{letters[i]}. {lab}" for i, lab in enumerate(self.labels)),
            "letters": ", ".join(letters),
        }

    def build_prompt(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        field = self.options.text_field
        text = row.get(field) if isinstance(row, Mapping) else None
        if not isinstance(text, str) or not text.strip():
            rid = row.get("id") if isinstance(row, Mapping) else None
            raise InputError(f"row {rid!r}: field {field!r}: expected a non-empty string")
        content = self.options.effective_template.format_map({**self.prompt_fields(), "text": text.strip()})
        messages: list[dict[str, Any]] = []
        if self.options.system:
            messages.append({"role": "system", "content": self.options.system})
        messages.append({"role": "user", "content": content})
        return messages

    # -- gold ----------------------------------------------------------------------------
    def gold_label(self, row: Mapping[str, Any]) -> str | None:
        """The canonical gold label, mapped through ``gold_map`` and the verbalizers;
        an unknown value is returned as text so that it grades as wrong, not as missing."""
        value = row.get(self.options.label_field) if isinstance(row, Mapping) else None
        if value is None or isinstance(value, (list, dict)):
            return None
        return self.normalise_gold(value)

    def normalise_gold(self, value: Any) -> str:
        raw = " ".join(str(value).lower().split())
        if raw in self.options.gold_map:
            return self.options.gold_map[raw]
        lab = self._extractor.label_of(str(value))
        return lab if lab is not None else str(value)

    # -- answers -------------------------------------------------------------------------
    def extract_answer(self, response: str) -> str | None:
        """The final explicit label in a response (see :mod:`ttrl_text_cls.extract`)."""
        try:
            return self._extractor.extract(response)
        except Exception:  # untrusted text: never raise, abstain
            return None

    def canonical_key(self, answer: str) -> Hashable | None:
        return self._extractor.label_of(answer)

    def is_correct(self, answer: str | None, gold: str) -> bool:
        if answer is None or gold is None:
            return False
        a = self._extractor.label_of(answer)
        return a is not None and a == self.normalise_gold(gold)

    # -- reporting -----------------------------------------------------------------------
    def report_metrics(self, results: Sequence[GroupResult]) -> dict[str, float]:
        """Classification metrics for scored groups (flat floats, for an engine's log).

        Engines may call this optional method when a task has it; they need not know the
        plugin.  See :func:`ttrl_text_cls.metrics.group_metrics`.
        """
        from ttrl_text_cls.metrics import group_metrics

        return group_metrics(results, self.labels).flat()
