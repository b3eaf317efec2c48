"""Run a bench grid: rollouts per model x task (cached), every estimator scored on them
(cached per cell), optional short training runs, then the report.

Cells are files (``cells/estimate/<model>/<task>/<estimator>.json``) whose key hashes the
rollout key, the estimator spec and the installed plugin versions; a rerun loads them and
touches no model, so a finished grid reruns in seconds and an interrupted one continues
where it stopped.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ttrl_kit.bench.config import BenchConfig, EstimatorSpec, ModelSpec, TaskSpec, check_names, fingerprint
from ttrl_kit.bench.rollouts import RolloutSet, ensure_rollouts, grid_signals, rollout_key
from ttrl_kit.bench.sampling import Sampler, load_sampler
from ttrl_kit.bench.scoring import score_cell
from ttrl_kit.core.errors import ConfigError

CELL_VERSION = "cell-v4"  # v3: reward_corr, reward_auroc, n/a label metrics; v4: the abstain rule
SamplerFactory = Callable[[ModelSpec, int], Sampler]


@dataclass
class BenchResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    files: dict[str, Path] = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)
    #: Cells computed in this call (the rest came from the cache).
    computed: int = 0
    cached: int = 0
    #: Cells not run yet (only with ``report_only``).
    missing: int = 0
    sampled_groups: int = 0
    seconds: float = 0.0


def _plugin_versions(registry: Any) -> dict[str, str]:
    try:
        return {p.name: f"{p.package}=={p.version}" for p in registry.plugins()}
    except Exception:
        return {}


def _cell_path(out_dir: Path, model: ModelSpec, task: TaskSpec, est: EstimatorSpec) -> Path:
    return out_dir / "cells" / "estimate" / model.id / task.id / f"{est.id}.json"


def _read_cell(path: Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("key") == key else None


def _write_cell(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _base_row(model: ModelSpec, task: TaskSpec, est: EstimatorSpec) -> dict[str, Any]:
    return {
        "mode": "estimate",
        "model": model.id,
        "task": task.id,
        "estimator": est.id,
        "model_name": model.name,
        "dtype": model.dtype,
        "task_name": task.task,
        "dataset": f"{task.dataset}:{task.source}",
        "estimator_name": est.name,
        "estimator_options": json.dumps(dict(est.options), sort_keys=True),
        "temperature": task.sampling.temperature,
        "max_new_tokens": task.sampling.max_new_tokens,
    }


def run_bench(
    cfg: BenchConfig,
    *,
    out_dir: str | Path | None = None,
    modes: Sequence[str] | None = None,
    sampler_factory: SamplerFactory | None = None,
    registry: Any = None,
    rescore: bool = False,
    progress: bool = True,
    plots: bool = True,
    report_only: bool = False,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> BenchResult:
    """Run (or continue) the grid of ``cfg`` and write the report into ``out_dir``.

    ``report_only`` computes nothing: the report is built from the cells finished so far
    (e.g. while a long grid is still running elsewhere, or after it was stopped)."""
    from tqdm.auto import tqdm

    from ttrl_kit.bench.report import write_plots, write_tables
    from ttrl_kit.core.plugins import get_registry

    t_start = time.perf_counter()
    registry = registry or get_registry()
    check_names(cfg, registry)
    modes = tuple(modes or cfg.modes)
    out = Path(out_dir or cfg.output)
    if sampler_factory is None and not report_only:
        from ttrl_kit.engines.embedded.models import check_model

        for i, m in enumerate(cfg.models):  # a missing model fails now, not after the first cells
            try:
                check_model(m.name)
            except ConfigError as exc:
                raise ConfigError(f"{cfg.source}: field 'models[{i}].name': {exc}") from None
    for p in [out, *out.parents]:
        if p.exists():
            if not p.is_dir():
                raise ConfigError(f"{out}: output directory cannot be created: {p} is a file")
            break
    out.mkdir(parents=True, exist_ok=True)
    factory = sampler_factory or (lambda spec, seed: load_sampler(spec, seed=seed))
    versions = _plugin_versions(registry)
    (out / "config.resolved.json").write_text(
        json.dumps({"source": cfg.source, "config": asdict(cfg), "plugins": versions}, indent=1, default=str),
        encoding="utf-8",
    )
    result = BenchResult(out_dir=out, rows=[])
    points: dict[tuple[str, str, str], list[tuple[float, float]]] = {}

    if "estimate" in modes:
        signals = grid_signals(cfg, registry)  # stored with the rollouts when an estimator needs them
        total = len(cfg.models) * len(cfg.tasks) * len(cfg.estimators)
        cells_bar = tqdm(total=total, desc="bench cells", unit="cell", disable=not progress, position=0)
        sample_bar = tqdm(total=0, desc="sample", unit="prompt", disable=not progress, position=1, leave=False)
        for model in cfg.models:
            sampler: list[Sampler] = []

            def get_sampler(model: ModelSpec = model, holder: list[Sampler] = sampler) -> Sampler:
                if not holder:
                    log(f"loading model {model.name} ({model.dtype})")
                    holder.append(factory(model, cfg.seed))
                return holder[0]

            for task in cfg.tasks:
                rkey = rollout_key(cfg, model, task, signals)
                keys = {e.id: fingerprint(CELL_VERSION, rkey, asdict(e), versions) for e in cfg.estimators}
                cells = {
                    e.id: (None if rescore else _read_cell(_cell_path(out, model, task, e), keys[e.id]))
                    for e in cfg.estimators
                }
                rollouts: RolloutSet | None = None
                if report_only:
                    result.missing += sum(1 for c in cells.values() if c is None)
                    cells_bar.update(sum(1 for c in cells.values() if c is None))
                    cells = {k: c for k, c in cells.items() if c is not None}
                elif any(c is None for c in cells.values()):
                    rollouts = ensure_rollouts(cfg, model, task, out, registry, get_sampler, sample_bar, signals)
                    result.sampled_groups += rollouts.sampled
                for est in cfg.estimators:
                    if est.id not in cells:
                        continue
                    cell = cells[est.id]
                    if cell is None:
                        assert rollouts is not None
                        row = _base_row(model, task, est)
                        if rollouts.status == "skipped":
                            row.update(status="skipped", reason=rollouts.reason)
                            cell = {"key": keys[est.id], "row": row, "points": []}
                        else:
                            score = score_cell(rollouts, task.task, task.task_options, est, registry)
                            row.update(status="ok", **score.metrics)
                            row["generate_s"] = rollouts.meta.get("generate_s")
                            row["new_tokens"] = rollouts.meta.get("new_tokens")
                            pts = [
                                (g["majority_ratio"], g["reward_accuracy"])
                                for g in score.groups
                                if g.get("reward_accuracy") is not None
                            ]
                            cell = {"key": keys[est.id], "row": row, "points": pts, "groups": score.groups}
                        _write_cell(_cell_path(out, model, task, est), cell)
                        result.computed += 1
                    else:
                        result.cached += 1
                    result.rows.append(cell["row"])
                    points[(model.id, task.id, est.id)] = [tuple(p) for p in cell.get("points", [])]
                    cells_bar.update(1)
            if sampler:
                sampler.clear()
                gc.collect()
        sample_bar.close()
        cells_bar.close()

    if "train" in modes:
        from ttrl_kit.bench.train import cached_train_row, run_train_cell

        combos = [
            (cfg.model(m), cfg.task(t), cfg.estimator(e))
            for m in cfg.train.models
            for t in cfg.train.tasks
            for e in cfg.train.estimators
        ]
        bar = tqdm(combos, desc="train cells", unit="run", disable=not progress)
        for model, task, est in bar:
            bar.set_postfix_str(f"{model.id}/{task.id}/{est.id}")
            if report_only:
                cached = cached_train_row(cfg, model, task, est, out)
                if cached is None:
                    result.missing += 1
                    continue
                row = cached
                row["cached"] = True
            else:
                row = run_train_cell(cfg, model, task, est, out, log=log)
            if row.pop("cached", False):
                result.cached += 1
            else:
                result.computed += 1
            result.rows.append(row)
        bar.close()

    result.seconds = time.perf_counter() - t_start
    header = {
        "name": cfg.name,
        "config": cfg.source,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cells": f"{result.computed} computed, {result.cached} from cache"
        + (f", {result.missing} NOT RUN YET (partial report)" if result.missing else ""),
        "plugins": ", ".join(sorted(v for v in versions.values())),
    }
    result.files = write_tables(out, result.rows, header)
    if plots:
        result.plots = write_plots(out, result.rows, points)
    return result
