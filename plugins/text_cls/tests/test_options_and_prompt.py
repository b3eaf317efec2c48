"""Task options: validation with one-line errors, prompt templates, registry wiring."""

from __future__ import annotations

import pytest

from ttrl_kit import ConfigError, InputError, get_registry
from ttrl_text_cls.options import DEFAULT_LETTER_TEMPLATE, DEFAULT_TEMPLATE
from ttrl_text_cls.task import TextClassificationTask


def test_registry_builds_task_and_lists_loaders():
    reg = get_registry()
    t = reg.task("text_cls", labels=["spam", "ham"])
    assert t.labels == ("spam", "ham")
    for name in ("text_cls", "text_cls_jsonl", "text_cls_csv", "text_cls_hub"):
        assert callable(reg.dataset_loader(name))
    assert not [f for f in reg.failures if "text_cls" in (f.package or f.name)]


@pytest.mark.parametrize(
    "opts,fragment",
    [
        ({"labels": ["only"]}, "at least two labels"),
        ({"labels": ["a", "a"]}, "duplicate label"),
        ({"labels": "x"}, "at least two labels"),
        ({"verbalizers": {"neutral": ["meh"]}}, "not one of the labels"),
        ({"verbalizers": {"positive": ["good"], "negative": ["good"]}}, "already means"),
        ({"verbalizers": {"positive": ["negative"]}}, "already means"),
        ({"verbalizers": {"positive": "fresh"}, "letters": True, "labels": ["positive", "negative"]}, None),
        ({"verbalizers": {"positive": ["b"]}, "letters": True}, "clashes with an option letter"),
        ({"template": "no text here"}, "{text}"),
        ({"template": "{text} {nope}"}, "unknown placeholder {nope}"),
        ({"template": "{text} {"}, "invalid format string"),
        ({"letters": True, "template": "{text}"}, "letter mode needs {options}"),
        ({"letters": "maybe"}, "expected true/false"),
        ({"max_chars": 5}, "max_chars"),
        ({"negation_complement": True, "labels": ["a", "b", "c"]}, "exactly two labels"),
        ({"gold_map": {"1": "neutral"}}, "gold_map"),
        ({"lables": ["a", "b"]}, "unknown option 'lables'"),
    ],
)
def test_bad_options_raise_one_line_config_errors(opts, fragment):
    if fragment is None:
        TextClassificationTask(**opts)  # valid
        return
    with pytest.raises(ConfigError) as ei:
        get_registry().task("text_cls", **opts)
    msg = str(ei.value)
    assert fragment in msg and "\n" not in msg


def test_labels_from_comma_string_and_case_folding():
    t = TextClassificationTask(labels="Spam, Ham", verbalizers={"SPAM": ["Junk Mail"]})
    assert t.labels == ("spam", "ham")
    assert t.extract_answer("this is junk   mail") == "spam"


def test_default_prompt_lists_labels():
    t = TextClassificationTask(labels=["positive", "negative"])
    msgs = t.build_prompt({"id": "1", "text": "  A fine film {with} braces.  "})
    assert msgs == [
        {
            "role": "user",
            "content": DEFAULT_TEMPLATE.format(labels="positive, negative", text="A fine film {with} braces."),
        }
    ]


def test_letter_prompt_lists_options_and_system_message():
    t = TextClassificationTask(labels=["positive", "negative", "neutral"], letters=True, system="You label reviews.")
    msgs = t.build_prompt({"text": "ok"})
    assert msgs[0] == {"role": "system", "content": "You label reviews."}
    assert msgs[1]["content"] == DEFAULT_LETTER_TEMPLATE.format(
        text="ok", options="A. positive\nB. negative\nC. neutral"
    )


def test_custom_template_and_fields():
    t = TextClassificationTask(template="Review: {text}\nOne of {labels}:", text_field="review")
    assert t.build_prompt({"review": "meh"})[0]["content"] == "Review: meh\nOne of positive, negative:"
    with pytest.raises(InputError, match="field 'review'"):
        t.build_prompt({"id": "r1", "text": "meh"})
