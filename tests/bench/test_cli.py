"""``ttrl-kit bench`` end to end with a real (tiny, random, offline) model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ttrl_kit.cli.main import main

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ttrl_kit.cli.main", "bench"]


def write_cfg(tmp_path: Path, **over) -> Path:
    data = {
        "name": "tiny",
        "output": str(tmp_path / "out"),
        "sampling": {"n": 4, "max_new_tokens": 6, "prompts_per_batch": 2},
        "models": [{"id": "tiny", "name": "tiny-random", "dtype": "fp32"}],
        "tasks": [{"id": "add1", "task": "math", "dataset": "arithmetic", "source": "add1",
                   "dataset_options": {"n": 3, "seed": 0}}],
        "estimators": ["majority", {"id": "soft-mc0.5", "name": "soft", "options": {"min_consensus": 0.5}},
                       {"id": "majority-v2", "name": "majority", "n_votes": 2}],
    }
    data.update(over)
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bench_cli_with_a_tiny_random_model_and_a_cached_rerun(tmp_path):
    cfg = write_cfg(tmp_path)
    first = subprocess.run(CLI + [str(cfg), "--no-progress"], capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stderr
    assert "3 cells (3 computed, 0 cached), 3 prompt groups sampled" in first.stdout
    out = tmp_path / "out"
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["estimator"] for r in rows] == ["majority", "soft-mc0.5", "majority-v2"]
    assert all(r["status"] == "ok" and r["groups"] == 3 for r in rows)
    assert rows[2]["n_votes"] == 2
    groups = [json.loads(x) for x in (out / "rollouts" / "tiny" / "add1.jsonl").read_text().splitlines()]
    assert len(groups) == 3 and all(len(g["responses"]) == 4 for g in groups)
    assert (out / "reward_accuracy_vs_majority_ratio.png").stat().st_size > 1000

    again = subprocess.run(CLI + [str(cfg), "--no-progress"], capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0, again.stderr
    assert "3 cells (0 computed, 3 cached), 0 prompt groups sampled" in again.stdout
    assert "loading model" not in again.stderr


def test_bench_cli_bad_config_is_one_line_exit_2(tmp_path, capsys):
    cfg = write_cfg(tmp_path, estimators=[{"name": "majority", "options": {"min_consensus": 5}}])
    assert main(["bench", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ttrl-kit bench: error: ") and "min_consensus" in err and "\n" not in err
    assert not (tmp_path / "out" / "rollouts").exists()  # failed before any sampling


def test_bench_cli_missing_config(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err


@pytest.mark.slow
def test_train_mode_runs_the_embedded_engine_and_reports_before_after(tmp_path):
    cfg = write_cfg(
        tmp_path,
        modes=["train"],
        train={
            "estimators": ["majority", "soft-mc0.5"],
            "engine": {
                "ttrl": {"n_votes": 4, "n_train": 4},
                "generation": {"max_prompt_length": 256},
                "train": {"max_steps": 2, "prompts_per_step": 2, "micro_batch_size": 4, "learning_rate": 1.0e-3},
                "eval": {"k": 4, "batch_prompts": 4},
                "checkpoint": {"every": 1, "keep": 2, "save_final": False},
            },
        },
    )
    first = subprocess.run(CLI + [str(cfg), "--no-progress"], capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stderr[-3000:]
    out = tmp_path / "out"
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["mode"] == "train" and r["status"] == "ok" for r in rows), rows
    r = rows[0]
    assert r["steps"] == 2 and r["k"] == 4
    for key in ("before_avg_at_k", "after_avg_at_k", "before_maj_at_k", "after_maj_at_k"):
        assert 0.0 <= r[key] <= 1.0
    # one baseline eval of the base model, shared by both estimators' runs
    assert first.stderr.count("baseline tiny/add1:") == 1
    baseline = (out / "baseline" / "tiny" / "add1" / "eval_only.json").read_text()
    for row in rows:
        assert (Path(row["run_dir"]) / "eval_before.json").read_text() == baseline
    assert rows[0]["before_avg_at_k"] == rows[1]["before_avg_at_k"]
    assert (out / "train_before_after.png").is_file()
    assert (Path(r["run_dir"]) / "summary.json").is_file()
    assert "## Train" in (out / "results.md").read_text()
    again = subprocess.run(CLI + [str(cfg), "--no-progress"], capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0 and "train tiny/add1/majority" not in again.stderr  # cached: no new run
    assert "baseline tiny/add1" not in again.stderr
