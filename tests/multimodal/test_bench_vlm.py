"""``ttrl-kit bench`` fills the visual task's cells when the model is a vision-language one.

A text-only model records them as skipped (tests/bench/test_grid.py); a tiny random
Qwen2-VL checkpoint on disk, named like any local model, must sample the image prompts,
vote and produce ordinary rows, next to a text task on the same model.
"""

import json

import pytest
import yaml

pytest.importorskip("ttrl_kit.engines.embedded.vision")

from ttrl_kit.cli.main import main  # noqa: E402
from ttrl_kit.engines.embedded import tiny_vlm  # noqa: E402


def test_bench_samples_the_visual_task_with_a_vlm(tmp_path, capsys):
    model_dir = tiny_vlm.save_tiny(tmp_path / "tiny-qwen2-vl", "qwen2-vl")
    cfg = {
        "name": "vlm",
        "output": str(tmp_path / "out"),
        "sampling": {"n": 3, "max_new_tokens": 5, "prompts_per_batch": 2},
        "models": [{"id": "tiny-vl", "name": str(model_dir), "dtype": "fp32"}],
        "tasks": [
            {"id": "visual-count", "task": "multimodal", "dataset": "visual_synth", "source": "count",
             "task_options": {"prompt_style": "short", "max_pixels": 16 * 784},
             "dataset_options": {"n": 3, "seed": 0, "size": 112, "image_dir": str(tmp_path / "img")}},
            {"id": "add1", "task": "math", "dataset": "arithmetic", "source": "add1", "dataset_options": {"n": 2}},
        ],
        "estimators": ["majority", {"id": "majority-v2", "name": "majority", "n_votes": 2}],
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["bench", str(path), "--no-progress", "--mode", "estimate"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    visual = [r for r in rows if r["task"] == "visual-count"]
    assert len(visual) == 2 and all(r["status"] == "ok" and r["groups"] == 3 for r in visual)
    assert all(r["status"] == "ok" for r in rows if r["task"] == "add1")
    groups = [json.loads(x) for x in (tmp_path / "out" / "rollouts" / "tiny-vl" / "visual-count.jsonl").read_text().splitlines()]
    assert len(groups) == 3 and all(len(g["responses"]) == 3 for g in groups)
    assert "skipped" not in (tmp_path / "out" / "results.md").read_text()
