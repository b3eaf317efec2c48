"""Shared fixtures: the Rotten Tomatoes reference file (skipped only when absent) and tasks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RT_PATH = (
    Path(os.environ.get("TTRL_SHARED_DATA", REPO / ".." / "shared" / "data")) / "text_cls" / "rotten_tomatoes.jsonl"
).resolve()
RT_CONFIG = REPO / "configs" / "text_cls" / "rotten_tomatoes.yaml"


@pytest.fixture
def rt_path() -> Path:
    if not RT_PATH.is_file():
        pytest.skip(f"reference data not present: {RT_PATH}")
    return RT_PATH


@pytest.fixture
def task():
    from ttrl_text_cls.task import TextClassificationTask

    return TextClassificationTask(
        verbalizers={"positive": ["fresh", "good", "great"], "negative": ["rotten", "bad", "awful"]}
    )


@pytest.fixture
def letter_task():
    from ttrl_text_cls.task import TextClassificationTask

    return TextClassificationTask(labels=["positive", "negative", "neutral"], letters=True)
