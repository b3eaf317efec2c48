"""The bench config: a grid of models x tasks x estimators, validated before anything loads.

A bench config names tasks, estimators and datasets only by their registry names, so the
bench (like an engine) never imports a plugin.  Every grid axis has a short ``id`` that is
used in file names and tables; ids default to the name and must be unique per axis.

Validation happens here, with one-line errors naming the file and the field, before any
model is loaded or any rollout is sampled: a typo in an estimator option costs a second.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.io import load_mapping

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,79}$")
MODES = ("estimate", "train")


@dataclass(frozen=True)
class SamplingSpec:
    """How rollouts are drawn; part of the rollout cache key."""

    n: int = 8
    temperature: float = 0.8
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 64
    #: Prompts per ``generate`` call (each expanded to ``n`` samples); also the resume unit.
    prompts_per_batch: int = 4


@dataclass(frozen=True)
class ModelSpec:
    id: str
    #: ``smollm2-135m``, ``tiny-random``, a local directory or an HF hub id (engine loader).
    name: str
    #: Generation precision: ``bf16`` (faster on CPUs with native bf16) or ``fp32``.
    dtype: str = "bf16"


@dataclass(frozen=True)
class TaskSpec:
    id: str
    task: str
    dataset: str
    source: str
    task_options: Mapping[str, Any] = field(default_factory=dict)
    dataset_options: Mapping[str, Any] = field(default_factory=dict)
    id_field: str = "id"
    #: Use only the first ``limit`` rows (null: all).
    limit: int | None = None
    sampling: SamplingSpec = field(default_factory=SamplingSpec)


@dataclass(frozen=True)
class EstimatorSpec:
    id: str
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Vote with only the first ``n_votes`` cached samples (null: all ``sampling.n``).
    n_votes: int | None = None


@dataclass(frozen=True)
class TrainSpec:
    """Short TTRL runs through the embedded engine: one per model x task x estimator listed."""

    tasks: tuple[str, ...] = ()
    estimators: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    #: Engine config sections (``train``, ``ttrl``, ``generation``, ``eval``, ...) merged into
    #: the generated run config; see ``ttrl-kit train``'s config reference.
    engine: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchConfig:
    name: str
    output: str
    modes: tuple[str, ...]
    seed: int
    models: tuple[ModelSpec, ...]
    tasks: tuple[TaskSpec, ...]
    estimators: tuple[EstimatorSpec, ...]
    train: TrainSpec
    source: str = "<config>"

    def model(self, mid: str) -> ModelSpec:
        return next(m for m in self.models if m.id == mid)

    def task(self, tid: str) -> TaskSpec:
        return next(t for t in self.tasks if t.id == tid)

    def estimator(self, eid: str) -> EstimatorSpec:
        return next(e for e in self.estimators if e.id == eid)


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts: the cache key of a rollout file or a cell."""
    blob = json.dumps(parts, sort_keys=True, default=_jsonable, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    return str(obj)


# -- parsing ---------------------------------------------------------------------------------


class _Ctx:
    def __init__(self, where: str) -> None:
        self.where = where

    def err(self, fld: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.where}: field {fld!r}: {msg}")

    def mapping(self, value: Any, fld: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.err(fld, f"expected a mapping, got {type(value).__name__}")
        return dict(value)

    def keys(self, data: Mapping[str, Any], known: set[str], fld: str) -> None:
        unknown = sorted(set(data) - known)
        if unknown:
            prefix = f"{fld}." if fld else ""
            raise self.err(f"{prefix}{unknown[0]}", f"unknown key; known: {', '.join(sorted(known))}")

    def string(self, data: Mapping[str, Any], key: str, fld: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.err(fld, f"expected a non-empty string, got {value!r}")
        return value

    def integer(self, value: Any, fld: str, minimum: int | None = None, optional: bool = False) -> int | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(fld, f"expected an integer, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.err(fld, f"expected >= {minimum}, got {value}")
        return value

    def number(self, value: Any, fld: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.err(fld, f"expected a number, got {value!r}")
        return float(value)

    def ident(self, value: Any, fld: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise self.err(fld, f"expected an id of letters, digits and ._@+=- (max 80), got {value!r}")
        return value


def _sampling(ctx: _Ctx, data: Any, fld: str, base: SamplingSpec) -> SamplingSpec:
    d = ctx.mapping(data, fld)
    ctx.keys(d, set(SamplingSpec.__dataclass_fields__), fld)
    vals = asdict(base)
    for key in ("n", "top_k", "max_new_tokens", "prompts_per_batch"):
        if key in d:
            vals[key] = ctx.integer(d[key], f"{fld}.{key}", minimum=0 if key == "top_k" else 1)
    for key in ("temperature", "top_p"):
        if key in d:
            vals[key] = ctx.number(d[key], f"{fld}.{key}")
    if not vals["temperature"] > 0:
        raise ctx.err(f"{fld}.temperature", f"expected > 0, got {vals['temperature']}")
    if not 0 < vals["top_p"] <= 1:
        raise ctx.err(f"{fld}.top_p", f"expected in (0, 1], got {vals['top_p']}")
    return SamplingSpec(**vals)


def _model(ctx: _Ctx, item: Any, fld: str) -> ModelSpec:
    if isinstance(item, str):
        item = {"name": item}
    d = ctx.mapping(item, fld)
    ctx.keys(d, {"id", "name", "dtype"}, fld)
    name = ctx.string(d, "name", f"{fld}.name")
    default_id = re.sub(r"[^A-Za-z0-9._@+=-]+", "_", name.strip("/~.")).strip("_") or "model"
    mid = ctx.ident(d.get("id", default_id[-80:]), f"{fld}.id")
    dtype = d.get("dtype", "bf16")
    if dtype not in ("bf16", "fp32"):
        raise ctx.err(f"{fld}.dtype", f"expected bf16 or fp32, got {dtype!r}")
    return ModelSpec(id=mid, name=name, dtype=dtype)


def _task(ctx: _Ctx, item: Any, fld: str, base: SamplingSpec, root: Path) -> TaskSpec:
    d = ctx.mapping(item, fld)
    known = {
        "id",
        "task",
        "task_options",
        "task_config",
        "dataset",
        "source",
        "dataset_options",
        "id_field",
        "limit",
        "sampling",
    }
    ctx.keys(d, known, fld)
    task = ctx.string(d, "task", f"{fld}.task")
    options: dict[str, Any] = {}
    if d.get("task_config") is not None:
        options.update(_task_config_options(ctx, d["task_config"], task, f"{fld}.task_config", root))
    options.update(ctx.mapping(d.get("task_options"), f"{fld}.task_options"))
    dataset = ctx.string(d, "dataset", f"{fld}.dataset")
    source = d.get("source")
    if not isinstance(source, str) or not source:
        raise ctx.err(f"{fld}.source", f"expected a non-empty string, got {source!r}")
    return TaskSpec(
        id=ctx.ident(d.get("id", task), f"{fld}.id"),
        task=task,
        dataset=dataset,
        source=source,
        task_options=options,
        dataset_options=ctx.mapping(d.get("dataset_options"), f"{fld}.dataset_options"),
        id_field=ctx.string(d, "id_field", f"{fld}.id_field", "id"),
        limit=ctx.integer(d.get("limit"), f"{fld}.limit", minimum=1, optional=True),
        sampling=_sampling(ctx, d.get("sampling"), f"{fld}.sampling", base),
    )


def _task_config_options(ctx: _Ctx, path: Any, task: str, fld: str, root: Path) -> dict[str, Any]:
    """Task options from another config file: either a bare options mapping or a run config
    with a ``task: {name, options}`` section (the shape ``ttrl-kit train`` configs use)."""
    if not isinstance(path, str) or not path:
        raise ctx.err(fld, f"expected a file path, got {path!r}")
    p = Path(path)
    if not p.is_absolute() and not p.exists() and (root / p).exists():
        p = root / p
    if not p.is_file():
        raise ctx.err(fld, f"file not found: {path}")
    data = load_mapping(p)
    section = data.get("task")
    if isinstance(section, Mapping):
        if section.get("name") not in (None, task):
            raise ctx.err(fld, f"{p}: task.name is {section.get('name')!r} but this task is {task!r}")
        opts = section.get("options") or {}
        if not isinstance(opts, Mapping):
            raise ctx.err(fld, f"{p}: task.options must be a mapping")
        return dict(opts)
    return dict(data)


def _estimator(ctx: _Ctx, item: Any, fld: str) -> EstimatorSpec:
    if isinstance(item, str):
        item = {"name": item}
    d = ctx.mapping(item, fld)
    ctx.keys(d, {"id", "name", "options", "n_votes"}, fld)
    name = ctx.string(d, "name", f"{fld}.name")
    return EstimatorSpec(
        id=ctx.ident(d.get("id", name), f"{fld}.id"),
        name=name,
        options=ctx.mapping(d.get("options"), f"{fld}.options"),
        n_votes=ctx.integer(d.get("n_votes"), f"{fld}.n_votes", minimum=1, optional=True),
    )


def _unique(ctx: _Ctx, specs: tuple[Any, ...], fld: str) -> None:
    seen: set[str] = set()
    for i, s in enumerate(specs):
        if s.id in seen:
            raise ctx.err(f"{fld}[{i}].id", f"duplicate id {s.id!r}; give each entry a distinct id")
        seen.add(s.id)


def _id_list(ctx: _Ctx, value: Any, fld: str, known: list[str]) -> tuple[str, ...]:
    if value is None:
        return tuple(known)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ctx.err(fld, f"expected a list of ids, got {value!r}")
    for i, v in enumerate(value):
        if v not in known:
            raise ctx.err(f"{fld}[{i}]", f"unknown id {v!r}; known: {', '.join(known)}")
    return tuple(value)


def from_mapping(data: Mapping[str, Any], where: str = "<config>", *, root: Path | None = None) -> BenchConfig:
    """Parse and validate a bench config (no model, no sampling; registry names are checked
    later by :func:`check_names`, which needs the plugins)."""
    ctx = _Ctx(where)
    root = root or Path.cwd()
    d = ctx.mapping(data, "top level")
    known = {"name", "output", "modes", "seed", "sampling", "models", "tasks", "estimators", "train"}
    ctx.keys(d, known, "")
    name = ctx.ident(d.get("name", Path(where).stem if where != "<config>" else "bench"), "name")
    output = d.get("output", f"runs/bench/{name}")
    if not isinstance(output, str) or not output:
        raise ctx.err("output", f"expected a directory path, got {output!r}")
    modes_val = d.get("modes", ["estimate"])
    if isinstance(modes_val, str):
        modes_val = [modes_val]
    if not isinstance(modes_val, list) or not modes_val or any(m not in MODES for m in modes_val):
        raise ctx.err("modes", f"expected a non-empty list of {', '.join(MODES)}, got {modes_val!r}")
    seed = ctx.integer(d.get("seed", 0), "seed", minimum=0)
    base = _sampling(ctx, d.get("sampling"), "sampling", SamplingSpec())

    def items(key: str) -> list[Any]:
        value = d.get(key)
        if not isinstance(value, list) or not value:
            raise ctx.err(key, "expected a non-empty list")
        return value

    models = tuple(_model(ctx, m, f"models[{i}]") for i, m in enumerate(items("models")))
    tasks = tuple(_task(ctx, t, f"tasks[{i}]", base, root) for i, t in enumerate(items("tasks")))
    estimators = tuple(_estimator(ctx, e, f"estimators[{i}]") for i, e in enumerate(items("estimators")))
    _unique(ctx, models, "models")
    _unique(ctx, tasks, "tasks")
    _unique(ctx, estimators, "estimators")
    for i, e in enumerate(estimators):
        if e.n_votes is None:
            continue
        for t in tasks:
            if e.n_votes > t.sampling.n:
                raise ctx.err(f"estimators[{i}].n_votes", f"{e.n_votes} > sampling.n={t.sampling.n} of task {t.id!r}")
    tr = ctx.mapping(d.get("train"), "train")
    ctx.keys(tr, {"tasks", "estimators", "models", "engine"}, "train")
    est_ids = [e.id for e in estimators]
    train_estimators = (
        _id_list(ctx, tr["estimators"], "train.estimators", est_ids)
        if tr.get("estimators") is not None
        else (est_ids[0],)
    )
    train = TrainSpec(
        tasks=_id_list(ctx, tr.get("tasks"), "train.tasks", [t.id for t in tasks]),
        estimators=train_estimators,
        models=_id_list(ctx, tr.get("models"), "train.models", [m.id for m in models]),
        engine=ctx.mapping(tr.get("engine"), "train.engine"),
    )
    return BenchConfig(
        name=name,
        output=output,
        modes=tuple(modes_val),
        seed=int(seed or 0),
        models=models,
        tasks=tasks,
        estimators=estimators,
        train=train,
        source=where,
    )


def load_bench_config(path: str | Path) -> BenchConfig:
    p = Path(path)
    return from_mapping(load_mapping(p), str(p))


def check_names(cfg: BenchConfig, registry: Any) -> None:
    """Resolve every task, dataset and estimator name (and its options) in the registry now,
    so a typo fails before the first model load instead of an hour into a grid."""
    from ttrl_kit.core.errors import TTRLError

    for i, t in enumerate(cfg.tasks):
        try:
            registry.task(t.task, **dict(t.task_options))
        except TTRLError as exc:
            raise ConfigError(f"{cfg.source}: field 'tasks[{i}].task': {exc}") from None
        try:
            registry.dataset_loader(t.dataset)
        except TTRLError as exc:
            raise ConfigError(f"{cfg.source}: field 'tasks[{i}].dataset': {exc}") from None
    for i, e in enumerate(cfg.estimators):
        try:
            registry.estimator(e.name, **dict(e.options))
        except TTRLError as exc:
            raise ConfigError(f"{cfg.source}: field 'estimators[{i}]': {exc}") from None
        n_train = e.options.get("n_train")
        if isinstance(n_train, int):
            for t in cfg.tasks:
                votes = e.n_votes or t.sampling.n
                if n_train > votes:
                    raise ConfigError(
                        f"{cfg.source}: field 'estimators[{i}].options.n_train': {n_train} > {votes} votes for task {t.id!r}"
                    )
