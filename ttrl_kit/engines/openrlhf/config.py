"""The TTRL settings every OpenRLHF Ray process needs, carried as one JSON environment variable.

Why an environment variable: the group hook runs inside Ray actors (the PPO trainer, or the
async generator actor) and the per-sample reward file runs inside the vLLM actors.  None of
them receives our launcher's arguments, but all of them receive the job's
``runtime_env["env_vars"]``.  JSON keeps the value readable in ``ray job`` logs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ttrl_kit.core.errors import ConfigError

ENV_VAR = "TTRL_KIT_OPENRLHF"
"""Name of the environment variable that holds :class:`TTRLConfig` as JSON."""


@dataclass(frozen=True)
class TTRLConfig:
    """What the group hook needs: which task and estimator to ask the registry for, and how
    many votes to draw per prompt (``None``: as many as OpenRLHF trains on)."""

    task: str
    estimator: str = "majority"
    task_options: Mapping[str, Any] = field(default_factory=dict)
    estimator_options: Mapping[str, Any] = field(default_factory=dict)
    n_votes: int | None = None
    #: Run OpenRLHF's own evaluation once before the first training step (global step 0), so a
    #: run shows its own before/after (OpenRLHF 0.11.2 only evaluates after update steps).
    eval_at_start: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.task, str) or not self.task:
            raise ConfigError("TTRL config: 'task' must be a non-empty string")
        if not isinstance(self.estimator, str) or not self.estimator:
            raise ConfigError("TTRL config: 'estimator' must be a non-empty string")
        if self.n_votes is not None and (not isinstance(self.n_votes, int) or self.n_votes < 1):
            raise ConfigError(f"TTRL config: 'n_votes' must be a positive integer, got {self.n_votes!r}")
        if not isinstance(self.eval_at_start, bool):
            raise ConfigError(f"TTRL config: 'eval_at_start' must be true or false, got {self.eval_at_start!r}")

    def to_json(self) -> str:
        return json.dumps(
            asdict(self) | {"task_options": dict(self.task_options), "estimator_options": dict(self.estimator_options)},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, where: str = ENV_VAR) -> TTRLConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a JSON object")
        unknown = sorted(
            set(data) - {"task", "estimator", "task_options", "estimator_options", "n_votes", "eval_at_start"}
        )
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        if "task" not in data:
            raise ConfigError(f"{where}: missing 'task'")
        for key in ("task_options", "estimator_options"):
            if not isinstance(data.get(key, {}), dict):
                raise ConfigError(f"{where}: '{key}' must be an object")
        return cls(**data)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TTRLConfig:
        env = os.environ if environ is None else environ
        text = env.get(ENV_VAR)
        if not text:
            raise ConfigError(
                f"{ENV_VAR} is not set: start OpenRLHF through `ttrl-kit openrlhf` "
                "(or `python -m ttrl_kit.engines.openrlhf`), which sets it for every Ray worker"
            )
        return cls.from_json(text)
