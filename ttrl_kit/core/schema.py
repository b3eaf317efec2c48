"""Typed settings from user mappings: the one builder behind every config section and option set.

Run configs, bench configs, estimator options, task options and the engines' TTRL sections
all come from YAML/JSON mappings or ``key=value`` flags.  Each is a dataclass whose fields
carry their help text and their checks in the field metadata (:func:`setting`, like the
``metadata={"help": ...}`` of TRL's ``GRPOConfig``), so a field is described in one place,
and :func:`build` turns a mapping into that dataclass with one-line errors naming the file
(or the owner, e.g. ``estimator 'majority'``) and the field's full dotted path:

* an unknown key, with a did-you-mean and the known keys;
* a missing required field, a wrong type (``bool`` is never an ``int``), NaN or infinity;
* a value outside ``ge``/``gt``/``le``/``lt`` or not among ``choices``;
* nested sections (a dataclass-typed field) and lists of them (``tuple[Spec, ...]``).

Checks that involve several fields live in the dataclass's ``__post_init__`` and raise
:class:`FieldError`; :func:`build` adds the file and the field's prefix to them.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ttrl_kit.core.errors import ConfigError

T = TypeVar("T")

_MISSING: Any = dataclasses.MISSING
_NONE = type(None)
_MAX_REPR = 80


class FieldError(ConfigError):
    """A bad value of one field, raised where the value's meaning is known (``__post_init__``,
    a ``parse`` hook); :func:`build` rewrites it as ``file: field 'prefix.field': message``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}" if field else message)
        self.field = field
        self.message = message


def setting(
    default: Any = _MISSING,
    *,
    help: str,
    default_factory: Callable[[], Any] | None = None,
    choices: tuple[Any, ...] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    nonempty: bool | str = False,
    note: str = "",
    parse: Callable[[Any], Any] | None = None,
    compare: bool = True,
    internal: bool = False,
) -> Any:
    """A dataclass field described once: ``help`` (what it means, why), and what :func:`build`
    checks: ``choices``, bounds (``ge`` >=, ``gt`` >, ``le`` <=, ``lt`` <; null skips them),
    ``nonempty`` (a non-blank string; a string is the hint added to "required"), ``note``
    (added to a bound's message), ``parse`` (converts the raw value first, e.g. "a,b" -> a
    list; raise :class:`FieldError` or ``ValueError``).  ``internal``: not a user key."""
    meta = {
        "help": help,
        "choices": choices,
        "ge": ge,
        "gt": gt,
        "le": le,
        "lt": lt,
        "nonempty": nonempty,
        "note": note,
        "parse": parse,
        "internal": internal,
    }
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=meta, compare=compare)
    return dataclasses.field(default=default, metadata=meta, compare=compare)


def help_text(cls: type, name: str) -> str:
    """The help of one field of a settings dataclass ("" where it has none)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """``(dotted name, type, default, help)`` of every user field, nested sections expanded:
    the reference a ``--help`` or a docs page prints."""
    rows: list[tuple[str, str, Any, str]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal") or not f.init:
            continue
        hint = hints[f.name]
        if _is_dataclass_type(hint):
            rows.extend(describe(hint, f"{prefix}{f.name}."))
            continue
        if f.default is not _MISSING:
            default = f.default
        elif callable(f.default_factory):
            default = f.default_factory()
        else:
            default = _MISSING
        rows.append((prefix + f.name, _type_name(hint), default, str(f.metadata.get("help", ""))))
    return rows


def check(obj: Any) -> None:
    """Check an instance built directly (not through :func:`build`) against its fields'
    settings: call it from ``__post_init__`` where code constructs the class from parsed
    values; raises :class:`FieldError` naming the field."""
    ctx = _Ctx("", "field", strings=False, raw=True)
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        if f.init and not f.metadata.get("internal") and not _is_dataclass_type(hints[f.name]):
            _value(hints[f.name], getattr(obj, f.name), f.metadata, ctx, f.name)


class _Mismatch(Exception):
    """The value does not have the field's type; the message says what was expected."""


class _Ctx:
    def __init__(self, where: str, noun: str, strings: bool, raw: bool = False) -> None:
        self.where = where
        self.noun = noun
        self.strings = strings
        self.raw = raw  # errors as FieldError, for build() to name the file

    def err(self, path: str, message: str) -> ConfigError:
        if self.raw:
            return FieldError(path, message)
        return ConfigError(f"{self.where}: {self.noun} {path!r}: {message}")

    def unknown(self, path: str, key: str, known: list[str]) -> ConfigError:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if self.noun == "field":
            return self.err(path, f"unknown key{hint}; known: {', '.join(known)}")
        return ConfigError(f"{self.where}: unknown {self.noun} {path!r}{hint}; known {self.noun}s: {', '.join(known)}")


