"""kill -9 in the middle of a run, then --resume: it continues from the last complete
checkpoint, loses at most one step, and metrics.jsonl ends with each step exactly once."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time

import pytest

from .conftest import PY, cli_env, write_yaml


@pytest.mark.slow
def test_kill_9_then_resume(smoke_dict, tmp_path):
    d = copy.deepcopy(smoke_dict)
    d["train"]["max_steps"] = 8
    d["eval"] = {"before": True, "after": True, "k": 2, "max_questions": 2}
    d["checkpoint"]["save_final"] = False
    cfg = write_yaml(tmp_path / "smoke.yaml", d)
    run = tmp_path / "run"
    env = cli_env(tmp_path)
    proc = subprocess.Popen([PY, "-m", "ttrl_kit.cli.main", "train", str(cfg), "--output", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    marker = run / "checkpoints" / "checkpoint-3" / "ttrl_complete.json"
    deadline = time.time() + 600
    while not marker.exists():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline, "no checkpoint-3 within 10 minutes"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    steps_at_kill = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    assert max(steps_at_kill) < 8, "the kill landed after training finished"
    assert json.loads((run / "run.json").read_text())["status"] == "running"

    r = subprocess.run([PY, "-m", "ttrl_kit.cli.main", "train", "--resume", str(run)],
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(ln for ln in r.stderr.splitlines() if "resuming from" in ln)
    resumed = int(line.split("(step ")[1].split(";")[0])
    assert resumed >= max(steps_at_kill) - 1, (resumed, steps_at_kill)  # lost at most one step
    assert "eval before: already done" in r.stderr
    steps = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    assert steps == list(range(1, 9))
    assert json.loads((run / "run.json").read_text())["status"] == "complete"
    s = json.loads((run / "summary.json").read_text())
    assert s["test"]["before"] and s["test"]["after"] and s["steps"] == 8

    # resuming a finished run is a no-op, not a second training
    r2 = subprocess.run([PY, "-m", "ttrl_kit.cli.main", "train", "--resume", str(run)],
                        capture_output=True, text=True, env=env, timeout=600)
    assert r2.returncode == 0 and "already complete" in r2.stderr
