"""Hook implementations only: the math plugin's whole contact surface with ttrl-kit."""

from __future__ import annotations

from ttrl_kit import hookimpl


@hookimpl
def register_tasks(register):
    from ttrl_math.task import MathTask

    register("math", MathTask, "math answers: boxed/phrase/number extraction, exact + fingerprint equivalence classes")


@hookimpl
def register_datasets(register):
    from ttrl_math import datasets
    from ttrl_math.arithmetic import load_arithmetic

    register("arithmetic", load_arithmetic, "seeded synthetic arithmetic questions (offline demo task)")
    for name, (loader, desc) in datasets.LOADERS.items():
        register(name, loader, desc)
