"""``ttrl-kit train CONFIG``: a TTRL run with the embedded engine (TRL GRPOTrainer).

``--resume RUN_DIR`` continues a crashed or killed run from its last complete checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError

# Transparent huge pages for torch's CPU allocator: ~1.25x on CPU (page faults were ~40 %
# of CPU time).  Must be set before torch allocates; the user's own value wins.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model with TTRL (label-free GRPO) on one machine",
        description="Runs eval-before, GRPO training with a label-free reward, eval-after; writes a run directory.",
    )
    p.add_argument("config", nargs="?", help="run config (YAML/JSON), e.g. configs/demo/ttrl_add1.yaml")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--output", metavar="RUN_DIR", help="run directory (overrides output.dir)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set train.max_steps=5 (repeatable)",
    )
    p.set_defaults(func=run)


def apply_overrides(data: dict[str, Any], pairs: list[str], where: str) -> dict[str, Any]:
    from ttrl_kit.core.io import parse_option_value

    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE")
        key, value = pair.split("=", 1)
        parts = key.strip().split(".")
        node = data
        if not all(parts):
            raise ConfigError(f"--set {pair!r}: empty field name")
        for part in parts[:-1]:
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"{where}: --set {key}: {part!r} is not a section")
            node = nxt
        node[parts[-1]] = parse_option_value(value)
    return data


def run(args: argparse.Namespace) -> int:
    from ttrl_kit.core.io import load_mapping
    from ttrl_kit.engines.embedded.config import from_mapping

    if args.resume:
        if args.config:
            raise ConfigError("give either CONFIG or --resume RUN_DIR, not both")
        run_dir = Path(args.resume)
        cfg_path = run_dir / "config.yaml"
        if not cfg_path.is_file():
            raise ConfigError(f"{run_dir}: not a run directory (no config.yaml)")
        data = apply_overrides(load_mapping(cfg_path), args.set, str(cfg_path))
        cfg = from_mapping(data, str(cfg_path))
    else:
        if not args.config:
            raise ConfigError("missing CONFIG (or --resume RUN_DIR)")
        data = apply_overrides(load_mapping(args.config), args.set, args.config)
        cfg = from_mapping(data, args.config)
        run_dir = Path(args.output or cfg.output.dir or Path("runs") / Path(args.config).stem)
        cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, dir=str(run_dir)))
        from ttrl_kit.engines.embedded.run_dir import RunDir

        RunDir(run_dir).check_writable()

    import warnings

    # transformers 5.x deprecation notices triggered inside TRL (gradient_checkpointing ->
    # activation_checkpointing) would print at every step; they are not the user's to fix.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\..*")
    from ttrl_kit.engines.embedded.engine import train

    log = lambda msg: print(f"ttrl-kit train: {msg}", file=sys.stderr)  # noqa: E731
    summary = train(cfg, run_dir, resume=bool(args.resume), log=log)
    print(f"run directory: {run_dir}")
    k = summary.get("k")
    for split in ("test", "heldout"):
        e = summary.get(split)
        if not e:
            continue
        for when in ("before", "after"):
            d = e.get(when)
            if d:
                print(
                    f"  {split:7s} {when:6s}  pass@1 {d['pass@1 (avg@k)']:.3f}  maj@{k} {d[f'maj@{k}']:.3f}  "
                    f"pass@{k} {d[f'pass@{k}']:.3f}"
                )
    print(f"summary: {run_dir / 'summary.md'}")
    return 0
