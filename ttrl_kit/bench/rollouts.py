"""Sample once per model x task, cache on disk, resume after a crash.

Layout under the bench output directory::

    rollouts/<model>/<task>.jsonl      one line per prompt group: id, gold, prompt, responses
    rollouts/<model>/<task>.meta.json  cache key, status (complete/skipped), timing

The cache key covers everything that changes the samples: model, dtype, task and its
options, dataset, source (and the file's content hash when the source is a file), limit,
sampling settings and seed.  Prompts are sampled in fixed chunks of
``sampling.prompts_per_batch`` with a seed derived from the chunk's prompt ids, and each chunk
is appended to the file in one write: after ``kill -9`` a rerun keeps every finished chunk,
drops a torn last line, redoes only what is missing and gets the same samples it would
have got without the crash.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttrl_kit.bench.config import BenchConfig, ModelSpec, TaskSpec, fingerprint
from ttrl_kit.bench.sampling import Sampler, UnsupportedPrompt, flatten_text
from ttrl_kit.core.errors import ConfigError, TTRLError

CACHE_VERSION = "rollouts-v1"


@dataclass
class Group:
    id: str
    gold: str | None
    responses: list[str]
    prompt: str = ""
    #: Per-token signals, ``{name: [[per-token values] per response]}`` (only those the
    #: grid's estimators need; empty when none does).
    signals: dict[str, list[list[Any]]] = field(default_factory=dict)


@dataclass
class RolloutSet:
    """The cached rollouts of one model on one task (or why there are none)."""

    model: str
    task: str
    key: str
    status: str  # "complete" | "skipped"
    groups: list[Group] = field(default_factory=list)
    reason: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    #: Prompt groups sampled by this call (0 when everything came from the cache).
    sampled: int = 0


def source_digest(source: str) -> str | None:
    """Content hash of a dataset file named by ``source`` (so an edited file invalidates the
    cache); ``None`` when the source is not a file (e.g. a synthetic family name)."""
    p = Path(source).expanduser()
    try:
        if not p.is_file() or p.stat().st_size > 512 * 1024 * 1024:
            return None
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()[:16]
    except OSError:
        return None


def grid_signals(cfg: BenchConfig, registry: Any) -> tuple[str, ...]:
    """Signals any estimator of the grid needs: the rollouts store exactly these."""
    from ttrl_kit.core.signals import estimator_needs

    names: set[str] = set()
    for e in cfg.estimators:
        names.update(estimator_needs(registry.estimator(e.name, **dict(e.options)), e.name))
    return tuple(sorted(names))


def rollout_key(cfg: BenchConfig, model: ModelSpec, task: TaskSpec, signals: tuple[str, ...] = ()) -> str:
    extra = ({"signals": list(signals)},) if signals else ()  # no signals: the key of older caches
    return fingerprint(
        CACHE_VERSION,
        {"name": model.name, "dtype": model.dtype},
        {
            "task": task.task,
            "task_options": task.task_options,
            "dataset": task.dataset,
            "source": task.source,
            "source_digest": source_digest(task.source),
            "dataset_options": task.dataset_options,
            "id_field": task.id_field,
            "limit": task.limit,
            "sampling": task.sampling,
        },
        cfg.seed,
        *extra,
    )


def load_prompts(task: TaskSpec, registry: Any, where: str) -> list[tuple[str, list[dict[str, Any]], str | None]]:
    """``(id, chat messages, gold)`` per row, via the registry's loader and task."""
    try:
        loader = registry.dataset_loader(task.dataset)
        rows = list(loader(task.source, **dict(task.dataset_options)))
    except TTRLError as exc:
        raise ConfigError(f"{where}: task {task.id!r}: dataset {task.dataset!r}: {exc}") from None
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ConfigError(f"{where}: task {task.id!r}: dataset file not found: {exc.filename}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: task {task.id!r}: dataset_options: {exc}") from None
    if task.limit is not None:
        rows = rows[: task.limit]
    if not rows:
        raise ConfigError(f"{where}: task {task.id!r}: dataset {task.dataset!r} returned no rows")
    t = registry.task(task.task, **dict(task.task_options))
    out = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or row.get(task.id_field) is None:
            raise ConfigError(f"{where}: task {task.id!r}: row {i} has no {task.id_field!r} field")
        pid = str(row[task.id_field])
        if pid in seen:
            raise ConfigError(f"{where}: task {task.id!r}: duplicate prompt id {pid!r} (row {i})")
        seen.add(pid)
        gold = t.gold_label(row)
        out.append((pid, list(t.build_prompt(row)), None if gold is None else str(gold)))
    return out


def chunk_seed(seed: int, ids: list[str]) -> int:
    return int(fingerprint("chunk", seed, ids)[:8], 16) % (2**31 - 1)


def _prompt_text(messages: list[dict[str, Any]]) -> str:
    try:
        return "\n".join(m["content"] for m in flatten_text(messages) if m["role"] != "system")[:4000]
    except Exception:
        return ""


