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

from ttrl_kit.core.errors import TTRLError
from ttrl_kit.engines.openrlhf.prepare_data import add_source_arguments, prompt_rows


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
    add_source_arguments(p, "output parquet path", "data_source value (default: input file stem or dataset name)")
    args = p.parse_args(argv)
    try:
        out = to_verl(prompt_rows(args), args.task)
        write_parquet(out, args.output)
    except TTRLError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(out)} prompts to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