def build(
    cls: type[T],
    data: Any,
    where: str,
    *,
    noun: str = "field",
    prefix: str = "",
    strings: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> T:
    """``cls(**data)`` after checking every key and value against ``cls``'s fields.

    ``where`` names the file (or the owner) in errors, ``noun`` what a key is called there
    (``field``, ``option``), ``prefix`` the dotted path of this section.  ``strings``: values
    may come from a command line as text (``true``/``false`` are then booleans).  ``extra``:
    values of ``internal`` fields (e.g. the source file)."""
    return _build(cls, data, _Ctx(where, noun, strings), prefix, extra)


def _build(cls: type[T], data: Any, ctx: _Ctx, prefix: str, extra: Mapping[str, Any] | None = None) -> T:
    here = prefix.rstrip(".") or "top level"
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ctx.err(here, f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}  # type: ignore[arg-type]  # cls is a dataclass type; T cannot say so
    for key in data:
        if key not in fields:
            raise ctx.unknown(prefix + str(key), str(key), sorted(fields))
    kwargs: dict[str, Any] = dict(extra or {})
    for name, f in fields.items():
        path = prefix + name
        if name not in data:
            if f.default is _MISSING and f.default_factory is _MISSING:
                raise ctx.err(path, _required(f.metadata))
            continue
        kwargs[name] = _value(hints[name], data[name], f.metadata, ctx, path)
    try:
        return cls(**kwargs)
    except FieldError as exc:
        raise ctx.err(_join(prefix.rstrip("."), exc.field) or here, exc.message) from None


def _join(path: str, sub: str) -> str:
    """``a.b`` + ``c`` -> ``a.b.c``; ``a.b`` + ``[0]`` -> ``a.b[0]``."""
    if not sub:
        return path
    if not path or sub.startswith("["):
        return path + sub
    return f"{path}.{sub}"


def _required(meta: Mapping[str, Any]) -> str:
    hint = meta.get("nonempty")
    return f"required ({hint})" if isinstance(hint, str) and hint else "required"


def _value(hint: Any, value: Any, meta: Mapping[str, Any], ctx: _Ctx, path: str) -> Any:
    parse = meta.get("parse")
    if parse is not None:
        try:
            value = parse(value)
        except FieldError as exc:
            raise ctx.err(_join(path, exc.field), exc.message) from None
        except ValueError as exc:
            raise ctx.err(path, str(exc)) from None
    try:
        value = _convert(hint, value, ctx, path)
    except _Mismatch as exc:
        raise ctx.err(path, f"expected {exc}, got {short_repr(value)}") from None
    _check(value, meta, ctx, path)
    return value


def _convert(hint: Any, value: Any, ctx: _Ctx, path: str) -> Any:
    """``value`` as ``hint`` (ints widen to floats, lists to tuples), else :class:`_Mismatch`."""
    if _is_dataclass_type(hint):
        if value is None:
            # ``model: null`` must not quietly mean "the default model"
            raise ctx.err(path, "expected a mapping, got null (omit the section for defaults)")
        return _build(hint, value, ctx, path + ".")
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if _NONE in args:
                return None
            raise _Mismatch(_type_name(hint))
        for a in args:
            if a is _NONE:
                continue
            try:
                return _convert(a, value, ctx, path)
            except _Mismatch:
                continue
        raise _Mismatch(_type_name(hint))
    if hint is Any:
        return value
    if origin is typing.Literal:
        if value in args:
            return value
        raise _Mismatch(_choices(args))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if ctx.strings and isinstance(value, str) and value.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.lower()]
        raise _Mismatch("true/false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch("an integer")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise _Mismatch("a finite number")
            return float(value)
        raise _Mismatch("a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch("a string")
    if hint in (dict, Mapping) or origin in (dict, Mapping):
        if isinstance(value, Mapping):
            return dict(value)
        raise _Mismatch("a mapping")
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch("a list")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_convert(args[0], item, ctx, f"{path}[{i}]"))
            except _Mismatch as exc:
                raise ctx.err(f"{path}[{i}]", f"expected {exc}, got {short_repr(item)}") from None
        return tuple(out)
    return value


_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def _check(value: Any, meta: Mapping[str, Any], ctx: _Ctx, path: str) -> None:
    if value is None:
        return
    nonempty = meta.get("nonempty")
    if nonempty and isinstance(value, str) and not value.strip():
        raise ctx.err(path, _required(meta))
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ctx.err(path, f"expected {_choices(choices)}, got {short_repr(value)}")
    ge, gt, le, lt = (meta.get(k) for k in ("ge", "gt", "le", "lt"))
    if not isinstance(value, (int, float)) or isinstance(value, bool) or (ge, gt, le, lt) == (None,) * 4:
        return
    ok = (
        (ge is None or value >= ge)
        and (gt is None or value > gt)
        and (le is None or value <= le)
        and (lt is None or value < lt)
    )
    if not ok:
        note = f" ({meta['note']})" if meta.get("note") else ""
        raise ctx.err(path, f"expected {_bounds(ge, gt, le, lt)}{note}, got {value}")


def _bounds(ge: Any, gt: Any, le: Any, lt: Any) -> str:
    lo = f"[{ge}" if ge is not None else f"({gt}" if gt is not None else None
    hi = f"{le}]" if le is not None else f"{lt})" if lt is not None else None
    if lo and hi:
        return f"in {lo}, {hi}"
    if lo:
        return f">= {ge}" if ge is not None else f"> {gt}"
    return f"<= {le}" if le is not None else f"< {lt}"


def _choices(choices: tuple[Any, ...]) -> str:
    names = [str(c) for c in choices]
    if len(names) == 2:
        return f"{names[0]} or {names[1]}"
    return "one of " + ", ".join(names)


def short_repr(value: Any) -> str:
    """A value as an error message may quote it: repr, at most 80 characters (values come from users
    and model output, and an error must stay one short line)."""
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint))
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", _NONE: "null"}
    if hint in names:
        return names[hint]
    if hint in (dict, Mapping) or typing.get_origin(hint) in (dict, Mapping):
        return "a mapping"
    if typing.get_origin(hint) is tuple:
        return "a list"
    if typing.get_origin(hint) is typing.Literal:
        return _choices(typing.get_args(hint))
    return getattr(hint, "__name__", str(hint))
