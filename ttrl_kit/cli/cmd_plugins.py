"""``ttrl-kit plugins``: what is installed, what it provides, what failed to load."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ttrl_kit.core.plugins import get_registry


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="list plugins, their tasks/estimators/datasets, and failures")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    reg = get_registry()
    plugins = reg.plugins()
    if args.json:
        print(
            json.dumps({"plugins": [asdict(p) for p in plugins], "failed": [asdict(f) for f in reg.failures]}, indent=2)
        )
        return 0
    print("Plugins:")
    for p in plugins:
        origin = f"{p.package or '?'} {p.version or '?'}"
        print(f"  {p.name}  ({origin})")
        for kind in ("tasks", "estimators", "datasets"):
            names = getattr(p, kind)
            if names:
                print(f"      {kind}: {', '.join(names)}")
    print("Tasks:      " + (", ".join(sorted(reg.tasks)) or "(none)"))
    print("Estimators:" + ("" if reg.estimators else " (none)"))
    width = max((len(n) for n in reg.estimators), default=0)
    for name in sorted(reg.estimators):
        desc = reg.estimators[name].description
        print(f"  {name.ljust(width)}  {desc}".rstrip())
    print("Datasets:   " + (", ".join(sorted(reg.datasets)) or "(none)"))
    if reg.failures:
        print("Failed to load:")
        for f in reg.failures:
            print(f"  {f.name}  ({f.package or '?'})  [{f.stage}]  {f.error}")
    return 0
