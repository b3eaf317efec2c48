"""Reading user files with errors that name ``file:line`` and the field.

Every reader validates as it goes and raises :class:`InputError` with a one-line message;
callers decide whether to stop (CLI) or skip and count (engines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping

from ttrl_kit.core.errors import ConfigError, InputError

_TYPE_NAMES = {str: "a string", list: "a list", dict: "an object", int: "an integer", float: "a number", bool: "true/false"}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; a line that is not a JSON
    object raises :class:`InputError` naming ``path:line``."""
    p = Path(path)
    try:
        fh = p.open("r", encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise InputError(f"{p}: file not found") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot open: {exc.strerror}") from None
    with fh:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise InputError(f"{p}:{lineno + 1}: not valid UTF-8 ({exc.reason})") from None
            if not line:
                return
            lineno += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}:{lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(obj, dict):
                raise InputError(f"{p}:{lineno}: expected a JSON object, got {_describe(obj)}")
            yield lineno, obj


def require(obj: Mapping[str, Any], field: str, kind: type | tuple[type, ...], where: str, *, optional: bool = False) -> Any:
    """Fetch ``obj[field]`` checking its type; ``where`` is ``"file:line"``."""
    if field not in obj or (optional and obj[field] is None):
        if optional:
            return None
        raise InputError(f"{where}: missing field {field!r}")
    value = obj[field]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        want = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise InputError(f"{where}: field {field!r}: expected {want}, got {_describe(value)}")
    return value


def require_str_list(obj: Mapping[str, Any], field: str, where: str) -> list[str]:
    value = require(obj, field, list, where)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InputError(f"{where}: field {field!r}[{i}]: expected a string, got {_describe(item)}")
    return value


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Load a YAML or JSON config file into a dict, with a one-line error on failure."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{p}{line}: invalid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {_describe(data)}")
    return data


def parse_option_value(text: str) -> Any:
    """``k=v`` values: JSON where it parses (numbers, true/false, null, lists), else the string."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text


def parse_options(pairs: list[str] | None, flag: str = "--option") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"{flag} {pair!r}: expected key=value")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"{flag} {pair!r}: empty key")
        out[key] = parse_option_value(value)
    return out
