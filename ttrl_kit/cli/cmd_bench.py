"""``ttrl-kit bench CONFIG``: a grid of tasks x estimators x models, cached and resumable.

Writes results.csv, results.jsonl, results.md and PNG plots into the output directory;
rerunning a finished grid only rebuilds the report (seconds).
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark estimators across tasks and models (estimate-only and/or short TTRL runs)",
        description="Samples once per model x task, scores every estimator on the same cached rollouts, "
        "optionally trains; reruns skip finished cells.",
    )
    p.add_argument("config", help="bench config (YAML/JSON), e.g. configs/bench/cpu_smoke.yaml")
    p.add_argument("--output", metavar="DIR", help="output directory (overrides the config's output)")
    p.add_argument(
        "--mode",
        action="append",
        choices=("estimate", "train"),
        help="run only this mode (repeatable; default: the config's modes)",
    )
    p.add_argument(
        "--rescore",
        action="store_true",
        help="re-score every estimate cell from the cached rollouts (e.g. after editing a plugin)",
    )
    p.add_argument(
        "--report-only", action="store_true", help="compute nothing: rebuild the report from the cells finished so far"
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ttrl_kit.bench import load_bench_config, run_bench

    cfg = load_bench_config(args.config)
    res = run_bench(
        cfg,
        out_dir=args.output,
        modes=args.mode,
        rescore=args.rescore,
        progress=not args.no_progress,
        plots=not args.no_plots,
        report_only=args.report_only,
        log=lambda m: print(f"ttrl-kit bench: {m}", file=sys.stderr),
    )
    skipped = [r for r in res.rows if r.get("status") != "ok"]
    print(
        f"bench {cfg.name}: {len(res.rows)} cells ({res.computed} computed, {res.cached} cached), "
        f"{res.sampled_groups} prompt groups sampled, {res.seconds:.1f} s"
        + (f"; {res.missing} cells not run yet (partial report)" if res.missing else "")
    )
    for r in skipped:
        print(f"  {r['mode']} {r['model']}/{r['task']}/{r['estimator']}: {r['status']}: {r.get('reason', '')}")
    for f in list(res.files.values()) + list(res.plots):
        print(f"  {f}")
    return 1 if any(r.get("status") == "failed" for r in res.rows) else 0
