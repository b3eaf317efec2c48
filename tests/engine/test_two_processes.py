"""The embedded engine under ``torchrun --nproc_per_node 2`` on CPU (gloo): groups straddle the
ranks, the public reward gathers them, rank 0 writes one run directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import SMOKE, cli_env


@pytest.mark.slow
def test_two_cpu_processes_train_on_whole_groups(tmp_path):
    run = tmp_path / "run"
    # 3 prompts x 4 samples = 12 per step, micro-batch 2 on each of 2 ranks: 6 samples per rank and
    # generation, so the middle group of every step is split between the ranks.
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "ttrl_kit.cli.main", "train", str(SMOKE), "--output", str(run),
           "--set", "train.max_steps=2", "--set", "train.prompts_per_step=3", "--set", "train.micro_batch_size=2",
           "--set", "eval.before=false", "--set", "train.threads=1"]
    env = cli_env(tmp_path)
    env["OMP_NUM_THREADS"] = "1"
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]  # one line per step (rank 0 only)
    assert all(r["groups"] == 3.0 for r in rows)  # every group scored whole, once
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    assert (run / "final_model" / "model.safetensors").is_file()
    assert set(json.loads((run / "summary.json").read_text())["test"]) == {"before", "after"}
    ckpt = run / "checkpoints" / "checkpoint-2"
    assert (ckpt / "ttrl_complete.json").is_file() and (ckpt / "rng_state_1.pth").is_file()
