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
from dataclasses import asdict, dataclass
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.schema import build, check, setting

ENV_VAR = "TTRL_KIT_OPENRLHF"
"""Name of the environment variable that holds :class:`TTRLConfig` as JSON."""


@dataclass(frozen=True)
class TTRLConfig:
    """What the group hook needs: which task and estimator to ask the registry for, and how
    many votes to draw per prompt.  Built from a mapping by :meth:`from_mapping` (one-line
    errors naming the field); direct construction is checked against the same settings."""

    task: str = setting(help="Task name from the plugin registry.", nonempty="a task name from `ttrl-kit plugins`")
    estimator: str = setting("majority", help="Estimator name from the plugin registry.", nonempty=True)
    task_options: Mapping[str, Any] = setting(help="Keyword options of the task.", default_factory=dict)
    estimator_options: Mapping[str, Any] = setting(help="Keyword options of the estimator.", default_factory=dict)
    n_votes: int | None = setting(
        None, help="Samples voted on per prompt (null: as many as the engine trains on).", ge=1
    )
    eval_at_start: bool = setting(
        False,
        help="Run OpenRLHF's own evaluation once before the first training step (global step 0), so a run "
        "shows its own before/after (OpenRLHF 0.11.2 only evaluates after update steps).",
    )
    health_log: str | None = setting(
        None,
        help="Also append the label-free health of every training batch (core/health.py) as one JSON line to "
        "this file, as the embedded engine does in metrics.jsonl (null: only OpenRLHF's own logs, as "
        "``train/ttrl/health_*``).  A path every Ray node can write.",
        nonempty=True,
    )

    def __post_init__(self) -> None:
        check(self)

    @classmethod
    def from_mapping(cls, data: Any, where: str, prefix: str = "") -> TTRLConfig:
        return build(cls, data, where, prefix=prefix)

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
        return cls.from_mapping(data, where)

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
