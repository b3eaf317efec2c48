"""End to end through the embedded engine with a tiny random model (plumbing, not quality):
the plugin's loader, prompts, extraction and label voting inside real GRPO steps, then the
classification report on the run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_text_cls_runs_in_embedded_engine(rt_path, tmp_path):
    config = pytest.importorskip("ttrl_kit.engines.embedded.config")
    engine = pytest.importorskip("ttrl_kit.engines.embedded.engine")
    from ttrl_kit.core.io import load_mapping
    from ttrl_text_cls.report import run_report

    opts = load_mapping(REPO / "configs" / "text_cls" / "rotten_tomatoes.yaml")
    cfg = config.from_mapping(
        {
            "model": {"name": "tiny-random", "dtype": "fp32"},
            "data": {
                "dataset": "text_cls",
                "source": str(rt_path),
                "options": {"shuffle": True, "seed": 0, "limit": 4},
                "heldout": {"options": {"shuffle": True, "seed": 0, "offset": 100, "limit": 2}},
            },
            "task": {"name": "text_cls", "options": opts},
            "estimator": {"name": "majority"},
            "ttrl": {"n_votes": 4, "n_train": 4},
            "generation": {"temperature": 1.0, "max_prompt_length": 512, "max_completion_length": 8},
            "train": {"learning_rate": 1e-3, "prompts_per_step": 2, "micro_batch_size": 4, "max_steps": 2},
            "checkpoint": {"every": 1, "keep": 2, "save_final": False},
            "eval": {"k": 2, "batch_prompts": 4},
        },
        "smoke",
    )
    summary = engine.train(cfg, tmp_path / "run", log=lambda *a: None)
    assert summary["steps"] == 2
    metrics = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 2
    rep = run_report(tmp_path / "run")
    assert set(rep["phases"]) == {"before", "after"}
    assert set(rep["phases"]["before"]) == {"test", "heldout"}
    assert rep["phases"]["before"]["test"]["questions"] == 4
