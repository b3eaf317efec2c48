"""`ttrl-kit vote/grade --task text_cls --task-config configs/text_cls/...` on the shared data."""

from __future__ import annotations

import json
from pathlib import Path

from ttrl_kit.cli.main import main
from ttrl_text_cls.datasets import load_jsonl

REPO = Path(__file__).resolve().parents[3]
RT_CONFIG = REPO / "configs" / "text_cls" / "rotten_tomatoes.yaml"

HOSTILE = [
    "",
    "   ",
    "\x00\x01\x02",
    "positive or negative",
    "{" * 5000,
    "A" * 50_000,
    "ñ" * 3000 + "?",
    "<answer></answer>",
    "**",
    "\\boxed{",
    "not positive nor negative either way",
]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_vote_with_rt_config_on_shared_data(tmp_path, rt_path, capsys):
    rows = load_jsonl(str(rt_path), shuffle=True, seed=3, limit=6)
    groups = []
    for i, r in enumerate(rows):
        right, wrong = r["label"], ("negative" if r["label"] == "positive" else "positive")
        # 3 votes for the gold label (as synonyms / in prose), 2 wrong, plus hostile junk
        responses = [
            f"Sentiment: {right}.",
            f"**{right.upper()}**",
            f"I'd say it is {right}, not {wrong}.",
            wrong,
            f"The answer is {wrong}",
            HOSTILE[i % len(HOSTILE)],
            HOSTILE[(i + 5) % len(HOSTILE)],
        ]
        groups.append({"id": r["id"], "responses": responses, "gold": r["label"]})
    inp = _write_jsonl(tmp_path / "groups.jsonl", groups)
    out = tmp_path / "votes.jsonl"
    rc = main(["vote", "--task", "text_cls", "--task-config", str(RT_CONFIG), "--input", inp, "--output", str(out)])
    assert rc == 0
    res = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(res) == 6
    for g, r in zip(groups, res):
        assert r["id"] == g["id"] and r["label"] == g["gold"] and r["label_correct"] is True
        assert r["answers"][5] is None and r["answers"][6] is None  # hostile outputs abstain
        assert r["rewards"] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    err = capsys.readouterr().err
    assert "label_accuracy" in err and "1.0000" in err


def test_grade_with_rt_config(tmp_path, capsys):
    cases = [
        {"pred": "Fresh!", "gold": "positive"},
        {"pred": "This review is not positive.", "gold": "negative"},  # negation_complement in the config
        {"pred": "positive or negative", "gold": "positive"},
        {"pred": "", "gold": "negative"},
        {"pred": "\x00" * 10, "gold": "negative"},
        {"pred": "Sentiment: rotten", "gold": "rotten"},  # gold synonyms are mapped too
    ]
    inp = _write_jsonl(tmp_path / "cases.jsonl", cases)
    out = tmp_path / "graded.jsonl"
    rc = main(["grade", "--task", "text_cls", "--task-config", str(RT_CONFIG), "--input", inp, "--output", str(out)])
    assert rc == 0
    assert [json.loads(x)["correct"] for x in out.read_text().splitlines()] == [True, True, False, False, False, True]
    assert "accuracy 0.5000 (3/6)" in capsys.readouterr().err


def test_run_config_is_accepted_as_task_config(tmp_path, capsys):
    run_cfg = REPO / "configs" / "text_cls" / "ttrl_rotten_tomatoes.yaml"
    inp = _write_jsonl(tmp_path / "cases.jsonl", [{"pred": "non-positive", "gold": "negative"}])
    assert main(["grade", "--task", "text_cls", "--task-config", str(run_cfg), "--input", inp]) == 0
    assert "accuracy 1.0000" in capsys.readouterr().err


def test_bad_task_config_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("labels: [positive, negative]\nverbalizers:\n  neutral: [meh]\n", encoding="utf-8")
    inp = _write_jsonl(tmp_path / "cases.jsonl", [{"pred": "x", "gold": "positive"}])
    assert main(["grade", "--task", "text_cls", "--task-config", str(bad), "--input", inp]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not one of the labels" in err


def test_vote_bad_input_line_names_file_and_line(tmp_path, capsys):
    inp = tmp_path / "g.jsonl"
    inp.write_text('{"id": 1, "responses": ["positive"]}\n{"id": 2, "responses": "positive"}\n', encoding="utf-8")
    assert main(["vote", "--task", "text_cls", "--task-config", str(RT_CONFIG), "--input", str(inp)]) == 2
    err = capsys.readouterr().err
    assert f"{inp}:2" in err and "responses" in err
