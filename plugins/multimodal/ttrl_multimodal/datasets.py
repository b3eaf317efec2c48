"""Loading vision-language rows from local files (JSONL, JSON, parquet).

Layouts accepted (the question field may be ``question``/``problem``/``prompt``/``query``;
images are ``images`` (a list) or ``image``):

- JSONL/JSON written by hand or by ``python -m ttrl_multimodal.synthetic``: image paths
  relative to the file, absolute paths, or ``data:image/png;base64,...`` URIs;
- parquet in the Hugging Face layout (Geometry3K ``hiyouga/geometry3k``: ``images`` is a list of
  ``{"bytes", "path"}`` records, ``problem`` holds ``<image>`` markers, ``answer``).

The loader checks each row's shape (so a bad line fails at once with ``file:line``) and
records ``_where`` and ``_base_dir``; images are opened later by the task, one row at a time.
Hub names are not fetched (nothing is downloaded at run time): download the parquet first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ttrl_kit import ConfigError, InputError
from ttrl_kit.core.io import iter_jsonl
from ttrl_multimodal.prompts import IMAGE_FIELDS, QUESTION_FIELDS


def _check_row(row: dict[str, Any], where: str) -> None:
    if not any(isinstance(v := row.get(f), str) and v.strip() for f in QUESTION_FIELDS):
        raise InputError(f"{where}: missing field 'question' (or one of {', '.join(QUESTION_FIELDS[1:])})")
    for field in IMAGE_FIELDS:
        value = row.get(field)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if not isinstance(item, (str, bytes, dict)):
                raise InputError(
                    f"{where}: field {field!r}[{i}]: expected an image path, data URI or "
                    f"{{bytes, path}} record, got {type(item).__name__}"
                )


def _finish(rows: list[dict[str, Any]], base: Path, limit: int | None) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(rows):
        if row.get("id") is None:
            row["id"] = row.get("_where", f"{base.name}-{i}")
        row["_base_dir"] = str(base)
        out.append(row)
        if limit is not None and len(out) >= limit:
            break
    return out


def load_visual_file(source: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows from a local ``.jsonl``, ``.json`` (a list of objects) or ``.parquet`` file."""
    if not isinstance(source, str) or not source:
        raise ConfigError("visual_file: source must be a file path")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ConfigError(f"visual_file: limit must be a positive integer, got {limit!r}")
    path = Path(source).expanduser()
    if not path.exists():
        hint = (
            " (hub datasets are not downloaded at run time: download the parquet/JSONL first)"
            if "/" in source and not source.startswith((".", "/"))
            else ""
        )
        raise InputError(f"{path}: file not found{hint}")
    base = path.resolve().parent
    suffix = path.suffix.lower()
    rows: list[dict[str, Any]] = []
    if suffix == ".jsonl":
        for lineno, obj in iter_jsonl(path):
            where = f"{path}:{lineno}"
            _check_row(obj, where)
            obj["_where"] = where
            rows.append(obj)
            if limit is not None and len(rows) >= limit:
                break
    elif suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: invalid JSON: {exc}") from None
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON list of row objects")
        for i, obj in enumerate(data):
            where = f"{path}[{i}]"
            if not isinstance(obj, dict):
                raise InputError(f"{where}: expected an object, got {type(obj).__name__}")
            _check_row(obj, where)
            obj["_where"] = where
            rows.append(obj)
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from None
        try:
            table = pq.read_table(path)
        except Exception as exc:
            raise InputError(f"{path}: cannot read parquet: {' '.join(str(exc).split())[:200]}") from None
        for i, obj in enumerate(table.to_pylist()):
            where = f"{path}:row {i}"
            _check_row(obj, where)
            obj["_where"] = where
            rows.append(obj)
            if limit is not None and len(rows) >= limit:
                break
    else:
        raise ConfigError(f"{path}: unsupported file type {suffix!r}; use .jsonl, .json or .parquet")
    return _finish(rows, base, limit)


def write_jsonl(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows whose images are paths, making the paths relative to the file when possible."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    base = target.resolve().parent
    tmp = target.with_name(target.name + ".partial")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            row = {k: v for k, v in row.items() if not k.startswith("_")}
            images = []
            for img in row.get("images", []):
                if isinstance(img, bytes):
                    raise InputError("write_jsonl: rows with inline image bytes cannot be written; use image paths")
                p = Path(img)
                try:
                    images.append(str(p.resolve().relative_to(base)))
                except ValueError:
                    images.append(str(p))
            if "images" in row:
                row["images"] = images
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(target)
    return target
