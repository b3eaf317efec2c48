"""The self-describing run directory.

RUN/
  config.yaml        resolved config (everything --resume needs)
  run.json           versions, model source, command, status, timings
  metrics.jsonl      one line per optimizer step
  eval_before.json   avg@k / maj@k / pass@k before training (+ eval_before_questions.jsonl,
                     and eval_before_settings.json: what the numbers depend on)
  eval_after.json    the same after training
  summary.json       before/after side by side, target check
  summary.md         the same for people
  plots/*.png        training curves and before/after bars
  checkpoints/checkpoint-N/   TRL checkpoints (model, optimizer, RNG, trainer state)
  final_model/       trained weights + tokenizer (if checkpoint.save_final)
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ttrl_kit.core.errors import ConfigError


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # layout ---------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @property
    def final_model(self) -> Path:
        return self.path / "final_model"

    @property
    def snapshots(self) -> Path:
        """Per-step weight snapshots for the checkpoint pick (removed once it is made)."""
        return self.path / "snapshots"

    @property
    def picked_model(self) -> Path:
        """The label-free pick's weights + tokenizer (when it is not the last checkpoint)."""
        return self.path / "picked_model"

    @property
    def selection_file(self) -> Path:
        return self.path / "selection.json"

    def eval_file(self, which: str) -> Path:
        return self.path / f"eval_{which}.json"

    def eval_questions_file(self, which: str) -> Path:
        return self.path / f"eval_{which}_questions.jsonl"

    def eval_settings_file(self, which: str) -> Path:
        return self.path / f"eval_{which}_settings.json"

    # writing --------------------------------------------------------------------------
    def check_writable(self) -> None:
        """One-line error, before anything is written, when the directory cannot be made here
        (the path, or a parent of it, is a file)."""
        for p in [self.path, *self.path.parents]:
            if p.exists():
                if not p.is_dir():
                    what = "is a file" if p == self.path else f"cannot be created: {p} is a file"
                    raise ConfigError(f"{self.path}: run directory {what}")
                if not os.access(p, os.W_OK | os.X_OK) and p != self.path:
                    raise ConfigError(f"{self.path}: run directory cannot be created: {p} is not writable")
                break

    def create(self, resolved: dict[str, Any], *, overwrite: bool = False) -> None:
        self.check_writable()
        if self.config.exists() and not overwrite:
            raise ConfigError(
                f"{self.path}: run directory already holds a run; use `ttrl-kit train --resume {self.path}` "
                "or choose another output.dir"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_atomic(self.config, yaml.safe_dump(resolved, sort_keys=False))
        self.update_run_json(
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            command=" ".join(sys.argv),
            status="created",
            environment=environment(),
        )

    @staticmethod
    def write_atomic(path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".partial")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def read_run_json(self) -> dict[str, Any]:
        if self.run_json.is_file():
            return json.loads(self.run_json.read_text(encoding="utf-8"))
        return {}

    def update_run_json(self, **fields: Any) -> dict[str, Any]:
        data = self.read_run_json()
        data.update(fields)
        self.write_atomic(self.run_json, json.dumps(data, indent=2, default=str))
        return data

    def write_json(self, path: Path, obj: Any) -> None:
        self.write_atomic(path, json.dumps(obj, indent=2, default=str))

    def read_metrics(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.metrics.is_file():
            return out
        for line in self.metrics.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by kill -9
        return out

    def truncate_metrics(self, last_step: int) -> int:
        """Keep metric lines up to ``last_step`` (the checkpoint resumed from); the steps after
        it are re-run and would otherwise appear twice.  Returns how many lines were dropped."""
        rows = self.read_metrics()
        keep = [r for r in rows if int(r.get("step", 0)) <= last_step]
        self.write_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in keep))
        return len(rows) - len(keep)


def environment() -> dict[str, Any]:
    import importlib.metadata as md

    env: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    for pkg in ("torch", "transformers", "trl", "accelerate", "peft", "ttrl-kit"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            env[pkg] = None
    return env
