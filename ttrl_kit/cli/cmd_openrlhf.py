"""``ttrl-kit openrlhf [TTRL options] -- <OpenRLHF 0.11 dotted flags>``: multi-GPU TTRL on OpenRLHF."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "openrlhf",
        help="train with OpenRLHF 0.11 (Ray + vLLM + DeepSpeed) and a TTRL group reward",
        description="Install the TTRL group hook in every Ray worker, then run openrlhf.cli.train_ppo_ray "
        "with the flags after `--` unchanged (needs `pip install ttrl-kit[openrlhf]` and GPUs).",
    )
    from ttrl_kit.engines.openrlhf.launcher import add_arguments

    add_arguments(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ttrl_kit.engines.openrlhf.launcher import execute

    return execute(args)
