"""Train mode: a short TTRL run per model x task x estimator through the embedded engine.

The bench writes an ordinary ``ttrl-kit train`` config for each cell (so any cell can be
rerun or inspected by hand) and runs it in a child process: training memory is returned to
the OS when the run ends, and a crash of one run is recorded as a failed cell while the rest
of the grid goes on.  An interrupted run is continued with ``ttrl-kit train --resume``; a
complete one is never rerun.  Before/after numbers are the engine's own evaluation (same
questions, same sampler, k samples each), read from the run directory's ``summary.json``.

The base model's "before" numbers do not depend on the estimator, so they are measured once
per model x task (``ttrl-kit eval`` into ``baseline/<model>/<task>/``) and every training run
of that pair takes them through the engine's ``eval.before_from``, which refuses a baseline
measured with other settings.  The estimators are then compared against one baseline, and a
grid of E estimators spends one evaluation on it instead of E.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ttrl_kit.bench.config import BenchConfig, EstimatorSpec, ModelSpec, TaskSpec, fingerprint

TRAIN_VERSION = "train-v2"  # v2: the abstain rule (a non-answer never pays more than an answer)


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def engine_config(
    cfg: BenchConfig, model: ModelSpec, task: TaskSpec, est: EstimatorSpec, run_dir: Path
) -> dict[str, Any]:
    """The ``ttrl-kit train`` config of one cell: the grid's names and sampling settings,
    then the bench's ``train.engine`` sections on top (those win)."""
    s = task.sampling
    options = dict(est.options)
    n_train = options.pop("n_train", None)
    n_votes = est.n_votes or s.n
    data: dict[str, Any] = {
        "model": {"name": model.name, "dtype": model.dtype},
        "data": {
            "dataset": task.dataset,
            "source": task.source,
            "options": dict(task.dataset_options),
            "id_field": task.id_field,
        },
        "task": {"name": task.task, "options": dict(task.task_options)},
        "estimator": {"name": est.name, "options": options},
        "ttrl": {"n_votes": n_votes, "n_train": n_train or n_votes},
        "generation": {
            "temperature": s.temperature,
            "top_p": s.top_p,
            "top_k": s.top_k,
            "max_completion_length": s.max_new_tokens,
        },
        "train": {"seed": cfg.seed},
        "eval": {"k": s.n, "batch_prompts": s.prompts_per_batch, "max_questions": task.limit},
    }
    data = _merge(data, cfg.train.engine)
    data["output"] = {"dir": str(run_dir)}
    return data


def baseline_dir(out_dir: Path, model: ModelSpec, task: TaskSpec) -> Path:
    return out_dir / "baseline" / model.id / task.id


def _with_baseline(engine_cfg: dict[str, Any], base: Path) -> dict[str, Any]:
    """The cell's config taking its before numbers from the shared baseline (unless the
    grid switched the before-eval off)."""
    if (engine_cfg.get("eval") or {}).get("before", True) is False:
        return engine_cfg
    out = copy.deepcopy(engine_cfg)
    out.setdefault("eval", {})["before_from"] = str(base)
    return out


