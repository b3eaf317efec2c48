"""``logging.report_to``: TRL reports to the tracker the user chose, TTRL metrics included; the
default stays offline; a missing tracker package is a one-line config error."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.engines.embedded import config as cfgmod
from ttrl_kit.engines.embedded.config import from_mapping
from ttrl_kit.engines.embedded.trainer import grpo_config

from .conftest import SMOKE, cli_env


def test_default_is_offline_and_choices_are_checked(smoke_dict, tmp_path):
    cfg = from_mapping(smoke_dict, "smoke.yaml")
    assert cfg.logging.report_to == "none"
    assert grpo_config(cfg, tmp_path).report_to == []  # transformers' spelling of "none"
    with pytest.raises(ConfigError, match="'logging.report_to': expected one of none, tensorboard, wandb, trackio"):
        from_mapping({**smoke_dict, "logging": {"report_to": "comet"}}, "smoke.yaml")


def test_report_to_reaches_grpo_config(smoke_dict, tmp_path):
    cfg = from_mapping({**smoke_dict, "logging": {"report_to": "tensorboard"}}, "smoke.yaml")
    assert grpo_config(cfg, tmp_path).report_to == ["tensorboard"]


def test_missing_tracker_package_is_one_line(smoke_dict, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trackio" else real(name, *a))
    cfg = from_mapping({**smoke_dict, "logging": {"report_to": "trackio"}}, "my.yaml")
    with pytest.raises(ConfigError, match=r"^my.yaml: field 'logging.report_to': 'trackio' needs the trackio package"):
        cfgmod.check_report_to(cfg)


def test_tensorboard_event_files_hold_the_ttrl_metrics(tmp_path):
    """A demo-style run with --set logging.report_to=tensorboard; the events are read back with
    tensorboard's own reader and compared with metrics.jsonl."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "ttrl_kit.cli.main", "train", str(SMOKE), "--output", str(run),
           "--set", "logging.report_to=tensorboard", "--set", "train.max_steps=2",
           "--set", "eval.before=false", "--set", "eval.after=false"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert events, sorted(str(x) for x in run.rglob("*"))
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    for name in ("ttrl/reward_mean", "ttrl/majority_ratio", "ttrl/answer_entropy", "ttrl/label_accuracy", "reward"):
        assert f"train/{name}" in tags, sorted(tags)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    logged = {e.step: e.value for e in acc.Scalars("train/ttrl/reward_mean")}
    assert sorted(logged) == [r["step"] for r in rows] == [1, 2]
    for r in rows:
        assert logged[r["step"]] == pytest.approx(r["reward_mean"], abs=1e-6)
