"""``ttrl-kit eval``: avg@k / maj@k / pass@k of a model on a task, without training."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ttrl_kit.core.errors import ConfigError

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="measure avg@k / maj@k / pass@k of a model (no training)",
        description="Either --config RUN_CONFIG (its model/data/task/eval sections), or --model/--task/--dataset.",
    )
    p.add_argument(
        "--config", help="a train config; its model, data, task, estimator, generation and eval sections are used"
    )
    p.add_argument(
        "--model", help="model: smollm2-135m, tiny-random, a local HF directory or hub id (overrides config)"
    )
    p.add_argument("--task", help="task name")
    p.add_argument("--task-option", action="append", default=[], metavar="K=V")
    p.add_argument("--dataset", help="registered dataset loader name (e.g. arithmetic)")
    p.add_argument("--source", help="loader source (family name, file path, ...)")
    p.add_argument("--dataset-option", action="append", default=[], metavar="K=V")
    p.add_argument("--k", type=int, help="samples per question (default 16)")
    p.add_argument("--max-questions", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--max-new-tokens", type=int)
    p.add_argument("--dtype", choices=("bf16", "fp32"))
    p.add_argument("--output", metavar="DIR", help="write eval_only.json and per-question JSONL here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ttrl_kit.core.io import load_mapping, parse_options
    from ttrl_kit.engines.embedded.config import from_mapping
    from ttrl_kit.engines.embedded.engine import evaluate_only

    if args.config:
        data = load_mapping(args.config)
        where = args.config
    else:
        if not (args.task and args.dataset and args.source):
            raise ConfigError("eval needs --config, or --task, --dataset and --source")
        data = {}
        where = "<command line>"
    for section in ("model", "data", "task", "eval", "generation", "train"):
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            got = "null" if data[section] is None else type(data[section]).__name__
            raise ConfigError(f"{where}: field {section!r}: expected a mapping, got {got}")
    if args.model:
        data["model"]["name"] = args.model
    if args.dtype:
        data["model"]["dtype"] = args.dtype
    if args.task:
        data["task"] = {"name": args.task, "options": parse_options(args.task_option, "--task-option")}
    if args.dataset:
        data["data"]["dataset"] = args.dataset
    if args.source:
        data["data"]["source"] = args.source
    if args.dataset_option:
        data["data"]["options"] = parse_options(args.dataset_option, "--dataset-option")
    if args.k is not None:
        data["eval"]["k"] = args.k
    if args.max_questions is not None:
        data["eval"]["max_questions"] = args.max_questions
    if args.temperature is not None:
        data["generation"]["temperature"] = args.temperature
    if args.max_new_tokens is not None:
        data["generation"]["max_completion_length"] = args.max_new_tokens
    data["train"].setdefault("prompts_per_step", 1)
    data["train"].setdefault("micro_batch_size", 1)
    cfg = from_mapping(data, where)
    if args.output:
        from ttrl_kit.engines.embedded.run_dir import RunDir

        RunDir(args.output).check_writable()
    result = evaluate_only(cfg, out=args.output, log=lambda m: print(f"ttrl-kit eval: {m}", file=sys.stderr))
    k = cfg.eval.k
    for split, r in result.items():
        print(
            f"{split}: {r['n_questions']} questions, k={k}: pass@1 (avg@{k}) {r['avg_at_k']:.3f}  "
            f"maj@{k} {r['maj_at_k']:.3f}  pass@{k} {r['pass_at_k']:.3f}  mean length {r['mean_length']:.1f} tokens  "
            f"({r['seconds']:.0f} s)"
        )
    if args.output:
        print(json.dumps({"output": args.output}))
    return 0
