"""Write an OpenRLHF prompt dataset (JSONL) from a task's rows.

    python -m ttrl_kit.engines.openrlhf.prepare_data --task math \
        --input ../shared/data/math/aime2024.jsonl --output data/openrlhf/aime2024.jsonl --datasource aime2024

Each output line: ``{"prompt": [chat messages], "answer": gold or "", "id": ..., "datasource": ...}``.
``prompt`` is the task's own ``build_prompt(row)`` (so the engine stays task-agnostic), read by
OpenRLHF with ``--data.input_key prompt --data.apply_chat_template``; ``answer`` is read only
with ``--data.label_key answer`` and is used for metrics and eval, never for training rewards.
``datasource`` names the eval metrics (``eval_<datasource>_pass1``).  Input: JSONL, or a JSON
list (TTRL's ``verl/data/*-TTT/test.json`` works as is); or a registry dataset with --dataset.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ttrl_kit.core.errors import ConfigError, InputError, TTRLError
from ttrl_kit.core.io import iter_jsonl, parse_options
from ttrl_kit.core.plugins import get_registry


def read_rows(path: str) -> list[dict[str, Any]]:
    p = Path(path)
    if p.suffix == ".json":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{p}: file not found") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError(f"{p}: expected a JSON list of objects")
        return data
    return [row for _, row in iter_jsonl(p)]


def convert(task: Any, rows: Iterable[dict[str, Any]], datasource: str, where: str = "input") -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(tqdm(list(rows), desc=f"prepare {datasource}", unit="row")):
        try:
            messages = task.build_prompt(row)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: row {i + 1}: task {task.name!r} cannot build a prompt ({exc!r})") from None
        gold = task.gold_label(row)
        out.append(
            {
                "prompt": [dict(m) for m in messages],
                "answer": "" if gold is None else str(gold),
                "id": str(row.get("id", i)),
                "datasource": datasource,
            }
        )
    return out


def write_jsonl(rows: list[dict[str, Any]], output: str) -> None:
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(target)


def add_source_arguments(p: argparse.ArgumentParser, output_help: str, datasource_help: str) -> None:
    """The command-line arguments every engine's data preparation shares (task, rows, output)."""
    p.add_argument("--task", required=True, help="task name (builds the prompt, reads the gold label)")
    p.add_argument("--task-option", action="append", default=[], metavar="K=V")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="JSONL or JSON-list file of task rows")
    src.add_argument("--dataset", help="registry dataset loader name (see `ttrl-kit plugins`)")
    p.add_argument("--source", default="", help="source string for --dataset")
    p.add_argument("--output", required=True, help=output_help)
    p.add_argument("--datasource", help=datasource_help)


def prompt_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Rows from ``--input`` or a registry dataset, converted by the task (see :func:`convert`)."""
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
    return convert(task, rows, datasource, where)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ttrl_kit.engines.openrlhf.prepare_data", description=__doc__.split("\n")[0]
    )
    add_source_arguments(
        p, "output JSONL path", "name for OpenRLHF's per-dataset eval metrics (default: input file stem)"
    )
    args = p.parse_args(argv)
    try:
        out = prompt_rows(args)
        write_jsonl(out, args.output)
    except (TTRLError, ConfigError) as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(out)} prompts to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
