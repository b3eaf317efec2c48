"""The extraction rule: final explicit answer, negation, ambiguity, letters, hostile text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttrl_text_cls.task import TextClassificationTask

WORD_CASES = [
    # whole response is a label (tier 0)
    ("positive", "positive"),
    ("Negative.", "negative"),
    ("  **NEGATIVE**  ", "negative"),
    ("fresh", "positive"),
    # cued answers (tier 1)
    ("Sentiment: Positive.", "positive"),
    ("The answer is negative.", "negative"),
    ("Answer:\n\n**Negative**", "negative"),
    ("Answer: not positive but negative", "negative"),
    ("The answer is positive.\n\nFinal answer: negative", "negative"),
    ("Sentiment: Positive. The film is not negative at all, but some scenes are bad.", "positive"),
    ("The acting is good but overall the film is bad.", "negative"),
    ("Final answer: positive, not negative.", "positive"),
    # emphasis (tier 2)
    ("I thought about it and I'd go with **negative** here, even if parts were fine.", "negative"),
    ("\\boxed{negative}", "negative"),
    ("<answer>positive</answer>", "positive"),
    ('My label is the word "rotten" for this one, the film is clumsy', "negative"),
    # bare mentions (tier 3) with negation
    ("It is positive, not negative", "positive"),
    ("It is positive rather than negative.", "positive"),
    ("This review is clearly negative.", "negative"),
    ("Is it negative? No, it is positive.", "positive"),
    ("This is a great film.", "positive"),
    ("Not bad, but the film is awful overall", "negative"),
    # no explicit answer -> abstain
    ("not positive", None),
    ("I don't think it's positive", None),
    ("Is it negative? I don't think it's negative.", None),
    ("positive or negative", None),
    ("Positive or Negative?", None),
    ("The review is positive/negative.", None),
    ("Answer with one word: positive or negative.", None),
    ("neither positive nor negative", None),
    ("The sentiment is neutral.", None),
    ("non-negative", None),
    ("positively", None),
    ("", None),
    ("   \n\t", None),
    ("¯\\_(ツ)_/¯", None),
]


@pytest.mark.parametrize("text,expected", WORD_CASES)
def test_word_extraction(task, text, expected):
    assert task.extract_answer(text) == expected


LETTER_CASES = [
    ("The answer is B", "negative"),
    ("B", "negative"),
    ("b", "negative"),
    ("(C)", "neutral"),
    ("**A**", "positive"),
    ("A. positive", "positive"),
    ("B) negative", "negative"),
    ("Answer: A", "positive"),
    ("The answer is A because the reviewer liked it.", "positive"),
    ("I choose option C since it is mixed", "neutral"),
    ("A great film, so the answer is (A).", "positive"),
    ("The answer is B (negative).", "negative"),
    ("It is negative.", "negative"),  # label words still count in letter mode
    # "A" as an English article is not an option letter
    ("A great film.", None),
    ("A mixed bag of a movie", None),
    ("The answer is D", None),  # D is not one of the three options
    ("A or B", None),
]


@pytest.mark.parametrize("text,expected", LETTER_CASES)
def test_letter_extraction(letter_task, text, expected):
    assert letter_task.extract_answer(text) == expected


def test_negation_complement_binary_only():
    t = TextClassificationTask(negation_complement=True)
    assert t.extract_answer("This review is not positive.") == "negative"
    assert t.extract_answer("I don't think it's negative") == "positive"
    assert t.extract_answer("It is positive, not negative") == "positive"
    assert t.extract_answer("positive or negative") is None


def test_abstain_words_are_explicit_non_label_answers():
    t = TextClassificationTask(negation_complement=True)
    # the cued answer is "neutral": no vote, even though a negated label follows
    assert t.extract_answer("The sentiment is neutral, with no strong negative emotions.") is None
    assert t.extract_answer("**Mixed**") is None
    assert t.extract_answer("Sentiment: mixed. Overall it is positive though.") == "positive"
    assert t.extract_answer("It is not neutral: it is positive.") == "positive"
    # "neither ... nor" denies both labels; it never implies the complement
    assert t.extract_answer("It is neither positive nor negative.") is None
    # a label named like an abstain word is a label
    three = TextClassificationTask(labels=["positive", "negative", "neutral"])
    assert three.extract_answer("Sentiment: neutral") == "neutral"
    assert TextClassificationTask(abstain_words=[]).extract_answer("neutral, so positive") == "positive"


def test_extract_returns_canonical_label_and_groups_by_it(task):
    answers = [task.extract_answer(s) for s in ["Fresh!", "Sentiment: positive", "**good**", "bad", None or ""]]
    assert answers == ["positive", "positive", "positive", "negative", None]
    classes = task.group_answers(answers)
    assert classes.class_of == (0, 0, 0, 1, None)
    assert classes.representatives == ("positive", "negative")


def test_is_correct_uses_verbalizers_and_gold_map():
    t = TextClassificationTask(
        verbalizers={"positive": ["fresh"], "negative": ["rotten"]}, gold_map={"1": "positive", "0": "negative"}
    )
    assert t.is_correct("positive", "fresh")
    assert t.is_correct("negative", "0")
    assert not t.is_correct("negative", "1")
    assert not t.is_correct(None, "positive")
    assert not t.is_correct("maybe", "positive")
    assert t.gold_label({"label": 1}) == "positive"
    assert t.gold_label({"label": "ROTTEN"}) == "negative"
    assert t.gold_label({}) is None
    assert t.gold_label({"label": "weird"}) == "weird"  # grades as wrong, not as unlabeled


def test_long_and_hostile_inputs_are_bounded(task):
    assert task.extract_answer("x " * 200_000 + "Sentiment: negative") == "negative"
    # the answer must be inside the last max_chars characters
    assert task.extract_answer("Sentiment: negative" + " x" * 100_000) is None
    assert task.extract_answer("(" * 50_000 + "positive" + ")" * 3_000) == "positive"
    assert task.extract_answer("*" * 100_000) is None
    assert task.extract_answer(None) is None  # type: ignore[arg-type]
    assert task.extract_answer(b"positive") is None  # type: ignore[arg-type]
    assert task.extract_answer("\x00positive\x00") == "positive"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list("posneAB *_()\"'`:.,!?\n-")
            + ["positive", "negative", "not ", " or ", "answer", "**", "\\boxed{", "}", "(B)"]
        ),
        max_size=40,
    ).map("".join)
)
def test_extraction_never_raises_and_stays_in_label_set(text):
    t = TextClassificationTask(labels=["positive", "negative"], letters=True)
    a = t.extract_answer(text)
    assert a is None or a in t.labels


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_unicode_never_raises(text):
    t = TextClassificationTask()
    a = t.extract_answer(text)
    assert a is None or a in t.labels
