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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.io import load_mapping, task_config_options
from ttrl_kit.core.schema import build, setting

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,79}$")
MODES = ("estimate", "train")


def _ident(value: Any) -> Any:
    """A grid axis id: used in file names and tables."""
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"expected an id of letters, digits and ._@+=- (max 80), got {value!r}")
    return value


def _modes(value: Any) -> Any:
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not value or any(m not in MODES for m in value):
        raise ValueError(f"expected a non-empty list of {', '.join(MODES)}, got {value!r}")
    return value


@dataclass(frozen=True)
class SamplingSpec:
    """How rollouts are drawn; part of the rollout cache key."""

    n: int = setting(8, help="Samples per prompt.", ge=1)
    temperature: float = setting(0.8, help="Sampling temperature.", gt=0)
    top_p: float = setting(1.0, help="Nucleus sampling mass.", gt=0, le=1)
    top_k: int = setting(0, help="Top-k filtering; 0 disables it.", ge=0)
    max_new_tokens: int = setting(64, help="Tokens sampled per response at most.", ge=1)
    prompts_per_batch: int = setting(
        4, help="Prompts per ``generate`` call (each expanded to ``n`` samples); also the resume unit.", ge=1
    )


@dataclass(frozen=True)
class ModelSpec:
    id: str = setting(help="Short id used in file names and tables (default: from the name).", parse=_ident)
    name: str = setting(
        help="``smollm2-135m``, ``tiny-random``, a local directory or an HF hub id (engine loader).", nonempty=True
    )
    dtype: str = setting(
        "bf16",
        help="Generation precision: ``bf16`` (faster on CPUs with native bf16) or ``fp32``.",
        choices=("bf16", "fp32"),
    )


@dataclass(frozen=True)
class TaskSpec:
    id: str = setting(help="Short id used in file names and tables (default: the task name).", parse=_ident)
    task: str = setting(help="Task name from the plugin registry.", nonempty=True)
    dataset: str = setting(help="Dataset loader name from the plugin registry.", nonempty=True)
    source: str = setting(help="The loader's source (a family name, a file path, ...).", nonempty=True)
    task_options: Mapping[str, Any] = setting(
        help="Task options (over those of ``task_config``, a file with a bare mapping or a run config's "
        "``task: {name, options}``).",
        default_factory=dict,
    )
    dataset_options: Mapping[str, Any] = setting(help="Extra keyword options for the loader.", default_factory=dict)
    id_field: str = setting("id", help="The column that identifies a prompt.", nonempty=True)
    limit: int | None = setting(None, help="Use only the first ``limit`` rows (null: all).", ge=1)
    sampling: SamplingSpec = setting(
        help="Overrides of the grid's ``sampling`` for this task.", default_factory=SamplingSpec
    )


@dataclass(frozen=True)
class EstimatorSpec:
    id: str = setting(help="Short id used in file names and tables (default: the name).", parse=_ident)
    name: str = setting(help="Estimator name from the plugin registry.", nonempty=True)
    options: Mapping[str, Any] = setting(help="Keyword options of the estimator.", default_factory=dict)
    n_votes: int | None = setting(
        None, help="Vote with only the first ``n_votes`` cached samples (null: all ``sampling.n``).", ge=1
    )


@dataclass(frozen=True)
class TrainSpec:
    """Short TTRL runs through the embedded engine: one per model x task x estimator listed."""

    tasks: tuple[str, ...] = setting((), help="Task ids trained on (default: all).")
    estimators: tuple[str, ...] = setting((), help="Estimator ids trained with (default: the first).")
    models: tuple[str, ...] = setting((), help="Model ids trained (default: all).")
    engine: Mapping[str, Any] = setting(
        help="Engine config sections (``train``, ``ttrl``, ``generation``, ``eval``, ...) merged into the generated "
        "run config; see ``ttrl-kit train``'s config reference.",
        default_factory=dict,
    )


@dataclass(frozen=True)
class BenchConfig:
    name: str = setting(help="The grid's name (default: the config file's stem).", parse=_ident)
    output: str = setting(help="Output directory (default: runs/bench/NAME).", nonempty="a directory path")
    modes: tuple[str, ...] = setting(help="What to run: ``estimate`` (cached rollouts) and/or ``train``.", parse=_modes)
    seed: int = setting(help="Seed of the sampling.", ge=0)
    models: tuple[ModelSpec, ...] = setting(help="Models (a name, or {id, name, dtype}).")
    tasks: tuple[TaskSpec, ...] = setting(help="Tasks with their datasets.")
    estimators: tuple[EstimatorSpec, ...] = setting(help="Estimators (a name, or {id, name, options, n_votes}).")
    train: TrainSpec = setting(help="The ``train`` mode's runs.", default_factory=TrainSpec)
    source: str = setting("<config>", help="Where the config came from (errors).", internal=True)

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


# -- parsing: defaults that depend on other keys, then one build() ---------------------------------


def _err(where: str, fld: str, msg: str) -> ConfigError:
    return ConfigError(f"{where}: field {fld!r}: {msg}")


