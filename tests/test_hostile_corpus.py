"""The hostile corpus (benchmarks/hostile/corpus.py) at CI size through every task plugin:
no exception, nothing executed, every answer and group finishes (hang guards only; speed is
measured by benchmarks/hostile/run.py), plus hypothesis fuzzing of each task."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ttrl_kit import GroupScorer, grade

REPO = Path(__file__).resolve().parents[1]
TASKS = {"math": {}, "text_cls": {"labels": ["positive", "negative"]}, "multimodal": {}}


def _corpus():
    name = "ttrl_hostile_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / "hostile" / "corpus.py")
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = mod
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return sys.modules[name]


@pytest.fixture(scope="module")
def canary(tmp_path_factory):
    return tmp_path_factory.mktemp("canary") / f"pwned_{uuid.uuid4().hex}"


@pytest.mark.parametrize("task", sorted(TASKS))
def test_ci_corpus_through_every_task(task, canary):
    corpus = _corpus()
    cases = corpus.generate("ci", canary=canary)
    assert {c.category for c in cases} >= {"unclosed", "huge", "nested", "tower", "container", "unicode",
                                           "control", "macro", "code", "random"}
    scorer = GroupScorer.from_names(task, "majority", task_options=TASKS[task])
    t_all = time.monotonic()
    for case in cases:
        t0 = time.monotonic()
        r = scorer.score([case.text, case.text, "1"], gold="1")  # raises = crash: the test fails
        assert len(r.answers) == 3
        grade(scorer.task, case.text, "1")
        grade(scorer.task, "1", case.text[:5000])
        assert time.monotonic() - t0 < 30, f"{case.category}/{case.name}"  # hang guard
    texts = [c.text for c in cases]
    for i in range(0, len(texts), 64):
        r = scorer.score(texts[i: i + 64], gold="1")
        assert len(r.answers) == len(texts[i: i + 64])
    assert time.monotonic() - t_all < 600
    assert not canary.exists(), "a hostile answer was executed"


def test_sixty_four_sets_vote_through_the_cli(tmp_path, capsys):
    import json

    from ttrl_kit.cli.main import main

    groups = tmp_path / "sets.jsonl"
    groups.write_text(json.dumps({"id": 0, "responses": _corpus().set_group()}) + "\n"
                      + json.dumps({"id": 1, "responses": _corpus().near_set_group()}) + "\n")
    assert main(["vote", "--task", "math", "--input", str(groups)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["majority_ratio"] for r in rows] == [1 / 64, 1 / 64]  # all distinct, none merged


_LATEXISH = st.lists(st.sampled_from(_corpus()._TOKENS), max_size=60).map("".join)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_fuzz_every_task(task):
    scorer = GroupScorer.from_names(task, "majority", task_options=TASKS[task])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.one_of(_LATEXISH, st.text(max_size=80)), min_size=1, max_size=6),
           st.one_of(_LATEXISH, st.text(max_size=20)))
    def run(responses, gold):
        r = scorer.score(responses, gold=gold)
        assert len(r.answers) == len(responses)
        assert all(c is None or 0 <= c < len(r.classes.representatives) for c in r.classes.class_of)

    run()
