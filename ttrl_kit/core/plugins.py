"""The one place that loads plugins: entry points in the ``ttrl_kit`` group.

Built-in task plugins (``plugins/math`` and friends) are separate distributions found here
exactly like a third party's.  A plugin that fails to import, or whose hook raises, is
recorded as a :class:`PluginFailure` and skipped; the rest keep working.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pluggy

from ttrl_kit.core import builtin_plugin, hookspecs
from ttrl_kit.core.errors import ConfigError, PluginError, TTRLError, UnknownNameError
from ttrl_kit.core.estimators import Estimator
from ttrl_kit.core.records import PluginFailure, PluginInfo, Registration
from ttrl_kit.core.task import Task

ENTRY_POINT_GROUP = "ttrl_kit"
CORE_PLUGIN_NAME = "ttrl_kit.core"
_KINDS = ("tasks", "estimators", "datasets")


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:500]


class PluginRegistry:
    """Everything plugins contributed, plus the ones that failed."""

    def __init__(self, *, load_entry_points: bool = True, extra_plugins: Iterable[tuple[str, Any]] = ()) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.tasks: dict[str, Registration] = {}
        self.estimators: dict[str, Registration] = {}
        self.datasets: dict[str, Registration] = {}
        self.failures: list[PluginFailure] = []
        self._dist: dict[str, tuple[str | None, str | None]] = {}
        self._register_plugin(CORE_PLUGIN_NAME, builtin_plugin, _dist_of("ttrl-kit"))
        if load_entry_points:
            for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                dist = (ep.dist.name, ep.dist.version) if ep.dist is not None else (None, None)
                try:
                    module = ep.load()
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # a broken plugin (even one calling sys.exit) must not break the others
                    self.failures.append(PluginFailure(ep.name, dist[0], "import", _one_line(exc)))
                    continue
                self._register_plugin(ep.name, module, dist)
        for name, module in extra_plugins:
            self._register_plugin(name, module, (None, None))
        for kind in _KINDS:
            self._collect(kind)

    # -- loading -------------------------------------------------------------------------
    def _register_plugin(self, name: str, module: Any, dist: tuple[str | None, str | None]) -> None:
        if self.pm.has_plugin(name):
            self.failures.append(PluginFailure(name, dist[0], "import", "a plugin with this name is already loaded"))
            return
        try:
            self.pm.register(module, name=name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # e.g. pluggy.PluginValidationError for an unknown hook
            self.failures.append(PluginFailure(name, dist[0], "register", _one_line(exc)))
            return
        self._dist[name] = dist

    def _collect(self, kind: str) -> None:
        hook_name = f"register_{kind}"
        table: dict[str, Registration] = getattr(self, kind)
        caller = getattr(self.pm.hook, hook_name)
        # Call implementations one by one (oldest first) so one raising hook is isolated.
        for impl in caller.get_hookimpls():  # registration order: core first
            plugin_name = impl.plugin_name
            pending: list[Registration] = []

            def register(
                name: str,
                factory: Callable[..., Any],
                description: str = "",
                *,
                _p: str = plugin_name,
                _pending: list[Registration] = pending,
            ) -> None:
                if not isinstance(name, str) or not name:
                    raise TypeError(f"register(): name must be a non-empty string, got {name!r}")
                if not callable(factory):
                    raise TypeError(f"register({name!r}): factory must be callable")
                _pending.append(Registration(name, factory, _p, description))

            try:
                impl.function(register=register)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                self.failures.append(
                    PluginFailure(plugin_name, self._dist.get(plugin_name, (None, None))[0], hook_name, _one_line(exc))
                )
                continue
            for reg in pending:
                if reg.name in table:
                    other = table[reg.name].plugin
                    self.failures.append(
                        PluginFailure(
                            plugin_name,
                            self._dist.get(plugin_name, (None, None))[0],
                            hook_name,
                            f"{kind[:-1]} {reg.name!r} is already registered by plugin {other!r}; skipped",
                        )
                    )
                    continue
                table[reg.name] = reg

    # -- queries -------------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        out = []
        for name, _plugin in self.pm.list_name_plugin():
            package, version = self._dist.get(name, (None, None))
            out.append(
                PluginInfo(
                    name=name,
                    package=package,
                    version=version,
                    tasks=tuple(sorted(r.name for r in self.tasks.values() if r.plugin == name)),
                    estimators=tuple(sorted(r.name for r in self.estimators.values() if r.plugin == name)),
                    datasets=tuple(sorted(r.name for r in self.datasets.values() if r.plugin == name)),
                )
            )
        return sorted(out, key=lambda p: (p.name != CORE_PLUGIN_NAME, p.name))

    def _lookup(self, kind: str, name: str) -> Registration:
        table: dict[str, Registration] = getattr(self, kind)
        if name in table:
            return table[name]
        known = ", ".join(sorted(table)) or "(none)"
        hint = difflib.get_close_matches(name, list(table), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        failed = [f.name for f in self.failures]
        note = f"; plugins that failed to load: {', '.join(failed)}" if failed else ""
        raise UnknownNameError(f"unknown {kind[:-1]} {name!r}{extra}; available: {known}{note}")

    def _build(self, kind: str, name: str, options: Mapping[str, Any] | None) -> Any:
        reg = self._lookup(kind, name)
        try:
            return reg.factory(**dict(options or {}))
        except TTRLError:
            raise
        except KeyboardInterrupt:
            raise
        except TypeError as exc:
            raise ConfigError(f"{kind[:-1]} {name!r}: bad options {dict(options or {})!r}: {exc}") from None
        except BaseException as exc:  # SystemExit too: a plugin never ends the process
            raise ConfigError(f"{kind[:-1]} {name!r} (plugin {reg.plugin}) failed to build: {_one_line(exc)}") from None

    def task(self, name: str, **options: Any) -> Task:
        return self._build("tasks", name, options)

    def estimator(self, name: str, **options: Any) -> Estimator:
        return self._build("estimators", name, options)

    def dataset_loader(self, name: str) -> Callable[..., list[dict[str, Any]]]:
        reg = self._lookup("datasets", name)
        return _isolated(reg.factory, f"dataset {name!r} (plugin {reg.plugin})")


def _isolated(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
    """``fn`` with any ``BaseException`` but KeyboardInterrupt (a plugin calling ``sys.exit``,
    say) turned into a one-line :class:`PluginError`; ordinary exceptions pass unchanged so
    callers keep handling them as before."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (Exception, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise PluginError(f"{what} raised {_one_line(exc)}") from None

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


def _dist_of(name: str) -> tuple[str | None, str | None]:
    try:
        return name, md.version(name)
    except md.PackageNotFoundError:
        return name, None


_REGISTRY: PluginRegistry | None = None
_LOCK = threading.Lock()


def get_registry(*, refresh: bool = False) -> PluginRegistry:
    """The process-wide registry, loaded once (engines call this in every worker)."""
    global _REGISTRY
    with _LOCK:
        if _REGISTRY is None or refresh:
            _REGISTRY = PluginRegistry()
        return _REGISTRY
