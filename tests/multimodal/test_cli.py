"""The acceptance path: ``ttrl-kit vote --task multimodal`` on the synthetic task's outputs."""

import json
from pathlib import Path

from ttrl_kit.cli.main import main

DATA = Path(__file__).parent / "data" / "synth_groups.jsonl"


def test_vote_cli_on_synthetic_outputs(tmp_path, capsys):
    out = tmp_path / "voted.jsonl"
    assert main(["vote", "--task", "multimodal", "--input", str(DATA), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert by_id["mixed-0-0"]["label"] == "3" and by_id["mixed-0-0"]["rewards"] == [1, 1, 0, 1, 1, 1]
    assert by_id["mixed-0-1"]["label"] == "A"  # "A", "(A)", "option A" are one vote
    assert by_id["mixed-0-2"]["rewards"] == [1, 1, 1, 0, 1, 1]  # "nine" and "The digit is 9." count as 9
    assert by_id["mixed-0-3"]["label_correct"] is False  # a wrong majority is reported, not hidden
    assert by_id["mixed-0-5"]["answers"][:2] == [None, None]  # empty and rambling replies abstain
    err = capsys.readouterr().err
    assert "label_accuracy   0.6667" in err


def test_vote_cli_with_strict_boxed_option(tmp_path, capsys):
    out = tmp_path / "voted.jsonl"
    assert main(["vote", "--task", "multimodal", "--task-option", "strict=true", "--input", str(DATA),
                 "--output", str(out)]) == 0
    rows = {json.loads(line)["id"]: json.loads(line) for line in out.read_text().splitlines()}
    assert rows["mixed-0-2"]["answers"] == [None, "9", None, "6", None, None]


def test_bad_task_option_is_one_line(capsys):
    assert main(["vote", "--task", "multimodal", "--task-option", "answer_type=colour", "--input", str(DATA)]) == 2
    err = capsys.readouterr().err.strip()
    assert "answer_type" in err and len(err.splitlines()) == 1


def test_sample_then_vote_with_a_tiny_model(tmp_path, capsys):
    from ttrl_kit.engines.embedded.sample_groups import main as sample_main

    groups = tmp_path / "groups.jsonl"
    assert sample_main(["--model", "tiny:qwen2-vl", "--task", "multimodal", "--dataset", "visual_synth", "--source", "count", "--dataset-option", "inline=true",
                        "--limit", "2", "--n", "3", "--max-new-tokens", "4", "--out", str(groups)]) == 0
    lines = [json.loads(x) for x in groups.read_text().splitlines()]
    assert [len(x["responses"]) for x in lines] == [3, 3] and all("gold" in x for x in lines)
    assert main(["vote", "--task", "multimodal", "--input", str(groups), "--output", str(tmp_path / "v.jsonl")]) == 0
    assert len((tmp_path / "v.jsonl").read_text().splitlines()) == 2


def test_sample_refuses_a_missing_model_folder(tmp_path, capsys):
    from ttrl_kit.engines.embedded.sample_groups import main as sample_main

    assert sample_main(["--model", str(tmp_path / "nope"), "--task", "multimodal", "--dataset", "visual_synth",
                        "--source", "mixed", "--limit", "1", "--dataset-option", "inline=true",
                        "--out", str(tmp_path / "g.jsonl")]) == 2
    assert "not a local folder" in capsys.readouterr().err
