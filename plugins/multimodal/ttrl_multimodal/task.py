"""The ``multimodal`` task: prompts with images, typed answers, voting by answer kind.

Why voting is split by kind: a vision-language group mixes counts ("3", "three",
"3 circles"), option letters ("B", "(B)", "option B"), LaTeX values in geometry
("2\\sqrt{3}") and short phrases ("red").  Each kind has its own notion of "same answer", and
two of them already exist in other plugins: numbers and LaTeX in the ``math`` task, labels in
the ``text_cls`` task.  This task types every answer (:func:`answer_kind`), hands each kind's
answers to the task that knows it (looked up by name in the plugin registry at run time, so
this plugin never imports another plugin), and merges the per-kind classes back into one
partition numbered by first appearance.  When a delegate task is not installed the built-in
rule for that kind is used (exact rational for numbers, normalised text for LaTeX and
letters) and a one-line warning says so once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from ttrl_kit import AnswerClasses, ConfigError, get_registry, group_by_key
from ttrl_multimodal.extract import answer_kind, extract_span, normalise_phrase, number_key
from ttrl_multimodal.images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, check_pixel_budget
from ttrl_multimodal.prompts import (
    OPTION_LETTERS,
    SUFFIXES,
    build_messages,
    format_choices,
    load_row_images,
    row_choices,
    row_name,
    row_question,
)

log = logging.getLogger("ttrl_multimodal")

ANSWER_TYPES = ("auto", "number", "choice", "math", "text")
Grouper = Callable[[Sequence[str | None]], AnswerClasses]


class _Delegate:
    """A grouping function borrowed from another task, resolved lazily and at most once."""

    def __init__(self, kind: str, task_name: str | None, options: Mapping[str, Any], fallback: Grouper) -> None:
        self.kind, self.task_name, self.options, self.fallback = kind, task_name, dict(options), fallback
        self._group: Grouper | None = None
        self.source = "builtin"
        self._lock = threading.Lock()

    def resolve(self) -> Grouper:
        with self._lock:
            if self._group is not None:
                return self._group
            self._group = self.fallback
            if self.task_name:
                try:
                    task = get_registry().task(self.task_name, **self.options)
                    self._group = task.group_answers
                    self.source = f"task:{self.task_name}"
                except Exception as exc:  # absent or unbuildable: degrade, say so once
                    msg = " ".join(str(exc).split())[:300]
                    log.warning(
                        "multimodal: %s answers use the built-in comparison because task %r is unavailable (%s)",
                        self.kind,
                        self.task_name,
                        msg,
                    )
            return self._group

    def __call__(self, answers: Sequence[str | None]) -> AnswerClasses:
        group = self.resolve()
        if group is self.fallback:
            return group(answers)
        try:
            return group(answers)
        except Exception as exc:  # a delegate bug must not take voting down
            log.warning(
                "multimodal: task %r failed while grouping (%s); built-in comparison used",
                self.task_name,
                " ".join(str(exc).split())[:200],
            )
            return self.fallback(answers)


def _builtin_numeric(answers: Sequence[str | None]) -> AnswerClasses:
    """Without the math task: exact rationals for plain numbers, whitespace-normalised text for LaTeX."""

    def key(a: str) -> Hashable | None:
        value = number_key(a)
        if value is not None:
            return ("n", value)
        text = " ".join(a.replace("$", "").split())
        return ("t", text) if text else None

    return group_by_key(answers, key)


def _builtin_letters(answers: Sequence[str | None]) -> AnswerClasses:
    return group_by_key(answers, lambda a: a.strip().upper() or None)


class VisualQATask:
    """Vision-language questions with count, option-letter, LaTeX or short-phrase answers.

    Options (``--task-option k=v`` or ``task.options`` in a run config):

    - ``prompt_style``: ``boxed`` (default, MM-UPT), ``short``, ``letter`` (TTRV), ``r1v``, ``none``;
      ``suffix`` overrides the instruction text; ``system`` adds a system turn.
    - ``answer_type``: ``auto`` (default: typed per answer), or force ``number``/``choice``/``math``/``text``.
    - ``strict``: only ``\\boxed{}`` / ``<answer>`` answers count (TTRL's training-time rule).
    - ``min_pixels`` / ``max_pixels``: image budget for :func:`smart_resize` (defaults as Qwen2-VL's
      processor; MM-UPT uses 262144 / 1204224); ``max_images`` per row (default 8).
    - ``number_task`` (default ``math``) and ``choice_task`` (default ``text_cls``): which
      registered tasks group numbers/LaTeX and letters; ``none`` uses the built-in rules.
    """

    name = "multimodal"

    def __init__(
        self,
        prompt_style: str = "boxed",
        suffix: str | None = None,
        system: str | None = None,
        answer_type: str = "auto",
        strict: bool = False,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_images: int = 8,
        number_task: str | None = "math",
        choice_task: str | None = "text_cls",
    ) -> None:
        if prompt_style not in SUFFIXES:
            raise ConfigError(f"multimodal: unknown prompt_style {prompt_style!r}; known: {', '.join(SUFFIXES)}")
        if answer_type not in ANSWER_TYPES:
            raise ConfigError(f"multimodal: unknown answer_type {answer_type!r}; known: {', '.join(ANSWER_TYPES)}")
        if not isinstance(strict, bool):
            raise ConfigError(f"multimodal: strict must be true or false, got {strict!r}")
        if not isinstance(max_images, int) or isinstance(max_images, bool) or max_images < 1:
            raise ConfigError(f"multimodal: max_images must be a positive integer, got {max_images!r}")
        self.prompt_style = prompt_style
        self.suffix = SUFFIXES[prompt_style] if suffix is None else str(suffix)
        self.system = system
        self.answer_type = answer_type
        self.strict = strict
        self.min_pixels, self.max_pixels = check_pixel_budget(min_pixels, max_pixels)
        self.max_images = max_images

        def _name(v: Any) -> str | None:
            return None if v in (None, "", "none", "None") else str(v)

        # Numbers and LaTeX go to the same grouping so that "3" and "x = 3" or "0.5" and
        # "\frac{1}{2}" can meet: the math task owns both.
        self._numbers = _Delegate("number", _name(number_task), {}, _builtin_numeric)
        self._letters = _Delegate("choice", _name(choice_task), {"labels": list(OPTION_LETTERS)}, _builtin_letters)

    # -- prompts -------------------------------------------------------------------------------
    def build_prompt(self, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Messages with opened, RGB, smart-resized PIL images (see :mod:`ttrl_multimodal.prompts`)."""
        question = row_question(row)
        choices = row_choices(row)
        if choices:
            question = f"{question}\n{format_choices(choices)}"
        images = load_row_images(
            row, min_pixels=self.min_pixels, max_pixels=self.max_pixels, max_images=self.max_images
        )
        return build_messages(question, images, suffix=self.suffix, system=self.system, where=row_name(row))

    def gold_label(self, row: Mapping[str, Any]) -> str | None:
        """The row's answer for reporting; an option text is mapped to its letter when choices exist."""
        for field in ("answer", "gold", "label"):
            value = row.get(field)
            if value is None:
                continue
            if isinstance(value, list):  # e.g. VQA answer lists: the first is the reference
                value = value[0] if value else None
                if value is None:
                    continue
            text = str(value).strip()
            choices = row_choices(row)
            if choices and text in choices:
                return OPTION_LETTERS[choices.index(text)]
            return text
        return None

    # -- answers -------------------------------------------------------------------------------
    def extract_answer(self, response: str) -> str | None:
        return extract_span(response, strict=self.strict)

    def typed(self, answer: str | None) -> tuple[str, str] | None:
        if answer is None:
            return None
        try:
            return answer_kind(answer, answer_type=self.answer_type)
        except Exception:
            return None

    def group_answers(self, answers: Sequence[str | None]) -> AnswerClasses:
        """Type each answer, group each kind with its delegate, merge by first appearance."""
        typed = [self.typed(a) for a in answers]
        by_kind: dict[str, list[int]] = {}
        for i, t in enumerate(typed):
            if t is not None:
                by_kind.setdefault("numeric" if t[0] in ("number", "math") else t[0], []).append(i)
        local_class: dict[int, tuple[str, int]] = {}
        for kind, idxs in by_kind.items():
            texts = [typed[i][1] for i in idxs]  # type: ignore[index]
            sub = self._grouper(kind)(texts)
            for i, c in zip(idxs, sub.class_of):
                if c is not None:
                    local_class[i] = (kind, c)
        global_of: dict[tuple[str, int], int] = {}
        reps: list[str] = []
        class_of: list[int | None] = []
        for i, a in enumerate(answers):
            key = local_class.get(i)
            if key is None:
                class_of.append(None)
                continue
            c = global_of.get(key)
            if c is None:
                c = len(reps)
                global_of[key] = c
                reps.append(a)  # type: ignore[arg-type]
            class_of.append(c)
        return AnswerClasses(class_of=tuple(class_of), representatives=tuple(reps))

    def _grouper(self, kind: str) -> Grouper:
        if kind == "numeric":
            return self._numbers
        if kind == "choice":
            return self._letters
        return lambda texts: group_by_key(texts, normalise_phrase)

    def is_correct(self, answer: str | None, gold: str) -> bool:
        if answer is None or gold is None:
            return False
        classes = self.group_answers([answer, str(gold)])
        return classes.class_of[0] is not None and classes.class_of[0] == classes.class_of[1]

    def delegates(self) -> dict[str, str]:
        """Which implementation groups each kind (``task:math``, ``builtin``): for run logs."""
        for d in (self._numbers, self._letters):
            d.resolve()
        return {"numeric": self._numbers.source, "choice": self._letters.source, "text": "builtin"}
