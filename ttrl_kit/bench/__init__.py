"""``ttrl-kit bench``: cross-task benchmark grids of tasks x estimators x models.

Estimate-only mode samples n responses once per model x task, caches them, and scores every
estimator on the same rollouts; train mode runs short TTRL runs through the embedded engine.
Like an engine, the bench knows the core and the engines, never a plugin by name: tasks,
datasets and estimators come from the registry by the names in the config.
"""

from ttrl_kit.bench.config import BenchConfig, load_bench_config
from ttrl_kit.bench.runner import BenchResult, run_bench

__all__ = ["BenchConfig", "BenchResult", "load_bench_config", "run_bench"]
