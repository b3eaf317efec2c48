"""Reading user files with errors that name ``file:line`` and the field.

Every reader validates as it goes and raises :class:`InputError` with a one-line message;
callers decide whether to stop (CLI) or skip and count (engines).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError, InputError

_TYPE_NAMES = {
    str: "a string",
    list: "a list",
    dict: "an object",
    int: "an integer",
    float: "a number",
    bool: "true/false",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; a line that is not a JSON
    object raises :class:`InputError` naming ``path:line``."""
    p = Path(path)
    try:
        fh = p.open("rb")
    except FileNotFoundError:
        raise InputError(f"{p}: file not found") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot open: {exc.strerror}") from None
    with fh:
        lineno = 0
        while True:
            try:
                raw = fh.readline()
            except OSError as exc:
                raise InputError(f"{p}:{lineno + 1}: cannot read: {exc.strerror}") from None
            if not raw:
                return
            lineno += 1
            try:  # decoded line by line, so the error names the line the bad byte is on
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{p}:{lineno}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
            if not line.strip():
                continue
            obj = parse_json_line(line, f"{p}:{lineno}")
            if not isinstance(obj, dict):
                raise InputError(f"{p}:{lineno}: expected a JSON object, got {_describe(obj)}")
            yield lineno, obj


#: Deepest nesting accepted in a record.  Real records are a few levels deep; a line nested
#: hundreds deep breaks ``json.dumps`` (and any recursive code) on the way out.
MAX_NESTING = 100
#: Most values (strings, numbers, containers) checked in one record or config file.
MAX_VALUES = 2_000_000


def parse_json_line(line: str, where: str) -> Any:
    """One JSON value, checked so that everything downstream can take it: no lone surrogate
    (it cannot be written as UTF-8), no nesting deeper than :data:`MAX_NESTING`.  Every
    problem is one :class:`InputError` naming ``where`` (and the field when there is one)."""
    try:
        obj = json.loads(line, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        key = _deep_key(line)
        field = f"field {key!r}: " if key is not None else ""
        raise InputError(f"{where}: {field}nested more than {MAX_NESTING} levels deep") from None
    except ValueError as exc:
        raise InputError(f"{where}: invalid JSON: {' '.join(str(exc).split())[:200]}") from None
    check_value(obj, where)
    return obj


class _HugeInt(str):
    """An integer literal longer than Python converts (``sys.get_int_max_str_digits``); kept
    as text so that :func:`check_value` can name its field."""


def _parse_int(text: str) -> int | _HugeInt:
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    if limit and len(text.lstrip("-")) > limit:
        return _HugeInt(text)
    return int(text)


def _deep_key(line: str) -> str | None:
    """The top-level key whose value is nested too deeply (one linear scan, only run after the
    JSON parser gave up)."""
    depth, i, n = 0, 0, len(line)
    last_key: str | None = None
    while i < n:
        c = line[i]
        if c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            if depth == 1:
                try:
                    last_key = json.loads(line[i : j + 1])
                except (ValueError, RecursionError):
                    last_key = None
            i = j + 1
            continue
        if c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return last_key
        elif c in "]}":
            depth -= 1
        i += 1
    return last_key


def _field_path(path: tuple[Any, ...]) -> str:
    if not path:
        return "the record"
    return "field " + repr(path[0]) + "".join(f"[{k!r}]" for k in path[1:])


def _bad_unicode(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid Unicode (lone surrogate U+{ord(text[exc.start]):04X} at character {exc.start})"
    return None


def check_value(obj: Any, where: str) -> None:
    """Raise :class:`InputError` for a lone surrogate anywhere in ``obj`` (keys included) or
    nesting deeper than :data:`MAX_NESTING`; the message names the field.  Iterative, so a
    deep value cannot exhaust the stack while being checked."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(obj, ())]
    seen = 0
    while stack:
        value, path = stack.pop()
        seen += 1
        if seen > MAX_VALUES:  # YAML aliases can make a small file a huge (shared) tree
            raise InputError(f"{where}: {_field_path(path[:1])}: more than {MAX_VALUES} values")
        if len(path) > MAX_NESTING:
            raise InputError(f"{where}: {_field_path(path[:1])}: nested more than {MAX_NESTING} levels deep")
        if isinstance(value, _HugeInt):
            raise InputError(
                f"{where}: {_field_path(path)}: an integer with {len(value.lstrip('-'))} digits "
                f"(at most {sys.get_int_max_str_digits()} are read)"
            )
        if isinstance(value, str):
            bad = _bad_unicode(value)
            if bad:
                raise InputError(f"{where}: {_field_path(path)}: {bad}")
        elif isinstance(value, dict):
            for k, v in value.items():
                bad = _bad_unicode(k) if isinstance(k, str) else None
                if bad:
                    shown = k.encode("utf-8", "backslashreplace").decode()
                    raise InputError(f"{where}: {_field_path(path)}: key {shown!r}: {bad}")
                stack.append((v, path + (k,)))
        elif isinstance(value, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(value))


def require(
    obj: Mapping[str, Any], field: str, kind: type | tuple[type, ...], where: str, *, optional: bool = False
) -> Any:
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
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{p}:{line}: not valid UTF-8 ({exc.reason})") from None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except (RecursionError, ValueError) as exc:
            msg = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:200]
            raise ConfigError(f"{p}: invalid JSON: {msg}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at_line = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{p}{at_line}: invalid YAML: {problem}") from None
        except (RecursionError, ValueError, TypeError) as exc:  # deep nesting, a 5000-digit integer, ...
            msg = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:200]
            raise ConfigError(f"{p}: invalid YAML: {msg}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level, got {_describe(data)}")
    try:
        check_value(data, str(p))
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    return data


def parse_option_value(text: str) -> Any:
    """``k=v`` values: JSON where it parses (numbers, true/false, null, lists), else the string."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, ValueError, RecursionError):
        return text
    try:
        check_value(value, "option value")
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    return value


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


def task_config_options(path: str | Path, task: str) -> dict[str, Any]:
    """Task options kept in a config file: a bare mapping of options, or a run config whose
    ``task: {name, options}`` section is for ``task`` (the shape ``ttrl-kit train`` configs
    use).  The CLI's ``--task-config`` and the bench's ``task_config`` both read it here."""
    data = load_mapping(path)
    section = data.get("task")
    if isinstance(section, Mapping):
        if section.get("name") not in (None, task):
            raise ConfigError(f"{path}: task.name is {section.get('name')!r} but the task is {task!r}")
        opts = section.get("options") or {}
        if not isinstance(opts, Mapping):
            raise ConfigError(f"{path}: task.options must be a mapping")
        return dict(opts)
    return dict(data)


def task_options(task: str, config: str | None, pairs: list[str] | None, flag: str = "--task-option") -> dict[str, Any]:
    """A task's options from the command line: ``config`` (``--task-config``, see
    :func:`task_config_options`), then the ``K=V`` ``pairs`` on top.  Every command and
    launcher that takes task options reads them here, so the rules are the same everywhere."""
    opts = task_config_options(config, task) if config else {}
    opts.update(parse_options(pairs, flag))
    return opts
