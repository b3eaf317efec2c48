"""``python -m ttrl_kit.engines.embedded.sample_groups`` on a text model: the same sampling loop
(generate.py) as evaluation, writing the groups file ``ttrl-kit vote`` reads."""

from __future__ import annotations

import json

from ttrl_kit.cli.main import main as cli_main
from ttrl_kit.engines.embedded.sample_groups import main


def test_text_model_groups_then_vote(tmp_path, capsys):
    out = tmp_path / "groups.jsonl"
    assert main(["--model", "tiny-random", "--task", "math", "--dataset", "arithmetic", "--source", "add1",
                 "--dataset-option", "n=3", "--limit", "3", "--n", "2", "--max-new-tokens", "4",
                 "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["responses"]) == 2 and "gold" in r for r in rows)
    assert not (tmp_path / "groups.jsonl.partial").exists()
    assert cli_main(["vote", "--task", "math", "--input", str(out), "--output", str(tmp_path / "v.jsonl")]) == 0


def test_unknown_task_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "groups.jsonl"
    assert main(["--model", "tiny-random", "--task", "nosuchtask", "--dataset", "arithmetic", "--source", "add1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "nosuchtask" in err and len(err.splitlines()) == 1
    assert not out.exists()
