"""Train cells generate ordinary ``ttrl-kit train`` configs that the engine accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttrl_kit.bench.config import from_mapping, load_bench_config
from ttrl_kit.bench.train import engine_config

REPO = Path(__file__).resolve().parents[2]


def test_grid_settings_flow_into_the_engine_config_and_engine_sections_win(tmp_path):
    c = from_mapping({
        "sampling": {"n": 6, "temperature": 0.7, "max_new_tokens": 20},
        "models": [{"name": "tiny-random", "dtype": "fp32"}],
        "tasks": [{"id": "a", "task": "math", "task_options": {"suffix": ""}, "dataset": "arithmetic",
                   "source": "add1", "dataset_options": {"n": 5}, "limit": 3}],
        "estimators": [{"id": "e", "name": "entropy", "options": {"weight": 0.5, "n_train": 4}}],
        "train": {"estimators": ["e"], "engine": {"train": {"max_steps": 2}, "generation": {"temperature": 1.0}}},
    }, "b.yaml")
    d = engine_config(c, c.models[0], c.tasks[0], c.estimators[0], tmp_path / "run")
    assert d["model"] == {"name": "tiny-random", "dtype": "fp32"}
    assert d["data"]["options"] == {"n": 5} and d["task"]["options"] == {"suffix": ""}
    assert d["estimator"] == {"name": "entropy", "options": {"weight": 0.5}}  # n_train moves to ttrl
    assert d["ttrl"] == {"n_votes": 6, "n_train": 4}
    assert d["generation"]["temperature"] == 1.0 and d["generation"]["max_completion_length"] == 20
    assert d["train"]["max_steps"] == 2 and d["eval"]["k"] == 6 and d["eval"]["max_questions"] == 3
    assert d["output"]["dir"] == str(tmp_path / "run")


@pytest.mark.parametrize("name", ["cpu_smoke.yaml", "cpu_full.yaml", "cpu_signal_train.yaml"])
def test_shipped_train_cells_pass_the_engine_validation(name, monkeypatch, tmp_path):
    pytest.importorskip("ttrl_kit.engines.embedded.config")
    from ttrl_kit.engines.embedded.config import from_mapping as engine_from_mapping

    monkeypatch.chdir(REPO)
    c = load_bench_config(REPO / "configs" / "bench" / name)
    for m in c.train.models:
        for t in c.train.tasks:
            for e in c.train.estimators:
                d = engine_config(c, c.model(m), c.task(t), c.estimator(e), tmp_path / "run")
                engine_from_mapping(d, f"{name}:{t}/{e}")


def test_baseline_is_measured_once_and_again_when_its_settings_change(tmp_path, monkeypatch):
    """The shared base-model eval of train mode: reused while its config is unchanged,
    re-measured when an eval setting changes (the engine would refuse the stale one)."""
    import json

    from ttrl_kit.bench.train import baseline_dir, run_baseline

    monkeypatch.setenv("TTRL_KIT_CACHE", str(tmp_path / "cache"))

    def bench(k):
        return from_mapping({
            "sampling": {"n": 2, "max_new_tokens": 4, "prompts_per_batch": 2},
            "models": [{"id": "tiny", "name": "tiny-random", "dtype": "fp32"}],
            "tasks": [{"id": "a", "task": "math", "dataset": "arithmetic", "source": "add1",
                       "dataset_options": {"n": 2}}],
            "estimators": ["majority"],
            "train": {"estimators": ["majority"], "engine": {
                "ttrl": {"n_votes": 2, "n_train": 2}, "generation": {"max_prompt_length": 256},
                "train": {"max_steps": 1, "prompts_per_step": 2, "micro_batch_size": 4},
                "eval": {"k": k}}},
        }, "b.yaml")

    out = tmp_path / "out"
    for k, expect_run in ((2, True), (2, False), (3, True)):
        c = bench(k)
        logs: list[str] = []
        assert run_baseline(c, c.models[0], c.tasks[0], out, log=logs.append) is None
        assert bool(logs) == expect_run, (k, logs)
        result = json.loads((baseline_dir(out, c.models[0], c.tasks[0]) / "eval_only.json").read_text())
        assert result["test"]["k"] == k


def test_a_new_train_version_retrains_instead_of_resuming_the_old_run(tmp_path, monkeypatch):
    """A finished cell whose key changed only by TRAIN_VERSION (the code computes something else
    now, e.g. the abstain rule) must train again from scratch: ``--resume`` of the finished old
    run would reuse its result."""
    import json
    import subprocess

    from ttrl_kit.bench import train as bench_train

    c = from_mapping({
        "sampling": {"n": 4, "max_new_tokens": 8},
        "models": [{"name": "tiny-random", "dtype": "fp32"}],
        "tasks": [{"id": "a", "task": "math", "dataset": "arithmetic", "source": "add1", "dataset_options": {"n": 4}}],
        "estimators": ["entropy"],
        "train": {"estimators": ["entropy"], "engine": {"eval": {"before": False}}},
    }, "b.yaml")
    calls: list[list[str]] = []

    def fake_run(cmd, **kwargs):  # stands in for `ttrl-kit train`: writes the run's summary
        calls.append(list(cmd))
        out = Path(cmd[cmd.index("--output") + 1] if "--output" in cmd else cmd[cmd.index("--resume") + 1])
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text("x: 1\n")
        (out / "summary.json").write_text(json.dumps({"steps": 1, "k": 4}))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(bench_train.subprocess, "run", fake_run)
    model, task, est = c.models[0], c.tasks[0], c.estimators[0]
    assert bench_train.run_train_cell(c, model, task, est, tmp_path, log=lambda *_: None)["status"] == "ok"
    assert "--resume" not in calls[-1]
    run_dir = tmp_path / "train" / model.id / task.id / est.id
    (run_dir / "old-checkpoint").mkdir()
    assert bench_train.run_train_cell(c, model, task, est, tmp_path, log=lambda *_: None).get("cached")  # same key
    assert len(calls) == 1
    monkeypatch.setattr(bench_train, "TRAIN_VERSION", "train-vNEXT")
    assert bench_train.cached_train_row(c, model, task, est, tmp_path) is None
    assert bench_train.run_train_cell(c, model, task, est, tmp_path, log=lambda *_: None)["status"] == "ok"
    assert len(calls) == 2 and "--resume" not in calls[-1]  # trained afresh
    assert not (run_dir / "old-checkpoint").exists()  # the old run is gone
