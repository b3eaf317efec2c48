"""The core's own plugin: registers the built-in estimators through the same hook that
third-party estimators use, so there is exactly one way in."""

from __future__ import annotations

from ttrl_kit.core.aligned import ALIGNED_ESTIMATORS
from ttrl_kit.core.certainty import SIGNAL_ESTIMATORS
from ttrl_kit.core.estimators import BUILTIN_ESTIMATORS
from ttrl_kit.core.hookspecs import Register, hookimpl


@hookimpl
def register_estimators(register: Register) -> None:
    for name, (cls, description) in {**BUILTIN_ESTIMATORS, **SIGNAL_ESTIMATORS, **ALIGNED_ESTIMATORS}.items():
        register(name, cls, description)
