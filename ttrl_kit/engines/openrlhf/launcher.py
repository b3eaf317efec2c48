"""Launch OpenRLHF 0.11's ``train_ppo_ray`` with the TTRL group hook in every Ray worker.

    ttrl-kit openrlhf --task math [--estimator majority] [--n-votes 64] -- <OpenRLHF dotted flags>
    python -m ttrl_kit.engines.openrlhf --task math -- <OpenRLHF dotted flags>

Steps: validate the TTRL options (the task and estimator are looked up in the registry now,
so a typo fails here and not an hour later inside a Ray actor); add
``--reward.remote_url <ttrl_reward_func.py>`` unless the user gave one; ``ray.init`` with a
runtime_env that carries the TTRL config and the worker setup hook; then run OpenRLHF's own
``openrlhf.cli.train_ppo_ray`` as ``__main__`` (its parser, its validation, its ``train``)
with the dotted flags otherwise unchanged.  ``train()`` skips its own ``ray.init`` because Ray
is initialised already, so the env vars it would have set are set here too.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.io import parse_options, task_options
from ttrl_kit.engines.openrlhf.config import ENV_VAR, TTRLConfig

REWARD_FILE = str(Path(__file__).with_name("ttrl_reward_func.py"))
"""The per-sample reward file shipped with ttrl-kit (see ``ttrl_reward_func``)."""

OPENRLHF_MAIN = "openrlhf.cli.train_ppo_ray"
WANDB_KEY_FLAG = "--logger.wandb.key"
WANDB_KEY_FROM_ENV = "from-env:WANDB_API_KEY"
"""What ``--logger.wandb.key`` says on OpenRLHF's command line.  OpenRLHF 0.11.2 turns wandb on
only when that flag is non-empty, prints its full args (``strategy.print(args)``) and uploads
them as the wandb run config, so the real key must never be the flag's value: wandb reads it
from ``WANDB_API_KEY`` in the trainer actor (``wandb.api.api_key``) and never falls back to the
flag.  A real key given to the launcher as the flag is moved into ``WANDB_API_KEY``."""
RAY_JOB_CONFIG = "RAY_JOB_CONFIG_JSON_ENV_VAR"  # set by `ray job submit` for the driver
_TRAIN_ENV_DEFAULTS = {  # what openrlhf's train() passes to ray.init when it initialises Ray
    "TOKENIZERS_PARALLELISM": "true",
    "NCCL_DEBUG": "WARN",
    "RAY_ENABLE_ZERO_COPY_TORCH_TENSORS": "1",
}


@dataclass
class LaunchPlan:
    """Everything the launch does, computed without importing Ray or OpenRLHF (dry-run prints it)."""

    config: TTRLConfig
    openrlhf_argv: list[str]
    runtime_env: dict[str, Any] = field(default_factory=dict)
    n_train: int = 1
    #: Set into this process's environment by :func:`run` (never printed, never in ``as_dict``).
    wandb_api_key: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ttrl": json.loads(self.config.to_json()),
            "n_train": self.n_train,
            "n_votes": self.config.n_votes or self.n_train,
            "runtime_env": self.runtime_env,
            "command": ["python", "-m", OPENRLHF_MAIN, *self.openrlhf_argv],
        }


def add_arguments(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument(
        "--task",
        default=env("TTRL_KIT_TASK"),
        help="task name from the registry (env TTRL_KIT_TASK); see `ttrl-kit plugins`",
    )
    p.add_argument("--task-option", action="append", default=[], metavar="K=V", help="task option (repeatable)")
    p.add_argument("--task-config", metavar="FILE", help="YAML/JSON mapping of task options")
    p.add_argument(
        "--estimator",
        default=env("TTRL_KIT_ESTIMATOR", "majority"),
        help="estimator name (env TTRL_KIT_ESTIMATOR; default majority)",
    )
    p.add_argument(
        "--estimator-option", action="append", default=[], metavar="K=V", help="estimator option (repeatable)"
    )
    p.add_argument(
        "--n-votes",
        type=int,
        default=None,
        help="samples drawn and voted on per prompt (env TTRL_KIT_N_VOTES); the first "
        "--rollout.n_samples_per_prompt of them are trained on (default: equal)",
    )
    p.add_argument(
        "--eval-at-start",
        action="store_true",
        default=_bool_env("TTRL_KIT_EVAL_AT_START"),
        help="evaluate (--eval.dataset) once at global step 0, before the first update, so the run "
        "has its own baseline (env TTRL_KIT_EVAL_AT_START=1)",
    )
    p.add_argument(
        "--health-log",
        metavar="FILE",
        help="also append the label-free health of every training batch as one JSON line to FILE "
        "(a path every Ray node can write; env TTRL_KIT_HEALTH_LOG)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the launch plan (OpenRLHF command, runtime_env) as JSON and exit"
    )
    p.add_argument(
        "openrlhf_args",
        nargs=argparse.REMAINDER,
        metavar="-- FLAGS",
        help="OpenRLHF 0.11 dotted flags, passed through unchanged",
    )


def _bool_env(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _int_env(name: str, environ: dict[str, str]) -> int | None:
    value = environ.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: expected an integer") from None


def flag_value(flags: Sequence[str], name: str) -> str | None:
    """Last value given to ``name`` (``--x v`` or ``--x=v``), as argparse would keep it."""
    value = None
    for i, tok in enumerate(flags):
        if tok == name and i + 1 < len(flags):
            value = flags[i + 1]
        elif tok.startswith(name + "="):
            value = tok[len(name) + 1 :]
    return value


def build_plan(args: argparse.Namespace, environ: dict[str, str] | None = None) -> LaunchPlan:
    environ = dict(os.environ if environ is None else environ)
    flags = list(args.openrlhf_args or [])
    if flags and flags[0] == "--":
        flags = flags[1:]
    if not args.task:
        raise ConfigError("--task is required (or set TTRL_KIT_TASK)")
    if not flags:
        raise ConfigError("no OpenRLHF flags: put them after `--`, e.g. -- --actor.model_name_or_path MODEL ...")
    n_votes = args.n_votes if args.n_votes is not None else _int_env("TTRL_KIT_N_VOTES", environ)
    config = TTRLConfig(
        task=args.task,
        estimator=args.estimator,
        task_options=task_options(args.task, args.task_config, args.task_option),  # the commands' rules
        estimator_options=parse_options(args.estimator_option, "--estimator-option"),
        n_votes=n_votes,
        eval_at_start=bool(getattr(args, "eval_at_start", False)),
        health_log=getattr(args, "health_log", None) or environ.get("TTRL_KIT_HEALTH_LOG") or None,
    )
    _check_names(config, flag_value(flags, "--algo.advantage.is_correction_level"))
    if config.eval_at_start and flag_value(flags, "--eval.dataset") is None:
        raise ConfigError("--eval-at-start needs --eval.dataset (the set OpenRLHF evaluates on)")
    flags = secure_wandb_key(flags, environ)
    _check_openrlhf_version(environ)

    raw_n = flag_value(flags, "--rollout.n_samples_per_prompt")
    try:
        n_train = int(raw_n) if raw_n is not None else 1
    except ValueError:
        raise ConfigError(f"--rollout.n_samples_per_prompt {raw_n!r}: expected an integer") from None
    if config.n_votes is not None and config.n_votes < n_train:
        raise ConfigError(
            f"--n-votes {config.n_votes} is smaller than --rollout.n_samples_per_prompt {n_train} "
            "(votes are drawn first, then the first n_samples_per_prompt are trained on)"
        )
    if n_train < 2:
        raise ConfigError("--rollout.n_samples_per_prompt must be > 1: TTRL rewards are relative to a group")

    if flag_value(flags, "--reward.remote_url") is None and flag_value(flags, "--train.agent_func_path") is None:
        flags += ["--reward.remote_url", REWARD_FILE]
    return LaunchPlan(
        config=config,
        openrlhf_argv=flags,
        runtime_env=runtime_env_for(config, environ),
        n_train=n_train,
        wandb_api_key=environ.get("WANDB_API_KEY") if WANDB_KEY_FROM_ENV in flags else None,
    )


def secure_wandb_key(flags: list[str], environ: dict[str, str]) -> list[str]:
    """Keep the wandb key off OpenRLHF's command line (see :data:`WANDB_KEY_FROM_ENV`).

    A literal key in ``--logger.wandb.key`` is moved into ``environ`` (and so into this process's
    environment before Ray starts, which Ray workers inherit) and replaced by the placeholder.
    The placeholder without ``WANDB_API_KEY`` is a one-line error now rather than a failed
    ``wandb.login`` inside a Ray actor later."""
    out: list[str] = []
    i = 0
    while i < len(flags):
        tok = flags[i]
        value = None
        if tok == WANDB_KEY_FLAG and i + 1 < len(flags):
            value, i = flags[i + 1], i + 2
        elif tok.startswith(WANDB_KEY_FLAG + "="):
            value, i = tok[len(WANDB_KEY_FLAG) + 1 :], i + 1
        else:
            out.append(tok)
            i += 1
            continue
        if value and value != WANDB_KEY_FROM_ENV:
            environ["WANDB_API_KEY"] = value
        if value:
            out += [WANDB_KEY_FLAG, WANDB_KEY_FROM_ENV]
    if WANDB_KEY_FROM_ENV in out and not environ.get("WANDB_API_KEY"):
        raise ConfigError(f"{WANDB_KEY_FLAG} {WANDB_KEY_FROM_ENV}: set WANDB_API_KEY (wandb reads the key from there)")
    return out


def _check_names(config: TTRLConfig, correction_level: str | None = None) -> None:
    """Build the scorer once in the driver: unknown names or bad options fail right here, and
    so does an estimator whose signals this engine cannot supply with these OpenRLHF flags."""
    from ttrl_kit.engines.openrlhf.group_hook import SUPPLIED, _scorer_from_registry, check_correction_level

    scorer = _scorer_from_registry(config)
    scorer.check_engine("openrlhf", SUPPLIED)
    check_correction_level(config.estimator, scorer.needs, correction_level)


def _check_openrlhf_version(environ: dict[str, str]) -> None:
    """The driver refuses an unchecked OpenRLHF before Ray starts (the workers check again)."""
    from ttrl_kit.engines.openrlhf import patch

    patch.check_version(patch._version(), environ)


def runtime_env_for(config: TTRLConfig, environ: dict[str, str]) -> dict[str, Any]:
    """The runtime_env for ``ray.init``: TTRL config + train()'s env vars + the setup hook.

    Under ``ray job submit`` Ray merges this with the job's runtime_env and REFUSES a key set
    in both, so keys the job already sets are left out (the job's values win).
    """
    from ttrl_kit.engines.openrlhf.worker_setup import SETUP_HOOK

    job_env: dict[str, Any] = {}
    if environ.get(RAY_JOB_CONFIG):
        try:
            job_env = json.loads(environ[RAY_JOB_CONFIG]).get("runtime_env") or {}
        except (json.JSONDecodeError, AttributeError):
            job_env = {}
    job_vars = job_env.get("env_vars") or {}
    env_vars = {k: environ.get(k, v) for k, v in _TRAIN_ENV_DEFAULTS.items()}
    env_vars[ENV_VAR] = config.to_json()
    from ttrl_kit.engines.openrlhf.patch import OVERRIDE_ENV

    if environ.get(OVERRIDE_ENV):  # the workers apply the same version rule
        env_vars[OVERRIDE_ENV] = environ[OVERRIDE_ENV]
    env_vars = {k: v for k, v in env_vars.items() if k not in job_vars}
    if ENV_VAR in job_vars and job_vars[ENV_VAR] != config.to_json():
        raise ConfigError(f"the Ray job's runtime_env sets {ENV_VAR} differently from the launcher options")
    out: dict[str, Any] = {"env_vars": env_vars}
    hook = job_env.get("worker_process_setup_hook")
    if hook is None:
        out["worker_process_setup_hook"] = SETUP_HOOK
    elif hook != SETUP_HOOK:
        raise ConfigError(f"the Ray job already sets worker_process_setup_hook={hook!r}; ttrl-kit needs {SETUP_HOOK!r}")
    return out


def run(plan: LaunchPlan) -> int:
    """Initialise Ray with the hook, then hand over to OpenRLHF's own entry point."""
    import ray

    from ttrl_kit.engines.openrlhf import worker_setup

    if ray.is_initialized():
        raise ConfigError("Ray is already initialised in this process; the TTRL hook must be set at ray.init")
    os.environ[ENV_VAR] = plan.config.to_json()  # the driver itself, and Ray started from it
    if plan.wandb_api_key:  # inherited by the local Ray cluster ray.init starts (not in runtime_env: printed)
        os.environ["WANDB_API_KEY"] = plan.wandb_api_key
    ray.init(runtime_env=plan.runtime_env)
    worker_setup.setup()  # the driver too, in case a generator ever runs in-process
    saved = sys.argv
    sys.argv = [OPENRLHF_MAIN, *plan.openrlhf_argv]
    try:
        runpy.run_module(OPENRLHF_MAIN, run_name="__main__", alter_sys=True)
    finally:
        sys.argv = saved
    return 0


def execute(args: argparse.Namespace) -> int:
    plan = build_plan(args)
    if args.dry_run:
        print(json.dumps(plan.as_dict(), indent=2))
        print("# " + shlex.join(plan.as_dict()["command"]))
        return 0
    return run(plan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ttrl_kit.engines.openrlhf",
        description="Run OpenRLHF 0.11 (Ray + vLLM + DeepSpeed) GRPO with a TTRL group reward.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return execute(args)
    except ConfigError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
