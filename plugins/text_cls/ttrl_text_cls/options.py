"""Task options for text classification, validated once when the task is built.

Options come from ``--task-option k=v``, ``--task-config FILE`` or the ``task.options``
mapping of a run config.  Everything is checked here so that a typo in a config fails at
start-up with one line naming the option, instead of silently making every sample abstain
in the middle of a training run.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ttrl_kit import ConfigError

DEFAULT_TEMPLATE = (
    "Classify the following text. Possible labels: {labels}.\n\nText: {text}\n\nAnswer with just the label."
)
"""Default prompt for label mode: ``{labels}`` is the comma-separated label list."""

DEFAULT_LETTER_TEMPLATE = (
    "Classify the following text by choosing one option.\n\n"
    "Text: {text}\n\n"
    "Options:\n{options}\n\n"
    "Answer with just the option letter."
)
"""Default prompt for option-letter mode: ``{options}`` is one ``A. label`` line per label."""

#: Placeholders a template may use.
TEMPLATE_FIELDS = ("text", "labels", "options", "letters")

#: Phrases after which the next label mention is the answer ("Sentiment: positive").
DEFAULT_CUES = (
    "final answer",
    "the answer is",
    "answer is",
    "answer",
    "label",
    "sentiment",
    "classification",
    "category",
    "class",
    "prediction",
    "predicted label",
    "verdict",
    "option",
    "choice",
    "i would classify it as",
    "i would classify this as",
    "classified as",
    "classify it as",
    "classify this as",
    "i choose",
    "i pick",
    "i'd say",
    "i would say",
    "overall",
    "so it is",
    "therefore",
    "so the answer is",
)

#: Explicit answers that are not labels: a response whose final answer is one of these
#: abstains rather than letting an earlier label mention vote ("neutral, with no strong
#: negative feelings" is not a vote for anything).  Labels and verbalizers take precedence.
DEFAULT_ABSTAIN_WORDS = ("neutral", "mixed", "unclear", "ambiguous", "undetermined", "cannot be determined")

_MAX_LABELS = 26  # option letters A..Z
_MAX_PHRASE_CHARS = 64


def _norm_phrase(text: str) -> str:
    """Lower-case and collapse whitespace: the form in which verbalizers are matched."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class TextClsOptions:
    """The validated options of a ``text_cls`` task.

    ``labels``: canonical label names, in order (this order is the letter order and the
    metrics order).  ``verbalizers``: extra words/phrases per label; the label name itself
    is always a verbalizer.  ``letters``: option-letter mode (A, B, ... in label order are
    listed in the prompt and accepted as answers).  ``gold_map``: raw gold values (e.g. the
    integers of a hub dataset, or ``fresh``/``rotten``) to canonical labels.
    """

    labels: tuple[str, ...] = ("positive", "negative")
    verbalizers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    letters: bool = False
    template: str | None = None
    system: str | None = None
    text_field: str = "text"
    label_field: str = "label"
    gold_map: Mapping[str, str] = field(default_factory=dict)
    cues: tuple[str, ...] = DEFAULT_CUES
    extra_cues: tuple[str, ...] = ()
    negation_complement: bool = False
    abstain_words: tuple[str, ...] = DEFAULT_ABSTAIN_WORDS
    max_chars: int = 8000

    @property
    def effective_template(self) -> str:
        if self.template is not None:
            return self.template
        return DEFAULT_LETTER_TEMPLATE if self.letters else DEFAULT_TEMPLATE

    @property
    def letter_of(self) -> dict[str, str]:
        """Canonical label -> option letter (only meaningful in letter mode)."""
        return {lab: string.ascii_uppercase[i] for i, lab in enumerate(self.labels)}


_KNOWN = {
    "labels",
    "verbalizers",
    "letters",
    "template",
    "system",
    "text_field",
    "label_field",
    "gold_map",
    "cues",
    "extra_cues",
    "negation_complement",
    "abstain_words",
    "max_chars",
}


def _str_list(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        # "a,b,c" from --task-option labels=positive,negative
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"text_cls option {name}: expected a list of strings, got {type(value).__name__}")
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, str) or not v.strip():
            raise ConfigError(f"text_cls option {name}[{i}]: expected a non-empty string, got {v!r}")
        if len(v) > _MAX_PHRASE_CHARS:
            raise ConfigError(f"text_cls option {name}[{i}]: longer than {_MAX_PHRASE_CHARS} characters")
        out.append(_norm_phrase(v))
    return tuple(out)


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise ConfigError(f"text_cls option {name}: expected true/false, got {value!r}")


def _opt_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"text_cls option {name}: expected a string, got {type(value).__name__}")
    return value