def _items(d: dict[str, Any], key: str, where: str) -> list[Any]:
    value = d.get(key)
    if not isinstance(value, list) or not value:
        raise _err(where, key, "expected a non-empty list")
    return value


def _named(item: Any, default_id: Any) -> Any:
    """``"name"`` -> ``{"name": name}``; an id derived from the name where none is given."""
    if isinstance(item, str):
        item = {"name": item}
    if isinstance(item, Mapping) and "id" not in item and isinstance(item.get("name"), str) and item["name"]:
        item = {**item, "id": default_id(item["name"])}
    return item


def _model_id(name: str) -> str:
    return (re.sub(r"[^A-Za-z0-9._@+=-]+", "_", name.strip("/~.")).strip("_") or "model")[-80:]


def _task_item(item: Any, fld: str, base: SamplingSpec, root: Path, where: str) -> Any:
    if not isinstance(item, Mapping):
        return item  # build() names what was expected
    item = dict(item)
    task = item.get("task")
    if "id" not in item and isinstance(task, str) and task:
        item["id"] = task
    if item.get("task_config") is not None:
        options = _task_config_options(item["task_config"], task, f"{fld}.task_config", root, where)
        given = item.get("task_options")
        item["task_options"] = {**options, **given} if isinstance(given, Mapping) else given or options
    item.pop("task_config", None)
    sampling = item.get("sampling")
    if sampling is None or isinstance(sampling, Mapping):
        item["sampling"] = {**asdict(base), **(sampling or {})}
    return item


def _task_config_options(path: Any, task: Any, fld: str, root: Path, where: str) -> dict[str, Any]:
    """Task options from another config file: either a bare options mapping or a run config
    with a ``task: {name, options}`` section (the shape ``ttrl-kit train`` configs use)."""
    if not isinstance(path, str) or not path:
        raise _err(where, fld, f"expected a file path, got {path!r}")
    p = Path(path)
    if not p.is_absolute() and not p.exists() and (root / p).exists():
        p = root / p
    if not p.is_file():
        raise _err(where, fld, f"file not found: {path}")
    try:
        return task_config_options(p, task)
    except ConfigError as exc:
        raise _err(where, fld, str(exc)) from None


def _id_list(value: Any, fld: str, known: list[str], default: list[str], where: str) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _err(where, fld, f"expected a list of ids, got {value!r}")
    for i, v in enumerate(value):
        if v not in known:
            raise _err(where, f"{fld}[{i}]", f"unknown id {v!r}; known: {', '.join(known)}")
    return value


def _unique(specs: tuple[Any, ...], fld: str, where: str) -> None:
    seen: set[str] = set()
    for i, s in enumerate(specs):
        if s.id in seen:
            raise _err(where, f"{fld}[{i}].id", f"duplicate id {s.id!r}; give each entry a distinct id")
        seen.add(s.id)


def from_mapping(data: Mapping[str, Any], where: str = "<config>", *, root: Path | None = None) -> BenchConfig:
    """Parse and validate a bench config (no model, no sampling; registry names are checked
    later by :func:`check_names`, which needs the plugins)."""
    root = root or Path.cwd()
    if not isinstance(data, Mapping):
        raise _err(where, "top level", f"expected a mapping, got {type(data).__name__}")
    d = dict(data)
    base = build(SamplingSpec, d.pop("sampling", None), where, prefix="sampling.")
    d.setdefault("name", Path(where).stem if where != "<config>" else "bench")
    if isinstance(d["name"], str):
        d.setdefault("output", f"runs/bench/{d['name']}")
    d.setdefault("modes", ["estimate"])
    d.setdefault("seed", 0)
    d["models"] = [_named(m, _model_id) for m in _items(d, "models", where)]
    d["tasks"] = [_task_item(t, f"tasks[{i}]", base, root, where) for i, t in enumerate(_items(d, "tasks", where))]
    d["estimators"] = [_named(e, str) for e in _items(d, "estimators", where)]
    cfg = build(BenchConfig, {**d, "train": {}}, where, extra={"source": where})
    _unique(cfg.models, "models", where)
    _unique(cfg.tasks, "tasks", where)
    _unique(cfg.estimators, "estimators", where)
    for i, e in enumerate(cfg.estimators):
        for t in cfg.tasks:
            if e.n_votes is not None and e.n_votes > t.sampling.n:
                raise _err(
                    where, f"estimators[{i}].n_votes", f"{e.n_votes} > sampling.n={t.sampling.n} of task {t.id!r}"
                )
    tr = {} if d.get("train") is None else d["train"]
    if isinstance(tr, Mapping):
        ids = {k: [s.id for s in getattr(cfg, k)] for k in ("tasks", "estimators", "models")}
        defaults = {**ids, "estimators": ids["estimators"][:1]}
        tr = {**tr, **{k: _id_list(tr.get(k), f"train.{k}", ids[k], defaults[k], where) for k in ids}}
    train = build(TrainSpec, tr, where, prefix="train.")
    return replace(cfg, train=train)


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