def _read_groups(path: Path) -> dict[str, Group]:
    """Finished groups from a (possibly torn) rollout file; a bad line ends the read and
    the file is cut back to the last good line."""
    groups: dict[str, Group] = {}
    if not path.exists():
        return groups
    good_bytes = 0
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            try:
                obj = json.loads(raw)
                g = Group(
                    id=str(obj["id"]),
                    gold=obj.get("gold"),
                    responses=list(obj["responses"]),
                    prompt=obj.get("prompt", ""),
                    signals=dict(obj.get("signals") or {}),
                )
            except (ValueError, KeyError, TypeError):
                break
            groups[g.id] = g
            good_bytes += len(raw)
    if good_bytes != path.stat().st_size:
        with path.open("r+b") as fh:
            fh.truncate(good_bytes)
    return groups


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def load_cached(out_dir: Path, model_id: str, task_id: str, key: str) -> RolloutSet | None:
    """A finished rollout set from disk, or ``None`` when missing, stale or incomplete."""
    base = out_dir / "rollouts" / model_id
    meta_path = base / f"{task_id}.meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("key") != key or meta.get("status") not in ("complete", "skipped"):
        return None
    if meta["status"] == "skipped":
        return RolloutSet(model_id, task_id, key, "skipped", reason=meta.get("reason", ""), meta=meta)
    groups = _read_groups(base / f"{task_id}.jsonl")
    order = meta.get("ids", [])
    if len(order) != len(groups) or any(i not in groups for i in order):
        return None
    return RolloutSet(model_id, task_id, key, "complete", [groups[i] for i in order], meta=meta)


def ensure_rollouts(
    cfg: BenchConfig,
    model: ModelSpec,
    task: TaskSpec,
    out_dir: Path,
    registry: Any,
    get_sampler: Callable[[], Sampler],
    progress: Any = None,
    signals: tuple[str, ...] = (),
) -> RolloutSet:
    """Cached rollouts, sampling only the chunks that are missing; with ``signals`` the
    sampler records those per-token signals too (``record_signals`` / ``last_signals``) and they are
    stored beside the responses."""
    key = rollout_key(cfg, model, task, signals)
    cached = load_cached(out_dir, model.id, task.id, key)
    if cached is not None:
        return cached
    base = out_dir / "rollouts" / model.id
    base.mkdir(parents=True, exist_ok=True)
    data_path = base / f"{task.id}.jsonl"
    meta_path = base / f"{task.id}.meta.json"
    try:
        old = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    if old.get("key") != key:  # stale or never started: start clean
        data_path.unlink(missing_ok=True)
        _write_json(meta_path, {"key": key, "status": "running", "model": model.name, "task": task.id})
    prompts = load_prompts(task, registry, cfg.source)
    done = _read_groups(data_path)
    ids = [p[0] for p in prompts]
    per = task.sampling.prompts_per_batch
    chunks = [prompts[i : i + per] for i in range(0, len(prompts), per)]
    todo = [c for c in chunks if any(p[0] not in done for p in c)]
    if progress is not None:
        progress.reset(total=len(prompts))
        progress.update(len(prompts) - sum(len(c) for c in todo))
        progress.set_description(f"sample {model.id}/{task.id}")
    gen_seconds = float(old.get("generate_s", 0.0)) if old.get("key") == key else 0.0
    new_tokens = int(old.get("new_tokens", 0)) if old.get("key") == key else 0
    sampler = get_sampler() if todo else None
    if sampler is not None and signals:
        if not callable(getattr(sampler, "record_signals", None)):
            raise ConfigError(
                f"{cfg.source}: the grid's estimators need signals {list(signals)}, which this sampler does not supply"
            )
        sampler.record_signals(signals)  # type: ignore[attr-defined]
    for chunk in todo:
        chunk_ids = [p[0] for p in chunk]
        t0 = time.perf_counter()
        try:
            responses = sampler([p[1] for p in chunk], task.sampling, chunk_seed(cfg.seed, chunk_ids))  # type: ignore[misc]
        except UnsupportedPrompt as exc:
            data_path.unlink(missing_ok=True)
            meta: dict[str, Any] = {
                "key": key,
                "status": "skipped",
                "reason": str(exc),
                "model": model.name,
                "task": task.id,
            }
            _write_json(meta_path, meta)
            return RolloutSet(model.id, task.id, key, "skipped", reason=str(exc), meta=meta)
        gen_seconds += time.perf_counter() - t0
        new_tokens += int(getattr(getattr(sampler, "stats", None), "new_tokens", 0) or 0)
        if len(responses) != len(chunk) or any(len(r) != task.sampling.n for r in responses):
            raise RuntimeError(
                f"sampler returned {[len(r) for r in responses]} responses for {len(chunk)} prompts x n={task.sampling.n}"
            )
        chunk_signals = sampler.last_signals if signals else [None] * len(chunk)  # type: ignore[union-attr]
        lines = "".join(
            json.dumps(
                {
                    "id": pid,
                    "gold": gold,
                    "prompt": _prompt_text(msgs),
                    "responses": [str(x) for x in resp],
                    **({"signals": sig} if sig else {}),
                },
                ensure_ascii=False,
            )
            + "\n"
            for (pid, msgs, gold), resp, sig in zip(chunk, responses, chunk_signals)
        )
        with data_path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
        _write_json(
            meta_path,
            {
                "key": key,
                "status": "running",
                "model": model.name,
                "task": task.id,
                "generate_s": gen_seconds,
                "new_tokens": new_tokens,
            },
        )
        if progress is not None:
            progress.update(len(chunk))
    groups = _read_groups(data_path)
    missing = [i for i in ids if i not in groups]
    if missing:
        raise RuntimeError(f"rollouts for {model.id}/{task.id}: {len(missing)} prompt(s) missing after sampling")
    meta = {
        "key": key,
        "status": "complete",
        "model": model.name,
        "dtype": model.dtype,
        "task": task.id,
        "ids": ids,
        "n": task.sampling.n,
        "groups": len(ids),
        "generate_s": round(gen_seconds, 3),
        "new_tokens": new_tokens,
        "sampler": getattr(sampler, "source", None) if sampler is not None else old.get("sampler"),
    }
    _write_json(meta_path, meta)
    return RolloutSet(
        model.id, task.id, key, "complete", [groups[i] for i in ids], meta=meta, sampled=sum(len(c) for c in todo)
    )
