"""Write a verl RL dataset (parquet) from a task's rows.

    python -m ttrl_kit.engines.verl.prepare_data --task math \
        --input ../shared/data/math/aime2024.jsonl --output data/verl/aime2024.parquet --datasource aime2024

One row per prompt, in the columns verl's ``RLHFDataset`` and reward loop read:
``data_source`` (names the validation metrics, ``val-core/<data_source>/acc/mean@k``),
``prompt`` (the task's own ``build_prompt(row)`` chat messages, so the engine stays
task-agnostic), ``ability`` (the task name), ``reward_model`` (``{"style": "rule",
"ground_truth": gold or ""}``: the gold label, read only for reported metrics and
validation, never for training rewards) and ``extra_info`` (``index``, ``id``).
Input: JSONL, a JSON list, or a registry dataset (``--dataset``), as for the OpenRLHF engine,
whose row conversion this reuses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import InputError, TTRLError
from ttrl_kit.core.io import parse_options
from ttrl_kit.core.plugins import get_registry
from ttrl_kit.engines.openrlhf.prepare_data import convert, read_rows


def to_verl(rows: list[dict[str, Any]], task_name: str) -> list[dict[str, Any]]:
    """OpenRLHF-style prepared rows (prompt, answer, id, datasource) -> verl's columns."""
    return [
        {
            "data_source": row["datasource"],
            "prompt": row["prompt"],
            "ability": task_name,
            "reward_model": {"style": "rule", "ground_truth": row["answer"]},
            "extra_info": {"index": i, "id": row["id"]},
        }
        for i, row in enumerate(rows)
    ]


def write_parquet(rows: list[dict[str, Any]], output: str) -> None:
    """All rows or nothing: written to a temporary name, then renamed."""
    import pandas as pd

    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    try:
        pd.DataFrame(rows).to_parquet(tmp, index=False)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ttrl_kit.engines.verl.prepare_data", description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True, help="task name (builds the prompt, reads the gold label)")
    p.add_argument("--task-option", action="append", default=[], metavar="K=V")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="JSONL or JSON-list file of task rows")
    src.add_argument("--dataset", help="registry dataset loader name (see `ttrl-kit plugins`)")
    p.add_argument("--source", default="", help="source string for --dataset")
    p.add_argument("--output", required=True, help="output parquet path")
    p.add_argument("--datasource", help="data_source value (default: input file stem or dataset name)")
    args = p.parse_args(argv)
    try:
        reg = get_registry()
        task = reg.task(args.task, **parse_options(args.task_option, "--task-option"))
        if args.input:
            rows, where = read_rows(args.input), args.input
            datasource = args.datasource or Path(args.input).stem
        else:
            rows, where = reg.dataset_loader(args.dataset)(args.source), args.dataset
            datasource = args.datasource or args.dataset
        if not rows:
            raise InputError(f"{where}: no rows")
        out = to_verl(convert(task, rows, datasource, where), args.task)
        write_parquet(out, args.output)
    except TTRLError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(out)} prompts to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