def _yaml_dump(path: Path, data: Mapping[str, Any]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")


def _yaml_load(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except yaml.YAMLError:
        return None


def run_baseline(cfg: BenchConfig, model: ModelSpec, task: TaskSpec, out_dir: Path, *, log: Any = print) -> str | None:
    """Measure the base model once per model x task (reused while its config is unchanged).
    Returns ``None`` when the baseline is ready, else the reason it failed.

    The eval numbers depend on the model, questions, task grouping and sampler, not on the
    estimator, so the config of the grid's first training estimator serves every cell (the
    engine re-checks that each run's eval settings match before it takes the numbers)."""
    base = baseline_dir(out_dir, model, task)
    eval_cfg = engine_config(cfg, model, task, cfg.estimator(cfg.train.estimators[0]), base)
    eval_cfg.get("eval", {}).pop("before_from", None)
    cfg_path = base.parent / f"{base.name}.yaml"
    done = base / "eval_only.json"
    if _yaml_load(cfg_path) == eval_cfg and done.is_file():
        return None
    base.mkdir(parents=True, exist_ok=True)
    done.unlink(missing_ok=True)
    _yaml_dump(cfg_path, eval_cfg)
    cmd = [sys.executable, "-m", "ttrl_kit.cli.main", "eval", "--config", str(cfg_path), "--output", str(base)]
    log(f"baseline {model.id}/{task.id}: {' '.join(cmd[2:])}")
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=None, text=True, env=dict(os.environ))
    if proc.returncode != 0 or not done.is_file():
        return f"the baseline eval (ttrl-kit eval --config {cfg_path}) exited {proc.returncode}"
    return None


def _row_from_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    k = summary.get("k")
    test = summary.get("test") or {}
    before, after = test.get("before") or {}, test.get("after") or {}
    training = summary.get("training") or {}
    last = training.get("last") or {}
    return {
        "steps": summary.get("steps"),
        "train_s": training.get("train_time_s"),
        "k": k,
        "before_avg_at_k": before.get("pass@1 (avg@k)"),
        "after_avg_at_k": after.get("pass@1 (avg@k)"),
        "before_maj_at_k": before.get(f"maj@{k}"),
        "after_maj_at_k": after.get(f"maj@{k}"),
        "before_pass_at_k": before.get(f"pass@{k}"),
        "after_pass_at_k": after.get(f"pass@{k}"),
        "label_accuracy": last.get("label_accuracy"),
        "estimate_share": training.get("estimate_share_mean"),
    }


def _cell(cfg: BenchConfig, model: ModelSpec, task: TaskSpec, est: EstimatorSpec, out_dir: Path):
    run_dir = out_dir / "train" / model.id / task.id / est.id
    cell_path = out_dir / "cells" / "train" / model.id / task.id / f"{est.id}.json"
    engine_cfg = _with_baseline(engine_config(cfg, model, task, est, run_dir), baseline_dir(out_dir, model, task))
    return run_dir, cell_path, engine_cfg, fingerprint(TRAIN_VERSION, engine_cfg)


def _stored_cell(cell_path: Path) -> dict[str, Any]:
    """A training cell's file (key, row, engine config); empty when absent or unreadable."""
    try:
        stored = json.loads(cell_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _finished_row(stored: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """The stored row when it finished under this key, else ``None``."""
    row = stored.get("row") or {}
    return dict(row) if stored.get("key") == key and row.get("status") == "ok" else None


def cached_train_row(
    cfg: BenchConfig, model: ModelSpec, task: TaskSpec, est: EstimatorSpec, out_dir: Path
) -> dict[str, Any] | None:
    """The finished row of a training cell, or ``None`` when it has not completed."""
    _, cell_path, _, key = _cell(cfg, model, task, est, out_dir)
    return _finished_row(_stored_cell(cell_path), key)


def run_train_cell(
    cfg: BenchConfig,
    model: ModelSpec,
    task: TaskSpec,
    est: EstimatorSpec,
    out_dir: Path,
    *,
    log: Any = print,
) -> dict[str, Any]:
    """Run (or resume, or reuse) one training cell; returns its result row."""
    run_dir, cell_path, engine_cfg, key = _cell(cfg, model, task, est, out_dir)
    base = {"mode": "train", "model": model.id, "task": task.id, "estimator": est.id, "run_dir": str(run_dir)}
    stored = _stored_cell(cell_path)
    cached = _finished_row(stored, key)
    if cached is not None:
        return {**cached, "cached": True}
    cell_path.parent.mkdir(parents=True, exist_ok=True)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    cfg_path = out_dir / "train" / model.id / task.id / f"{est.id}.yaml"
    if "before_from" in engine_cfg.get("eval", {}):
        failed = run_baseline(cfg, model, task, out_dir, log=log)
        if failed:
            return {**base, "status": "failed", "reason": failed}
    old_key = stored.get("key")  # None: no finished cell yet, an interrupted run resumes
    if (_yaml_load(cfg_path) != engine_cfg or old_key not in (None, key)) and run_dir.exists():
        # The cell's settings (or TRAIN_VERSION: what the code computes) changed: the old run
        # answers a different question, and resuming it would not train again.
        import shutil

        shutil.rmtree(run_dir)
    _yaml_dump(cfg_path, engine_cfg)
    cmd = [sys.executable, "-m", "ttrl_kit.cli.main", "train"]
    if (run_dir / "config.yaml").is_file():
        cmd += ["--resume", str(run_dir)]
    else:
        cmd += [str(cfg_path), "--output", str(run_dir)]
    log(f"train {model.id}/{task.id}/{est.id}: {' '.join(cmd[2:])}")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=dict(os.environ))
    wall = time.perf_counter() - t0
    summary_path = run_dir / "summary.json"
    if proc.returncode != 0 or not summary_path.is_file():
        reason = f"ttrl-kit train exited {proc.returncode}; see {run_dir}"
        row = {**base, "status": "failed", "reason": reason, "wall_s": round(wall, 1)}
    else:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        row = {**base, "status": "ok", **_row_from_summary(summary), "wall_s": round(wall, 1)}
    tmp = cell_path.with_name(cell_path.name + ".tmp")
    tmp.write_text(json.dumps({"key": key, "row": row, "engine_config": engine_cfg}, indent=1), encoding="utf-8")
    os.replace(tmp, cell_path)
    return row
