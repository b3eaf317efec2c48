"""The run-directory report: macro-F1/MCC/confusion/entropy from the engine's question files."""

from __future__ import annotations

import json

import pytest

from ttrl_text_cls.report import main, question_metrics


def test_question_metrics_hand_computed():
    recs = [
        {"gold": "positive", "answers": ["positive", "positive", None, "negative"], "majority": "positive"},
        {"gold": "negative", "answers": ["positive", "positive", "positive", "negative"], "majority": "positive"},
        {"gold": None, "answers": ["positive"], "majority": "positive"},  # unlabeled: skipped
    ]
    m = question_metrics(recs, ["positive", "negative"])
    assert m["questions"] == 2 and m["k"] == 4
    assert m["avg_at_k"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert m["maj_at_k"] == pytest.approx(0.5)
    assert m["samples"]["confusion"] == [[2, 1, 1], [3, 1, 0]]
    assert m["majority_distribution"]["top_share"] == 1.0


def test_report_on_a_run_directory(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("task:\n  name: text_cls\n  options: {labels: [pos, neg]}\n", encoding="utf-8")
    for phase, ans in (("before", ["pos", "neg", "pos", None]), ("after", ["pos"] * 4)):
        rows = [
            {"split": "test", "id": "a", "gold": "pos", "answers": ans, "majority": "pos"},
            {"split": "heldout", "id": "b", "gold": "neg", "answers": ans[::-1], "majority": "pos"},
        ]
        (run / f"eval_{phase}_questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main([str(run)]) == 0
    rep = json.loads((run / "text_cls_report.json").read_text())
    assert rep["labels"] == ["pos", "neg"]
    assert set(rep["phases"]) == {"before", "after"}
    assert rep["phases"]["after"]["test"]["avg_at_k"] == 1.0
    assert (run / "plots" / "text_cls_confusion.png").stat().st_size > 1000
    out = capsys.readouterr().out
    assert "| after | heldout |" in out


def test_report_without_eval_files_is_one_line_error(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "no eval_*_questions.jsonl" in capsys.readouterr().err
