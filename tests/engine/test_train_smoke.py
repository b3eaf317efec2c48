"""Real GRPO steps with a tiny random model: parameters change, the run dir is complete."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import torch

from ttrl_kit.engines.embedded.config import from_mapping
from ttrl_kit.engines.embedded.engine import train
from ttrl_kit.engines.embedded.models import build_tiny_model


def _cfg(smoke_dict, tmp_path, **train_over):
    d = copy.deepcopy(smoke_dict)
    d["train"].update(train_over)
    d["output"] = {"dir": str(tmp_path / "run")}
    return from_mapping(d, "smoke.yaml")


def test_smoke_run_updates_parameters_and_writes_run_dir(smoke_dict, tmp_path, cache):
    cfg = _cfg(smoke_dict, tmp_path, max_steps=2)
    run = tmp_path / "run"
    summary = train(cfg, run, log=lambda m: None)

    from safetensors.torch import load_file

    initial, _ = build_tiny_model(seed=cfg.train.seed)
    trained = load_file(str(run / "final_model" / "model.safetensors"))
    init_sd = initial.state_dict()
    changed = [k for k, v in trained.items() if k in init_sd and not torch.equal(v, init_sd[k])]
    assert len(changed) >= len(trained) // 2, f"only {len(changed)} of {len(trained)} tensors changed"

    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for r in rows:
        for key in ("reward_mean", "majority_ratio", "label_accuracy", "reward_accuracy", "answer_entropy",
                    "zero_variance_groups", "generate_s", "estimate_s", "update_s", "estimate_share", "loss"):
            assert key in r, key
        assert r["groups"] == cfg.train.prompts_per_step
        assert r["generate_s"] > 0 and r["estimate_s"] >= 0 and r["step_s"] > 0
    assert "kl" in rows[0]  # null when beta == 0 (TRL computes no KL then)

    s = json.loads((run / "summary.json").read_text())
    assert s == summary
    assert s["wall_s"] > 0  # this process's wall time, written before the summary reads it
    for when in ("before", "after"):
        assert set(s["test"][when]) >= {"pass@1 (avg@k)", "maj@4", "pass@4"}
    assert (run / "summary.md").read_text().startswith("# TTRL run")
    for png in ("training.png", "eval_test.png"):
        assert (run / "plots" / png).stat().st_size > 1000
    assert (run / "config.yaml").is_file()
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    ckpts = sorted(p.name for p in (run / "checkpoints").glob("checkpoint-*"))
    assert ckpts == ["checkpoint-1", "checkpoint-2"]
    assert (run / "checkpoints" / "checkpoint-2" / "ttrl_complete.json").is_file()


def test_n_votes_above_n_train(smoke_dict, tmp_path, cache):
    d = copy.deepcopy(smoke_dict)
    d["ttrl"] = {"n_votes": 6, "n_train": 4}
    d["train"]["max_steps"] = 1
    d["eval"] = {"before": False, "after": False}
    d["checkpoint"] = {"save_final": False}
    cfg = from_mapping(d, "smoke.yaml")
    train(cfg, tmp_path / "run", log=lambda m: None)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["groups"] == 2


def test_existing_run_dir_is_not_overwritten(smoke_dict, tmp_path, cache):
    from ttrl_kit import ConfigError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text("x: 1\n")
    with pytest.raises(ConfigError, match="--resume"):
        train(_cfg(smoke_dict, tmp_path, max_steps=1), tmp_path / "run", log=lambda m: None)


def test_lora_run_trains_an_adapter(smoke_dict, tmp_path, cache):
    d = copy.deepcopy(smoke_dict)
    d["model"]["lora"] = {"r": 4, "lora_alpha": 8}
    d["train"].update(max_steps=1, beta=0.01)  # beta > 0: TRL logs a KL (reference = adapter disabled)
    d["eval"] = {"before": False, "after": True, "k": 2, "max_questions": 2}
    train(from_mapping(d, "smoke.yaml"), tmp_path / "run", log=lambda m: None)
    assert (tmp_path / "run" / "final_model" / "adapter_config.json").is_file()
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["kl"] is not None


def test_time_budget_counts_training_before_a_resume(smoke_dict, tmp_path, cache):
    """max_minutes is a budget for the whole run: a resumed run adds the training time its
    checkpoint recorded, so a run killed near its budget does not start a fresh one."""
    from ttrl_kit.engines.embedded.trainer import COMPLETE_MARKER, checkpoint_train_s

    cfg = _cfg(smoke_dict, tmp_path, max_steps=4, max_minutes=30)
    cfg = dataclasses.replace(cfg, checkpoint=dataclasses.replace(cfg.checkpoint, keep=4, save_final=False))
    run = tmp_path / "run"
    train(cfg, run, log=lambda m: None)
    ckpts = run / "checkpoints"
    first = json.loads((ckpts / "checkpoint-1" / COMPLETE_MARKER).read_text())
    last = json.loads((ckpts / "checkpoint-4" / COMPLETE_MARKER).read_text())
    assert 0 < first["train_s"] < last["train_s"]
    run_json = json.loads((run / "run.json").read_text())
    assert run_json["stopped_by_time_budget"] is False and run_json["train_s_total"] >= last["train_s"]

    # as if the process died after step 1 with 29.99 of its 30 minutes spent
    import shutil

    for n in (2, 3, 4):
        shutil.rmtree(ckpts / f"checkpoint-{n}")
    (ckpts / "checkpoint-1" / COMPLETE_MARKER).write_text(json.dumps({**first, "train_s": 30 * 60 - 0.01}))
    run_json["status"] = "running"
    (run / "run.json").write_text(json.dumps(run_json))
    assert checkpoint_train_s(ckpts / "checkpoint-1") == pytest.approx(1799.99)
    logs: list[str] = []
    train(cfg, run, resume=True, log=logs.append)
    assert any("30.0 min of training already spent" in m for m in logs), logs
    resumed = json.loads((run / "run.json").read_text())
    assert resumed["stopped_by_time_budget"] is True and resumed["global_step"] == 2  # one step, then the budget
    assert resumed["train_s_total"] >= 1800
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_checkpoint_train_s_tolerates_old_and_broken_markers(tmp_path):
    from ttrl_kit.engines.embedded.trainer import COMPLETE_MARKER, checkpoint_train_s

    (tmp_path / COMPLETE_MARKER).write_text('{"step": 3, "time": 1.0}')  # written before train_s existed
    assert checkpoint_train_s(tmp_path) == 0.0
    (tmp_path / COMPLETE_MARKER).write_text("not json")
    assert checkpoint_train_s(tmp_path) == 0.0
    assert checkpoint_train_s(tmp_path / "missing") == 0.0


def test_before_from_reuses_a_matching_baseline_and_refuses_others(smoke_dict, tmp_path, cache):
    """eval.before_from: one measurement of the base model serves several runs, but only when
    it was measured the way this run would measure it."""
    from ttrl_kit.core.errors import ConfigError
    from ttrl_kit.engines.embedded.engine import evaluate_only

    def cfg_with(**eval_over):
        d = copy.deepcopy(smoke_dict)
        d["train"]["max_steps"] = 1
        d["checkpoint"]["save_final"] = False
        d["eval"].update(eval_over)
        return from_mapping(d, "smoke.yaml")

    base = tmp_path / "base"
    evaluate_only(cfg_with(), out=base, log=lambda m: None)
    assert json.loads((base / "eval_only_settings.json").read_text())["eval"]["k"] == 4

    own = tmp_path / "own"  # the same run measuring its own baseline gets the same numbers
    train(cfg_with(), own, log=lambda m: None)
    def numbers(path):
        return {k: v for k, v in json.loads(path.read_text())["test"].items() if k != "seconds"}

    assert numbers(own / "eval_before.json") == numbers(base / "eval_only.json")
    assert (own / "eval_before_questions.jsonl").read_text() == (base / "eval_only_questions.jsonl").read_text()

    logs: list[str] = []
    run = tmp_path / "shared"
    summary = train(cfg_with(before_from=str(base)), run, log=logs.append)
    assert any("eval before: taken from" in m for m in logs)
    assert (run / "eval_before.json").read_text() == (base / "eval_only.json").read_text()
    assert summary["test"]["before"] == json.loads((own / "summary.json").read_text())["test"]["before"]
    assert (run / "eval_before_questions.jsonl").read_text() == (base / "eval_only_questions.jsonl").read_text()
    # a run directory's own before-eval can serve as the baseline too
    train(cfg_with(before_from=str(run)), tmp_path / "chained", log=lambda m: None)

    with pytest.raises(ConfigError, match=r"field 'eval.before_from'.*eval\.k \(4 there, 2 here\)"):
        train(cfg_with(before_from=str(base), k=2), tmp_path / "k2", log=lambda m: None)
    with pytest.raises(ConfigError, match="holds no eval_only.json or eval_before.json"):
        train(cfg_with(before_from=str(tmp_path / "nothing")), tmp_path / "none", log=lambda m: None)
    assert not (tmp_path / "k2").exists()  # refused before the run directory was made
