"""Dataset loaders for labelled or unlabelled text: JSONL, CSV/TSV and the Hugging Face hub.

Every loader returns a list of row dicts carrying a stable string ``id`` (engines key
prompt groups by it), the text field and, when present, the label field.  The whole file
is validated before anything is returned, and the first bad row stops the load with one
line naming ``file:line`` and the field, so a typo never costs a half-finished run.

Slicing (``shuffle``/``seed``, then ``offset``/``limit``) is applied *after* validation,
to the full row list, so two slices drawn with the same seed are disjoint: e.g. an
unlabelled training slice ``offset=0, limit=64`` and a held-out slice ``offset=1000,
limit=200``.  Rows keep their gold labels; whether an engine may look at them is the
engine's business (TTRL never trains on them).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ttrl_kit import ConfigError, InputError
from ttrl_kit.core.io import iter_jsonl

_COMMON = {
    "text_field",
    "label_field",
    "id_field",
    "auto_id",
    "labels",
    "require_label",
    "offset",
    "limit",
    "shuffle",
    "seed",
}
_CSV_ONLY = {"delimiter", "encoding"}
_HUB_ONLY = {"config", "split", "revision", "cache_dir"}


class _Spec:
    """Validated loader options."""

    def __init__(self, source: str, options: Mapping[str, Any], extra: set[str], *, auto_id_default: bool = False):
        unknown = sorted(set(options) - _COMMON - extra)
        if unknown:
            known = ", ".join(sorted(_COMMON | extra))
            raise ConfigError(f"dataset {source}: unknown option {unknown[0]!r}; known options: {known}")
        self.text_field = self._name(options, "text_field", "text")
        lf = options.get("label_field", "label")
        if lf is not None and (not isinstance(lf, str) or not lf):
            raise ConfigError(f"dataset {source}: option label_field: expected a column name or null, got {lf!r}")
        self.label_field: str | None = lf
        self.id_field = self._name(options, "id_field", "id")
        self.auto_id = self._bool(options, "auto_id", auto_id_default)
        self.require_label = self._bool(options, "require_label", self.label_field is not None)
        labels = options.get("labels")
        if labels is not None:
            if isinstance(labels, str):
                labels = [x.strip() for x in labels.split(",") if x.strip()]
            if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
                raise ConfigError(f"dataset {source}: option labels: expected a list of strings")
            labels = {" ".join(x.lower().split()) for x in labels}
        self.labels: set[str] | None = labels
        self.offset = self._int(options, "offset", 0, minimum=0)
        limit = options.get("limit")
        self.limit = None if limit is None else self._int(options, "limit", 0, minimum=1)
        self.shuffle = self._bool(options, "shuffle", False)
        self.seed = self._int(options, "seed", 0, minimum=None)
        self.source = source
        self.options = options

    def _name(self, options: Mapping[str, Any], key: str, default: str) -> str:
        v = options.get(key, default)
        if not isinstance(v, str) or not v:
            raise ConfigError(f"dataset option {key}: expected a non-empty column name, got {v!r}")
        return v

    @staticmethod
    def _bool(options: Mapping[str, Any], key: str, default: bool) -> bool:
        v = options.get(key, default)
        if isinstance(v, str) and v.lower() in ("true", "false", "1", "0", "yes", "no"):
            return v.lower() in ("true", "1", "yes")
        if not isinstance(v, bool):
            raise ConfigError(f"dataset option {key}: expected true/false, got {v!r}")
        return v

    @staticmethod
    def _int(options: Mapping[str, Any], key: str, default: int, *, minimum: int | None) -> int:
        v = options.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or (minimum is not None and v < minimum):
            bound = f" >= {minimum}" if minimum is not None else ""
            raise ConfigError(f"dataset option {key}: expected an integer{bound}, got {v!r}")
        return v


def _check_row(row: dict[str, Any], where: str, spec: _Spec, fallback_id: str) -> dict[str, Any]:
    text = row.get(spec.text_field)
    if spec.text_field not in row:
        raise InputError(f"{where}: missing field {spec.text_field!r}")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: field {spec.text_field!r}: expected a non-empty string, got {_kind(text)}")
    rid = row.get(spec.id_field)
    if rid is None or (isinstance(rid, str) and not rid.strip()):
        if not spec.auto_id:
            raise InputError(
                f"{where}: missing field {spec.id_field!r} (every row needs a stable id; "
                f"set auto_id: true to number rows by position)"
            )
        rid = fallback_id
    elif isinstance(rid, bool) or not isinstance(rid, (str, int)):
        raise InputError(f"{where}: field {spec.id_field!r}: expected a string or integer, got {_kind(rid)}")
    out = dict(row)
    out["id"] = str(rid)
    if spec.label_field is not None:
        label = row.get(spec.label_field)
        if label is None:
            if spec.require_label:
                raise InputError(
                    f"{where}: missing field {spec.label_field!r} (set require_label: false for unlabeled rows)"
                )
        elif isinstance(label, bool) or not isinstance(label, (str, int)):
            raise InputError(f"{where}: field {spec.label_field!r}: expected a string or integer, got {_kind(label)}")
        elif spec.labels is not None and " ".join(str(label).lower().split()) not in spec.labels:
            raise InputError(f"{where}: field {spec.label_field!r}: {label!r} is not one of {sorted(spec.labels)}")
    return out


def _kind(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def _finish(rows: Iterable[tuple[str, dict[str, Any]]], spec: _Spec) -> list[dict[str, Any]]:
    """De-duplicate ids (error naming both places), then shuffle and slice."""
    seen: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for where, row in rows:
        rid = row["id"]
        if rid in seen:
            raise InputError(f"{where}: field 'id': duplicate id {rid!r} (first at {seen[rid]})")
        seen[rid] = where
        out.append(row)
    if spec.shuffle:
        random.Random(spec.seed).shuffle(out)
    end = None if spec.limit is None else spec.offset + spec.limit
    return out[spec.offset : end]


# -- JSONL -------------------------------------------------------------------------------
def load_jsonl(source: str, **options: Any) -> list[dict[str, Any]]:
    """One JSON object per line.  Options: see the module docstring and the README."""
    spec = _Spec(source, options, set())
    stem = Path(source).stem

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        for idx, (lineno, obj) in enumerate(iter_jsonl(source)):
            where = f"{source}:{lineno}"
            yield where, _check_row(obj, where, spec, f"{stem}-{idx}")

    return _finish(rows(), spec)


# -- CSV ---------------------------------------------------------------------------------
def load_csv(source: str, **options: Any) -> list[dict[str, Any]]:
    """CSV (or TSV: ``.tsv`` files default to a tab delimiter) with a header row."""
    spec = _Spec(source, options, _CSV_ONLY)
    delimiter = options.get("delimiter", "\t" if source.lower().endswith(".tsv") else ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"dataset {source}: option delimiter: expected one character, got {delimiter!r}")
    encoding = options.get("encoding", "utf-8")
    path = Path(source)
    try:
        fh = path.open("r", encoding=encoding, newline="")
    except FileNotFoundError:
        raise InputError(f"{source}: file not found") from None
    except (OSError, LookupError) as exc:
        raise InputError(f"{source}: cannot open: {exc}") from None
    stem = path.stem
    with fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        try:
            header = reader.fieldnames
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{source}:1: cannot read the header: {exc}") from None
        if not header:
            raise InputError(f"{source}:1: empty file (a header row is required)")
        needed = [spec.text_field] + ([spec.label_field] if spec.label_field and spec.require_label else [])
        if not spec.auto_id:
            needed.append(spec.id_field)
        for col in needed:
            if col not in header:
                raise InputError(f"{source}:1: field {col!r}: no such column; columns: {', '.join(map(str, header))}")

        def rows() -> Iterator[tuple[str, dict[str, Any]]]:
            idx = 0
            start = reader.line_num + 1
            while True:
                try:
                    rec = next(reader)
                except StopIteration:
                    return
                except (csv.Error, UnicodeDecodeError) as exc:
                    raise InputError(f"{source}:{reader.line_num}: malformed CSV: {exc}") from None
                where = f"{source}:{start}"
                start = reader.line_num + 1
                if None in rec:
                    raise InputError(f"{where}: more fields than the header has columns")
                if all(v in (None, "") for v in rec.values()):
                    continue
                row = {k: v for k, v in rec.items() if v is not None}
                if spec.label_field in row and row[spec.label_field] == "" and not spec.require_label:
                    row[spec.label_field] = None
                yield where, _check_row(row, where, spec, f"{stem}-{idx}")
                idx += 1

        return _finish(rows(), spec)


# -- Hugging Face hub ---------------------------------------------------------------------
def load_hub(source: str, **options: Any) -> list[dict[str, Any]]:
    """A dataset on the Hugging Face hub (or in its local cache), e.g. ``rotten_tomatoes``
    with ``split: validation``.  Integer class labels are turned into their names through
    the split's ``ClassLabel`` feature.  Rows without an id are numbered
    ``<name>/<split>/<index>`` (stable: a hub split's order is fixed).  Needs the
    ``datasets`` package; this project's tests never touch the network."""
    spec = _Spec(source, options, _HUB_ONLY, auto_id_default=True)
    name = source.split(":", 1)[1] if source.startswith(("hf:", "hub:")) else source
    try:
        import datasets
    except ImportError:
        raise ConfigError("dataset loader text_cls_hub needs the 'datasets' package (pip install datasets)") from None
    split = options.get("split", "train")
    try:
        ds = datasets.load_dataset(
            name,
            options.get("config"),
            split=split,
            revision=options.get("revision"),
            cache_dir=options.get("cache_dir"),
        )
    except Exception as exc:  # network, missing split, unknown name: one line
        raise InputError(
            f"hub:{name} (split {split}): cannot load: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from None
    names = None
    feat = getattr(ds, "features", {}).get(spec.label_field) if spec.label_field else None
    if feat is not None and hasattr(feat, "names"):
        names = list(feat.names)

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        for idx, rec in enumerate(ds):
            row = dict(rec)
            if (
                names is not None
                and isinstance(row.get(spec.label_field), int)
                and 0 <= row[spec.label_field] < len(names)
            ):
                row[spec.label_field] = names[row[spec.label_field]]
            where = f"hub:{name}/{split}:{idx}"
            yield where, _check_row(row, where, spec, f"{name}/{split}/{idx}")

    return _finish(rows(), spec)


def load_auto(source: str, **options: Any) -> list[dict[str, Any]]:
    """Pick the loader from the source: ``hf:NAME``/``hub:NAME`` -> hub, ``*.csv``/``*.tsv``
    -> CSV, anything else -> JSONL."""
    if source.startswith(("hf:", "hub:")):
        return load_hub(source, **options)
    if source.lower().endswith((".csv", ".tsv")):
        return load_csv(source, **options)
    return load_jsonl(source, **options)
