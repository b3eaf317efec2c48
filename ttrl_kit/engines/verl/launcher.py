"""Run verl's PPO/GRPO trainer with TTRL rewards.

    python -m ttrl_kit.engines.verl [--dry-run] +ttrl.task=math +ttrl.n_votes=64 <verl Hydra overrides>

The arguments are verl's own Hydra overrides of its ``ppo_trainer`` config (the syntax of
``python -m verl.trainer.main_ppo``) plus a ``ttrl`` section (task, estimator, options,
n_votes).  Steps, all before anything heavy starts:

1. add the wiring overrides the user did not give (legacy trainer, our agent-loop manager,
   our gold reward manager through verl's importlib path) and refuse ones that contradict it;
2. compose the config with verl's Hydra config directory and run verl's ``validate_config``
   (its structured dataclasses check every field);
3. look the task and estimator up in the ttrl-kit registry (a typo fails here, not an hour
   later in a Ray actor) and refuse estimators needing signals verl lacks at reward time;
4. ``--dry-run``: print the full command line and stop.  Otherwise refuse a machine without
   the GPUs the config asks for, check the data files, and hand the config to verl's
   ``run_ppo`` with our task runner.
Every refusal is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError, TTRLError
from ttrl_kit.engines.verl.settings import build_scorer, n_votes_for, settings_from_config

VERL_VERSION = "0.9.1"
"""The verl release this engine is written and tested against."""

AGENT_LOOP_FQN = "ttrl_kit.engines.verl.agent_loop.TTRLAgentLoopManager"
REWARD_MANAGER_MODULE = "pkg://ttrl_kit.engines.verl.reward_manager"
"""verl's importlib syntax for an installed module (imported once, so ``@register`` never runs twice)."""
REWARD_MANAGER_CLASS = "TTRLGoldRewardManager"

WIRING: tuple[tuple[str, str], ...] = (
    ("trainer.use_v1", "False"),
    ("+actor_rollout_ref.rollout.agent.agent_loop_manager_class", AGENT_LOOP_FQN),
    ("reward.reward_manager.source", "importlib"),
    ("reward.reward_manager.name", REWARD_MANAGER_CLASS),
    ("reward.reward_manager.module.path", REWARD_MANAGER_MODULE),
)
"""Overrides that plug ttrl-kit into verl; added when absent, and a different value is refused."""

PROG = "python -m ttrl_kit.engines.verl"


def override_key(override: str) -> str:
    """The config key of a Hydra override (``+a.b=1`` -> ``a.b``; ``~a.b`` -> ``a.b``)."""
    return override.split("=", 1)[0].lstrip("+~")


def override_value(override: str) -> str | None:
    return override.split("=", 1)[1] if "=" in override else None


def with_wiring(overrides: Sequence[str]) -> list[str]:
    """The user's overrides plus the missing :data:`WIRING` ones (a contradicting value is an error)."""
    given = {override_key(o): o for o in overrides}
    out = list(overrides)
    for key, value in WIRING:
        plain = key.lstrip("+")
        if plain in given:
            have = override_value(given[plain])
            if have is None or have.strip("'\"").lower() != value.lower():  # Hydra reads false/False alike
                raise ConfigError(f"{plain}={have}: the verl engine needs {plain}={value}")
        else:
            out.append(f"{key}={value}")
    return out


def config_dir() -> str:
    """verl's Hydra config directory (the one ``verl.trainer.main_ppo`` composes from)."""
    import verl

    return str(Path(verl.__file__).parent / "trainer" / "config")


def compose(overrides: Sequence[str]) -> Any:
    """verl's ``ppo_trainer`` config with the overrides, composed by Hydra the way
    ``verl.trainer.main_ppo`` does (its structured configs included)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=config_dir(), version_base=None):
            return hydra_compose(config_name="ppo_trainer", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"verl config: {_first_line(exc)}") from None


def validate(config: Any) -> None:
    """verl's own ``validate_config`` (batch sizes, micro-batches, dataclass fields)."""
    from hydra.errors import HydraException
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        validate_config(
            config=config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config)
        )
    except (AssertionError, ValueError, TypeError, KeyError, OSError, HydraException) as exc:
        raise ConfigError(f"verl config rejected by verl's validate_config: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def check_version(version: Callable[[str], str] = metadata.version) -> None:
    try:
        have = version("verl")
    except metadata.PackageNotFoundError:
        raise ConfigError(f"verl is not installed: pip install 'ttrl-kit[verl]' (verl=={VERL_VERSION})") from None
    if have != VERL_VERSION:
        raise ConfigError(f"verl {have} is installed; the ttrl-kit verl engine is written for verl=={VERL_VERSION}")


def check_gpus(config: Any, gpu_count: int) -> None:
    """Refuse before Ray starts when this machine has fewer GPUs than one node of the config."""
    wanted = int(config.trainer.n_gpus_per_node)
    if gpu_count == 0:
        raise ConfigError(
            f"no CUDA GPU visible on this machine; verl trains on GPUs (trainer.n_gpus_per_node={wanted}). "
            "Check the config without GPUs with --dry-run"
        )
    if gpu_count < wanted:
        raise ConfigError(f"trainer.n_gpus_per_node={wanted} but this machine has {gpu_count} CUDA GPU(s)")


def check_data(config: Any) -> None:
    for field in ("train_files", "val_files"):
        files = config.data[field]
        for f in [files] if isinstance(files, str) else list(files):
            if "://" not in str(f) and not Path(str(f)).is_file():
                raise ConfigError(f"data.{field}: {f} not found (write it with scripts/verl/prepare_data.sh)")


def cuda_gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def plan(overrides: Sequence[str]) -> tuple[list[str], Any]:
    """Everything a launch checks without GPUs: returns the full overrides and the config."""
    check_version()
    full = with_wiring(overrides)
    config = compose(full)
    settings = settings_from_config(config)
    n_votes_for(settings, int(config.actor_rollout_ref.rollout.n))
    build_scorer(settings)
    validate(config)
    return full, config


def command_line(overrides: Sequence[str]) -> str:
    return shlex.join(["python", "-m", "ttrl_kit.engines.verl", *overrides])


def main(argv: Sequence[str] | None = None, gpu_count: Callable[[], int] = cuda_gpu_count) -> int:
    p = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n")[0],
        epilog="Overrides: verl's Hydra syntax (key=value, +key=value) plus +ttrl.task=NAME, "
        "+ttrl.estimator=NAME, +ttrl.n_votes=N, +ttrl.task_options={...}, "
        "+ttrl.estimator_options={...}.",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check the config with verl's loader and print the full command line, then exit",
    )
    p.add_argument("overrides", nargs="*", help="verl Hydra overrides")
    args = p.parse_args(argv)
    try:
        full, config = plan(args.overrides)
        if args.dry_run:
            print(command_line(full))
            print(f"{PROG}: config accepted by verl {VERL_VERSION}'s Hydra loader and validate_config", file=sys.stderr)
            return 0
        check_gpus(config, gpu_count())
        check_data(config)
    except TTRLError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    from verl.trainer.main_ppo import run_ppo

    from ttrl_kit.engines.verl.trainer import TTRLTaskRunner

    run_ppo(config, task_runner_class=TTRLTaskRunner)
    return 0
