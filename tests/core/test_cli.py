"""The ``ttrl-kit`` CLI: vote, grade and plugins, including malformed input."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ttrl_kit.cli.main import main

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ttrl_kit.cli.main"]


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def read_jsonl(path):
    return [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]


@pytest.fixture
def groups(tmp_path):
    return write_jsonl(
        tmp_path / "groups.jsonl",
        [
            {"id": "clear", "responses": ["so 7", "7", "it is 7", "8", "hmm"], "gold": "7"},
            {"id": "empty", "responses": ["", "", "", "5", "5"]},
            {"id": "none", "responses": ["", "?", "no"], "gold": "3"},
            {"id": "low", "responses": ["1", "1", "2", "3", "4"], "gold": "1"},
        ],
    )


def test_vote_majority(groups, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["vote", "--task", "math", "--estimator", "majority", "--input", str(groups), "--output", str(out)]) == 0
    rows = {r["id"]: r for r in read_jsonl(out)}
    assert rows["clear"]["label"] == "7" and rows["clear"]["rewards"] == [1, 1, 1, 0, 0]
    assert rows["clear"]["answers"][4] is None
    assert rows["clear"]["label_correct"] is True and rows["clear"]["reward_accuracy"] == 1.0
    assert rows["empty"]["label"] == "5" and rows["empty"]["rewards"] == [0, 0, 0, 1, 1]
    assert "label_correct" not in rows["empty"]
    assert rows["none"]["label"] is None and rows["none"]["rewards"] == [0, 0, 0]
    err = capsys.readouterr().err
    for word in ("groups", "label_accuracy", "reward_accuracy", "majority_ratio", "groups/s"):
        assert word in err


def test_vote_options_min_consensus_and_n_train(groups, tmp_path):
    out = tmp_path / "out.jsonl"
    args = ["vote", "--task", "math", "--input", str(groups), "--output", str(out)]
    assert main(args + ["--option", "min_consensus=0.5", "--option", "n_train=3"]) == 0
    rows = {r["id"]: r for r in read_jsonl(out)}
    assert rows["low"]["low_consensus"] is True and rows["low"]["rewards"] == [0, 0, 0]
    assert rows["clear"]["rewards"] == [1, 1, 1]  # 0.6 >= 0.5, only 3 trained samples


def test_vote_soft_and_entropy(groups, tmp_path):
    for est in ("soft", "entropy"):
        out = tmp_path / f"{est}.jsonl"
        assert main(["vote", "--task", "math", "--estimator", est, "--input", str(groups), "--output", str(out)]) == 0
        rows = {r["id"]: r for r in read_jsonl(out)}
        assert rows["clear"]["label"] == "7"
    soft = {r["id"]: r for r in read_jsonl(tmp_path / "soft.jsonl")}
    assert soft["clear"]["rewards"] == pytest.approx([0.6, 0.6, 0.6, 0.2, 0.0])


@pytest.mark.parametrize(
    "line, expected",
    [
        ("{not json", "bad.jsonl:2: invalid JSON"),
        ('{"responses": ["1"]}', "bad.jsonl:2: missing field 'id'"),
        ('{"id": 1}', "bad.jsonl:2: missing field 'responses'"),
        ('{"id": 1, "responses": "7"}', "bad.jsonl:2: field 'responses': expected a list"),
        ('{"id": 1, "responses": ["7", 3]}', "bad.jsonl:2: field 'responses'[1]: expected a string"),
        ('{"id": 1, "responses": ["7"], "gold": 7}', "bad.jsonl:2: field 'gold': expected a string"),
        ("[1, 2]", "bad.jsonl:2: expected a JSON object"),
    ],
)
def test_vote_malformed_line_is_one_line_error(tmp_path, capsys, line, expected):
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": 0, "responses": ["1"]}, line])
    out = tmp_path / "out.jsonl"
    assert main(["vote", "--task", "math", "--input", str(bad), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()  # nothing half-written


def test_unknown_task_and_estimator_name_the_existing_ones(groups, capsys):
    assert main(["vote", "--task", "maths", "--input", str(groups)]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'maths'" in err and "math" in err and "text_cls" in err
    assert main(["vote", "--task", "math", "--estimator", "best", "--input", str(groups)]) == 2
    err = capsys.readouterr().err
    assert "unknown estimator 'best'" in err and "majority, neg_entropy" in err


def test_missing_input_file(capsys):
    assert main(["vote", "--task", "math", "--input", "/nonexistent/groups.jsonl"]) == 2
    assert "/nonexistent/groups.jsonl: file not found" in capsys.readouterr().err


def test_grade(tmp_path, capsys):
    cases = write_jsonl(
        tmp_path / "cases.jsonl",
        [{"pred": "The answer is 12", "gold": "12"}, {"pred": "13", "gold": "12"}, {"pred": "", "gold": "1"}],
    )
    out = tmp_path / "graded.jsonl"
    assert main(["grade", "--task", "math", "--input", str(cases), "--output", str(out)]) == 0
    assert [r["correct"] for r in read_jsonl(out)] == [True, False, False]
    assert "accuracy 0.3333 (1/3)" in capsys.readouterr().err
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"pred": "1"}])
    assert main(["grade", "--task", "math", "--input", str(bad)]) == 2
    assert "bad.jsonl:1: missing field 'gold'" in capsys.readouterr().err


def test_plugins_lists_builtins(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for name in ("math", "text_cls", "multimodal", "majority", "soft", "entropy"):
        assert name in out


def run_cli(args, env_extra):
    env = dict(os.environ, **env_extra)
    return subprocess.run(CLI + args, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def test_third_party_plugin_installed_outside_the_repo(tmp_path):
    """Install docs/example_plugin with pip into a directory outside the repo and use it."""
    target = tmp_path / "site"
    source = tmp_path / "example_plugin"  # build from a copy: pip leaves build/ and egg-info behind
    shutil.copytree(REPO / "docs" / "example_plugin", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    # and a second plugin that raises on import, next to it
    broken = target / "broken_plugin-0.1.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (broken / "entry_points.txt").write_text("[ttrl_kit]\nbroken = broken_plugin_mod\n")
    (target / "broken_plugin_mod.py").write_text("import a_module_that_does_not_exist\n")
    env = {"PYTHONPATH": str(target)}

    listed = run_cli(["plugins"], env)
    assert listed.returncode == 0, listed.stderr
    assert "yesno  (ttrl-plugin-yesno 0.2.0)" in listed.stdout
    assert "margin" in listed.stdout
    assert "broken  (broken-plugin)  [import]  ModuleNotFoundError" in listed.stdout
    assert "math" in listed.stdout  # the others still work

    groups = write_jsonl(
        tmp_path / "yn.jsonl",
        [{"id": 1, "responses": ["Yes.", "I think no", "yes!", "TRUE"], "gold": "yes"},
         {"id": 2, "responses": ["yes", "no", "no"], "gold": "no"}],
    )
    out = tmp_path / "out.jsonl"
    voted = run_cli(["vote", "--task", "yesno", "--estimator", "margin", "--option", "margin=2",
                     "--input", str(groups), "--output", str(out)], env)
    assert voted.returncode == 0, voted.stderr
    rows = read_jsonl(out)
    assert rows[0]["label"] == "yes" and rows[0]["rewards"] == [1, 0, 1, 1]
    assert rows[1]["label"] == "no" and rows[1]["low_consensus"] is True and rows[1]["rewards"] == [0, 0, 0]

    # the example's signal-reading estimator: a winner that passed through a very unlikely token gets 0
    sig = write_jsonl(tmp_path / "yns.jsonl", [{"id": 1, "responses": ["yes", "yes", "no"],
                                                "signals": {"logprob": [[-0.1, -0.2], [-9.0, -0.1], [-0.3]]}}])
    voted = run_cli(["vote", "--task", "yesno", "--estimator", "surprise_veto", "--input", str(sig),
                     "--output", str(out)], env)
    assert voted.returncode == 0, voted.stderr
    assert read_jsonl(out)[0]["rewards"] == [1, 0, 0]
    unsig = write_jsonl(tmp_path / "ynu.jsonl", [{"id": 1, "responses": ["yes", "no"]}])
    refused = run_cli(["vote", "--task", "yesno", "--estimator", "surprise_veto", "--input", str(unsig)], env)
    assert refused.returncode == 2 and "needs signal 'logprob'" in refused.stderr


def test_grade_against_expected_counts_false_positives(tmp_path, capsys):
    cases = write_jsonl(
        tmp_path / "cases.jsonl",
        [
            {"pred": "12", "gold": "12", "expected": True},
            {"pred": "13", "gold": "12", "expected": False},
            {"pred": "12", "gold": "13", "expected": True},   # grader says no: false negative
            {"pred": "7", "gold": "7", "expected": 0},        # grader says yes: false positive (1/0 accepted)
        ],
    )
    assert main(["grade", "--task", "math", "--input", str(cases), "--output", str(tmp_path / "o.jsonl")]) == 0
    err = capsys.readouterr().err
    assert "accuracy 0.5000 (2/4 agree with 'expected'), false positives 1, false negatives 1" in err
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"pred": "1", "gold": "1", "expected": "yes"}])
    assert main(["grade", "--task", "math", "--input", str(bad)]) == 2
    assert "bad.jsonl:1: field 'expected': expected true/false" in capsys.readouterr().err