def _check_template(template: str, letters: bool) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"text_cls option template: invalid format string ({exc})") from None
    for f in names:
        if f not in TEMPLATE_FIELDS:
            raise ConfigError(
                f"text_cls option template: unknown placeholder {{{f}}}; known: "
                + ", ".join("{" + x + "}" for x in TEMPLATE_FIELDS)
                + " (write {{ and }} for literal braces)"
            )
    if "text" not in names:
        raise ConfigError("text_cls option template: must contain the {text} placeholder")
    if letters and "options" not in names and "letters" not in names:
        raise ConfigError("text_cls option template: letter mode needs {options} (or {letters}) in the template")


def parse_options(raw: Mapping[str, Any]) -> TextClsOptions:
    """Validate user options into :class:`TextClsOptions`, with one-line :class:`ConfigError` s."""
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ConfigError(f"text_cls: unknown option {unknown[0]!r}; known options: {', '.join(sorted(_KNOWN))}")
    labels = _str_list(raw.get("labels", ("positive", "negative")), "labels")
    if len(labels) < 2:
        raise ConfigError("text_cls option labels: need at least two labels")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"text_cls option labels: duplicate label in {list(labels)}")
    letters = _bool(raw.get("letters", False), "letters")
    if letters and len(labels) > _MAX_LABELS:
        raise ConfigError(f"text_cls option letters: at most {_MAX_LABELS} labels in letter mode")

    verb_raw = raw.get("verbalizers") or {}
    if not isinstance(verb_raw, Mapping):
        raise ConfigError("text_cls option verbalizers: expected a mapping label -> list of words")
    owner: dict[str, str] = {}
    for lab in labels:
        owner[lab] = lab
    verbalizers: dict[str, tuple[str, ...]] = {}
    for key, words in verb_raw.items():
        lab = _norm_phrase(str(key))
        if lab not in labels:
            raise ConfigError(f"text_cls option verbalizers: {key!r} is not one of the labels {list(labels)}")
        phrases = _str_list(words, f"verbalizers.{key}")
        for p in phrases:
            if p in owner and owner[p] != lab:
                raise ConfigError(
                    f"text_cls option verbalizers.{key}: {p!r} already means {owner[p]!r}; a word can map to one label only"
                )
            owner[p] = lab
        verbalizers[lab] = tuple(dict.fromkeys(phrases))
    if letters:
        for p, lab in owner.items():
            if len(p) == 1 and p.upper() in string.ascii_uppercase[: len(labels)]:
                raise ConfigError(f"text_cls option verbalizers: {p!r} clashes with an option letter in letter mode")

    gold_raw = raw.get("gold_map") or {}
    if not isinstance(gold_raw, Mapping):
        raise ConfigError("text_cls option gold_map: expected a mapping raw value -> label")
    gold_map: dict[str, str] = {}
    for k, v in gold_raw.items():
        if not isinstance(v, str) or _norm_phrase(v) not in labels:
            raise ConfigError(f"text_cls option gold_map: value for {k!r} must be one of {list(labels)}, got {v!r}")
        gold_map[_norm_phrase(str(k))] = _norm_phrase(v)

    template = _opt_str(raw.get("template"), "template")
    if template is not None:
        _check_template(template, letters)
    for name in ("text_field", "label_field"):
        v = raw.get(name, "text" if name == "text_field" else "label")
        if not isinstance(v, str) or not v:
            raise ConfigError(f"text_cls option {name}: expected a non-empty string, got {v!r}")
    max_chars = raw.get("max_chars", 8000)
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or not (64 <= max_chars <= 1_000_000):
        raise ConfigError(f"text_cls option max_chars: expected an integer in [64, 1000000], got {max_chars!r}")
    negation_complement = _bool(raw.get("negation_complement", False), "negation_complement")
    if negation_complement and len(labels) != 2:
        raise ConfigError("text_cls option negation_complement: only meaningful with exactly two labels")
    cues = _str_list(raw["cues"], "cues") if "cues" in raw else DEFAULT_CUES
    extra = _str_list(raw.get("extra_cues", ()), "extra_cues")
    abstain_raw = raw.get("abstain_words", DEFAULT_ABSTAIN_WORDS)
    abstain_words = tuple(w for w in _str_list(abstain_raw or (), "abstain_words") if w not in owner)
    return TextClsOptions(
        labels=labels,
        verbalizers=verbalizers,
        letters=letters,
        template=template,
        system=_opt_str(raw.get("system"), "system"),
        text_field=raw.get("text_field", "text"),
        label_field=raw.get("label_field", "label"),
        gold_map=gold_map,
        cues=cues,
        extra_cues=extra,
        negation_complement=negation_complement,
        abstain_words=abstain_words,
        max_chars=max_chars,
    )
