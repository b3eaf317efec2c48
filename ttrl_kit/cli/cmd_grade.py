"""``ttrl-kit grade``: grade predictions (bare answers or full responses) against gold."""

from __future__ import annotations

import argparse
import sys

from ttrl_kit.cli.common import add_task_arguments, dump, output_stream, task_options
from ttrl_kit.core.errors import InputError
from ttrl_kit.core.io import iter_jsonl, require
from ttrl_kit.core.plugins import get_registry
from ttrl_kit.core.task import grade


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grade",
        help="grade predictions against gold answers",
        description='Input lines: {"pred": response or answer text, "gold": reference answer, '
        '"expected": optional true/false}. With "expected", accuracy is agreement with it and '
        "false positives/negatives are counted.",
    )
    add_task_arguments(p)
    p.add_argument("--input", required=True, help="cases JSONL")
    p.add_argument("--output", help="output JSONL (default: stdout)")
    p.set_defaults(func=run)


def _expected(obj: dict, where: str) -> bool | None:
    """Optional label of a case: true/false, or 1/0 as several public suites write it."""
    value = obj.get("expected")
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InputError(f"{where}: field 'expected': expected true/false (or 1/0), got {value!r}")


def run(args: argparse.Namespace) -> int:
    task = get_registry().task(args.task, **task_options(args))
    cases = []
    for lineno, obj in iter_jsonl(args.input):
        where = f"{args.input}:{lineno}"
        pred, gold = require(obj, "pred", str, where), require(obj, "gold", str, where)
        cases.append((obj, pred, gold, _expected(obj, where)))
    correct = agree = fp = fn = labelled = 0
    with output_stream(args.output) as out:
        for obj, pred, gold, expected in cases:
            ok = grade(task, pred, gold)  # a grader failure (even a plugin's sys.exit) is a wrong answer
            correct += ok
            if expected is not None:
                labelled += 1
                agree += ok == expected
                fp += ok and not expected
                fn += expected and not ok
            row = dict(obj)
            row["correct"] = bool(ok)
            print(dump(row), file=out)
    n = len(cases)
    if labelled:
        acc = agree / labelled
        print(
            f"accuracy {acc:.4f} ({agree}/{labelled} agree with 'expected'), false positives {fp}, "
            f"false negatives {fn}; {correct}/{n} graded correct on {args.input} [task {args.task}]",
            file=sys.stderr,
        )
    else:
        acc = correct / n if n else 0.0
        print(f"accuracy {acc:.4f} ({correct}/{n}) on {args.input} [task {args.task}]", file=sys.stderr)
    return 0
