"""The TTRL run config matches the embedded engine's schema and draws disjoint slices."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RUN_CFG = REPO / "configs" / "text_cls" / "ttrl_rotten_tomatoes.yaml"


def test_ttrl_config_validates_and_prepares_without_a_model(rt_path, monkeypatch):
    config = pytest.importorskip("ttrl_kit.engines.embedded.config")
    engine = pytest.importorskip("ttrl_kit.engines.embedded.engine")
    monkeypatch.chdir(REPO)  # the data path in the config is relative to the repo root
    cfg = config.load_config(os.path.relpath(RUN_CFG, REPO))
    assert cfg.task.name == "text_cls" and cfg.data.dataset == "text_cls"
    p = engine.prepare_run(cfg)
    train_ids = {r.id for r in p.train_rows}
    held_ids = {r.id for r in p.heldout_rows}
    assert len(train_ids) == 32 and len(held_ids) == 48 and not train_ids & held_ids
    assert all(r.gold in ("positive", "negative") for r in p.train_rows + p.heldout_rows)
    msg = p.train_rows[0].prompt[-1]["content"]
    assert msg.startswith("What is the sentiment of the following movie review?")
