"""Dataset loaders for the TTRL math benchmarks: AIME 2024, AMC, MATH-500.

``loader(source, **options) -> list[dict]`` with rows ``{"id", "prompt", "answer", "source"}``.
``source`` is a local ``.jsonl`` / ``.json`` / ``.parquet`` file, a directory holding the
benchmark's usual file name (``aime2024.jsonl`` ...), or ``hf:<dataset id>`` / ``hf`` (the
default hub id) to read from the Hugging Face hub with the ``datasets`` library (a user
path; nothing in this project downloads at run time).  Field names are mapped from the
common spellings (``prompt``/``problem``/``question``, ``answer``/``solution``, ``id``/
``unique_id``).  A bad row raises one :class:`InputError` line naming ``file:line:field``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ttrl_kit import ConfigError, InputError
from ttrl_kit.core.io import check_value, iter_jsonl

PROMPT_FIELDS = ("prompt", "problem", "question")
ANSWER_FIELDS = ("answer", "final_answer", "solution")
ID_FIELDS = ("id", "unique_id", "idx", "index")

BENCHMARKS = {
    "aime2024": {
        "file": "aime2024.jsonl",
        "hub": "HuggingFaceH4/aime_2024",
        "split": "train",
        "desc": "AIME 2024 (30 problems, integer answers 0-999)",
    },
    "amc": {
        "file": "amc.jsonl",
        "hub": "AI-MO/aimo-validation-amc",
        "split": "train",
        "desc": "AMC 2022/2023 (83 problems)",
    },
    "math500": {
        "file": "math500.jsonl",
        "hub": "HuggingFaceH4/MATH-500",
        "split": "test",
        "desc": "MATH-500 (500 problems, LaTeX answers)",
    },
}


def _pick(obj: dict, fields: tuple[str, ...]) -> tuple[str | None, Any]:
    for f in fields:
        if f in obj and obj[f] is not None:
            return f, obj[f]
    return None, None


def _answer_text(field: str, value: Any) -> str:
    if field == "solution" and isinstance(value, str):
        from ttrl_math.extract import boxed_spans

        spans = boxed_spans(value)
        if spans:
            return spans[-1][2].strip()
    if isinstance(value, bool):
        raise TypeError("boolean")
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        raise TypeError(type(value).__name__)
    return value


def to_row(obj: Any, where: str, name: str, n: int) -> dict[str, Any]:
    """One normalised row; ``where`` is ``file:line`` for error messages."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected an object, got {type(obj).__name__}")
    pf, prompt = _pick(obj, PROMPT_FIELDS)
    if pf is None:
        raise InputError(f"{where}:prompt: missing field (one of {', '.join(PROMPT_FIELDS)})")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError(f"{where}:{pf}: expected a non-empty string")
    af, ans = _pick(obj, ANSWER_FIELDS)
    answer = None
    if af is not None:
        try:
            answer = _answer_text(af, ans)
        except TypeError as exc:
            raise InputError(f"{where}:{af}: expected a string or number, got {exc}") from None
    _, rid = _pick(obj, ID_FIELDS)
    return {
        "id": str(rid) if rid is not None else f"{name}-{n}",
        "prompt": prompt,
        "answer": answer,
        "source": str(obj.get("source") or name),
    }


def _iter_file(path: Path) -> Iterator[tuple[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for lineno, obj in iter_jsonl(path):
            yield f"{path}:{lineno}", obj
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not valid UTF-8 ({exc.reason})") from None
        except RecursionError:
            raise InputError(f"{path}: invalid JSON: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer over Python's digit limit
            raise InputError(f"{path}: invalid JSON: {' '.join(str(exc).split())[:200]}") from None
        check_value(data, str(path))
        if isinstance(data, dict):
            data = data.get("data", data.get("rows", data.get("test")))
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON list of rows")
        for i, obj in enumerate(data):
            yield f"{path}:item {i + 1}", obj
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from None
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(f"{path}: cannot read parquet: {exc}") from None
        for i, obj in enumerate(table.to_pylist()):
            yield f"{path}:row {i + 1}", obj
    else:
        raise ConfigError(f"{path}: unsupported file type {suffix!r} (use .jsonl, .json or .parquet)")


def _from_hub(name: str, hub_id: str, split: str, limit: int | None) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise ConfigError(f"{name}: loading {hub_id!r} from the hub needs `pip install datasets`") from None
    ds = datasets.load_dataset(hub_id, split=split)
    rows = []
    for i, obj in enumerate(ds):
        rows.append(to_row(dict(obj), f"hf:{hub_id}:row {i + 1}", name, i))
        if limit is not None and len(rows) >= limit:
            break
    return rows


def make_loader(name: str) -> Callable[..., list[dict[str, Any]]]:
    spec = BENCHMARKS[name]

    def load(source: str = "hf", *, limit: int | None = None, split: str | None = None) -> list[dict[str, Any]]:
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise ConfigError(f"{name}: option 'limit' must be a positive integer, got {limit!r}")
        if source == "hf" or source.startswith("hf:"):
            hub_id = source[3:] or spec["hub"] if source != "hf" else spec["hub"]
            return _from_hub(name, hub_id, split or spec["split"], limit)
        path = Path(source)
        if path.is_dir():
            path = path / spec["file"]
        if not path.exists():
            raise InputError(f"{path}: file not found (for the hub use source 'hf' or 'hf:<dataset id>')")
        rows: list[dict[str, Any]] = []
        for where, obj in _iter_file(path):
            rows.append(to_row(obj, where, name, len(rows)))
            if limit is not None and len(rows) >= limit:
                break
        if not rows:
            raise InputError(f"{path}: no rows")
        return rows

    load.__doc__ = f"Load {spec['desc']} from a local file/directory or the hub ({spec['hub']})."
    return load


LOADERS: dict[str, tuple[Callable[..., list[dict[str, Any]]], str]] = {
    name: (make_loader(name), spec["desc"] + " - local jsonl/json/parquet or hf:<id>")
    for name, spec in BENCHMARKS.items()
}
