"""``ttrl-kit vote`` with per-token signals on the group line (issue 14 acceptance)."""

import json
from pathlib import Path

import pytest

from ttrl_kit.cli.main import main

A = ["The answer is \\boxed{7}"] * 4
B = ["The answer is \\boxed{8}"] * 3


def write(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def acceptance_group(with_signals: bool = True) -> dict:
    row = {"id": "g1", "responses": A + B, "gold": "8"}
    if with_signals:
        row["signals"] = {"logprob": [[-3.0, -2.9, -3.1]] * 4 + [[-0.05, -0.04]] * 3}
    return row


def vote(tmp_path, estimator, rows, *extra):
    inp = write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    rc = main(["vote", "--task", "math", "--estimator", estimator, "--input", str(inp), "--output", str(out), *extra])
    return rc, out


def test_confidence_labels_the_confident_minority_majority_the_plurality(tmp_path):
    rc, out = vote(tmp_path, "confidence", [acceptance_group()])
    assert rc == 0
    row = json.loads(out.read_text())
    assert row["label"] == "8" and row["rewards"] == [0, 0, 0, 0, 1, 1, 1] and row["label_correct"] is True
    assert "signals" not in row
    rc, out = vote(tmp_path, "majority", [acceptance_group()])
    assert rc == 0 and json.loads(out.read_text())["label"] == "7"


def test_missing_signal_is_one_line_and_writes_nothing(tmp_path, capsys):
    rc, out = vote(tmp_path, "confidence", [acceptance_group(), acceptance_group(False)])
    assert rc == 2 and not out.exists() and not (tmp_path / "out.jsonl.partial").exists()
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "in.jsonl:2" in err and "'logprob'" in err and "confidence" in err


@pytest.mark.parametrize(
    "signals,expected",
    [
        ({"logprob": [[-1.0]] * 6}, "signals.logprob': 6 lists for 7 responses"),
        ({"logprob": [[-1.0]] * 6 + [[None]]}, "signals.logprob': [6][0]: expected a number"),
        ({"logprob": [[-1.0]] * 6 + [[1e999]]}, "non-finite"),
        ({"entropy": [[0.1]] * 7, "logprob": [[-1.0]] * 7, "bogus": []}, "signals.bogus': unknown signal"),
        ([1, 2], "field 'signals': expected an object"),
    ],
)
def test_bad_signals_are_file_line_errors(tmp_path, capsys, signals, expected):
    row = acceptance_group(False)
    row["signals"] = signals
    rc, out = vote(tmp_path, "confidence", [row])
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "in.jsonl:1" in err and expected in err


def test_answers_only_estimators_accept_and_ignore_signals(tmp_path):
    rc, out = vote(tmp_path, "soft", [acceptance_group()])
    assert rc == 0 and json.loads(out.read_text())["label"] == "7"


@pytest.mark.parametrize("estimator,signal", [("self_certainty", "self_certainty"), ("neg_entropy", "entropy"),
                                              ("certainty_vote", "self_certainty")])
def test_each_signal_estimator_runs_from_the_cli(tmp_path, estimator, signal):
    row = acceptance_group(False)
    row["signals"] = {signal: [[1.0, 2.0]] * 4 + [[0.5]] * 3}
    rc, out = vote(tmp_path, estimator, [row])
    assert rc == 0
    got = json.loads(out.read_text())
    assert len(got["rewards"]) == 7


def test_plugins_lists_signal_estimators_with_descriptions(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ") and ln.split()}
    for name in ("self_certainty", "neg_entropy", "confidence", "certainty_vote"):
        assert name in lines and len(lines[name].split()) > 3, out
