"""Task options for text classification, validated once when the task is built.

Options come from ``--task-option k=v``, ``--task-config FILE`` or the ``task.options``
mapping of a run config.  Everything is checked here so that a typo in a config fails at
start-up with one line naming the option, instead of silently making every sample abstain
in the middle of a training run.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ttrl_kit import FieldError, build, setting

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


def _phrases(value: Any) -> Any:
    """A list of words/phrases (or ``"a,b,c"`` from ``--task-option labels=a,b``), normalised."""
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of strings, got {type(value).__name__}")
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, str) or not v.strip():
            raise FieldError(f"[{i}]", f"expected a non-empty string, got {v!r}")
        if len(v) > _MAX_PHRASE_CHARS:
            raise FieldError(f"[{i}]", f"longer than {_MAX_PHRASE_CHARS} characters")
        out.append(_norm_phrase(v))
    return tuple(out)


def _verbalizers(value: Any) -> Any:
    """``{label: [words]}`` with normalised labels and words (checked against labels later)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("expected a mapping label -> list of words")
    out: dict[str, tuple[str, ...]] = {}
    for key, words in value.items():
        try:
            out[_norm_phrase(str(key))] = tuple(dict.fromkeys(_phrases(words)))
        except FieldError as exc:
            raise FieldError(f"{key}{exc.field}", exc.message) from None
        except ValueError as exc:
            raise FieldError(str(key), str(exc)) from None
    return out


def _gold_map(value: Any) -> Any:
    """``{raw gold value: label}``, normalised (values are checked against labels later)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("expected a mapping raw value -> label")
    return {_norm_phrase(str(k)): _norm_phrase(v) if isinstance(v, str) else v for k, v in value.items()}


@dataclass(frozen=True)
class TextClsOptions:
    """The validated options of a ``text_cls`` task (:func:`parse_options` builds them)."""

    labels: tuple[str, ...] = setting(
        ("positive", "negative"),
        help="Canonical label names, in order (this order is the letter order and the metrics order).",
        parse=_phrases,
    )
    verbalizers: Mapping[str, tuple[str, ...]] = setting(
        help="Extra words/phrases per label; the label name itself is always a verbalizer.",
        default_factory=dict,
        parse=_verbalizers,
    )
    letters: bool = setting(
        False, help="Option-letter mode: A, B, ... in label order are listed in the prompt and accepted as answers."
    )
    template: str | None = setting(
        None, help="Prompt template with {text} and {labels} / {options} / {letters} (null: the default)."
    )
    system: str | None = setting(None, help="An optional system message.")
    text_field: str = setting("text", help="The dataset column holding the text.", nonempty=True)
    label_field: str = setting(
        "label", help="The dataset column holding the gold label (reporting only).", nonempty=True
    )
    gold_map: Mapping[str, str] = setting(
        help="Raw gold values (e.g. the integers of a hub dataset, or ``fresh``/``rotten``) -> canonical labels.",
        default_factory=dict,
        parse=_gold_map,
    )
    cues: tuple[str, ...] = setting(
        DEFAULT_CUES, help="Phrases after which the next label mention is the answer.", parse=_phrases
    )
    extra_cues: tuple[str, ...] = setting((), help="Cues added to ``cues``.", parse=_phrases)
    negation_complement: bool = setting(
        False, help='With two labels, a negated label ("not positive") votes for the other one.'
    )
    abstain_words: tuple[str, ...] = setting(
        DEFAULT_ABSTAIN_WORDS,
        help="Explicit answers that are not labels: such a final answer abstains (labels and verbalizers win).",
        parse=lambda v: _phrases(v or ()),
    )
    max_chars: int = setting(8000, help="Responses are read up to this many characters.", ge=64, le=1_000_000)

    def __post_init__(self) -> None:
        """Checks across options; verbalizers claim their words and abstain words drop them."""
        labels = self.labels
        if len(labels) < 2:
            raise FieldError("labels", "need at least two labels")
        if len(set(labels)) != len(labels):
            raise FieldError("labels", f"duplicate label in {list(labels)}")
        if self.letters and len(labels) > _MAX_LABELS:
            raise FieldError("letters", f"at most {_MAX_LABELS} labels in letter mode")
        owner = {lab: lab for lab in labels}
        for lab, phrases in self.verbalizers.items():
            if lab not in labels:
                raise FieldError("verbalizers", f"{lab!r} is not one of the labels {list(labels)}")
            for p in phrases:
                if p in owner and owner[p] != lab:
                    raise FieldError(
                        f"verbalizers.{lab}", f"{p!r} already means {owner[p]!r}; a word can map to one label only"
                    )
                owner[p] = lab
        if self.letters:
            for p in owner:
                if len(p) == 1 and p.upper() in string.ascii_uppercase[: len(labels)]:
                    raise FieldError("verbalizers", f"{p!r} clashes with an option letter in letter mode")
        for k, v in self.gold_map.items():
            if v not in labels:
                raise FieldError("gold_map", f"value for {k!r} must be one of {list(labels)}, got {v!r}")
        if self.template is not None:
            _check_template(self.template, self.letters)
        if self.negation_complement and len(labels) != 2:
            raise FieldError("negation_complement", "only meaningful with exactly two labels")
        object.__setattr__(self, "abstain_words", tuple(w for w in self.abstain_words if w not in owner))

    @property
    def effective_template(self) -> str:
        if self.template is not None:
            return self.template
        return DEFAULT_LETTER_TEMPLATE if self.letters else DEFAULT_TEMPLATE

    @property
    def letter_of(self) -> dict[str, str]:
        """Canonical label -> option letter (only meaningful in letter mode)."""
        return {lab: string.ascii_uppercase[i] for i, lab in enumerate(self.labels)}


def _check_template(template: str, letters: bool) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise FieldError("template", f"invalid format string ({exc})") from None
    for f in names:
        if f not in TEMPLATE_FIELDS:
            raise FieldError(
                "template",
                f"unknown placeholder {{{f}}}; known: "
                + ", ".join("{" + x + "}" for x in TEMPLATE_FIELDS)
                + " (write {{ and }} for literal braces)",
            )
    if "text" not in names:
        raise FieldError("template", "must contain the {text} placeholder")
    if letters and "options" not in names and "letters" not in names:
        raise FieldError("template", "letter mode needs {options} (or {letters}) in the template")


def parse_options(raw: Mapping[str, Any]) -> TextClsOptions:
    """Validate user options into :class:`TextClsOptions`, with one-line :class:`ConfigError` s."""
    return build(TextClsOptions, raw, "text_cls", noun="option", strings=True)
