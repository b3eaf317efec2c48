"""``ttrl-kit vote``: pseudo-labels and rewards for groups of responses in a JSONL file."""

from __future__ import annotations

import argparse
import sys
import time

from ttrl_kit.cli.common import add_task_arguments, dump, output_stream, print_table, task_options
from ttrl_kit.core.errors import InputError
from ttrl_kit.core.io import iter_jsonl, parse_options, require, require_str_list
from ttrl_kit.core.records import SIGNAL_NAMES, GroupInput, GroupResult, Signals
from ttrl_kit.core.scoring import GroupScorer, summarise
from ttrl_kit.core.signals import check_values


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vote",
        help="estimate pseudo-labels and rewards for groups of responses",
        description='Input lines: {"id": ..., "responses": [str, ...], "gold": optional str, '
        '"signals": optional {"logprob": [[float per token], ...one list per response], ...}}. '
        "Estimators that read signals (see `ttrl-kit plugins`) need them on every line. "
        "A batch-aware estimator (e.g. aligned) sees the whole file as one batch.",
    )
    add_task_arguments(p)
    p.add_argument("--estimator", default="majority", help="estimator name (default: majority)")
    p.add_argument("--option", action="append", metavar="K=V", default=[], help="estimator option (repeatable)")
    p.add_argument("--input", required=True, help="groups JSONL")
    p.add_argument("--output", help="output JSONL (default: stdout)")
    p.set_defaults(func=run)


def read_signals(obj: dict, n: int, scorer: GroupScorer, where: str) -> Signals | None:
    """The line's optional ``signals`` object, validated (one list of finite per-token
    values per response); a signal the estimator needs must be there."""
    raw = require(obj, "signals", dict, where, optional=True)
    raw = raw or {}
    for name, values in raw.items():
        if name not in SIGNAL_NAMES:
            raise InputError(f"{where}: field 'signals.{name}': unknown signal; known: {', '.join(SIGNAL_NAMES)}")
        problem = check_values(name, values, n)
        if problem:
            raise InputError(f"{where}: field 'signals.{name}': {problem}")
    for name in scorer.needs:
        if name not in raw:
            raise InputError(
                f"{where}: field 'signals.{name}': missing; estimator {scorer.estimator_name!r} needs signal {name!r}"
            )
    return Signals.from_mapping(raw) if raw else None


def score_file(scorer: GroupScorer, groups: list, path: str) -> list[GroupResult]:
    """Every group of the file; a batch-aware estimator sees the whole file as one batch
    (one step), any other estimator one line at a time with errors naming the line."""
    if scorer.batch:
        inputs = [GroupInput(tuple(resp), gold, None, obj["id"], sig) for _w, obj, resp, gold, sig in groups]
        try:
            return scorer.score_batch(inputs)
        except Exception as exc:  # e.g. n_train larger than a group
            raise InputError(f"{path}: {exc}") from None
    results = []
    for where, obj, responses, gold, signals in groups:
        try:
            results.append(scorer.score(responses, gold=gold, id=obj["id"], signals=signals))
        except Exception as exc:  # e.g. n_train larger than this group
            raise InputError(f"{where}: {exc}") from None
    return results


def run(args: argparse.Namespace) -> int:
    scorer = GroupScorer.from_names(
        args.task, args.estimator, task_options=task_options(args), estimator_options=parse_options(args.option)
    )
    # Validate the whole file before writing anything, so a bad line costs no partial output.
    groups = []
    for lineno, obj in iter_jsonl(args.input):
        where = f"{args.input}:{lineno}"
        if "id" not in obj:
            require(obj, "id", object, where)
        responses = require_str_list(obj, "responses", where)
        if not responses:
            raise InputError(f"{where}: field 'responses': expected at least one response")
        gold = require(obj, "gold", str, where, optional=True)
        signals = read_signals(obj, len(responses), scorer, where)
        groups.append((where, obj, responses, gold, signals))

    t0 = time.perf_counter()
    results = score_file(scorer, groups, args.input)
    with output_stream(args.output) as out:
        for (_where, obj, _responses, gold, _signals), r in zip(groups, results):
            row = dict(obj)
            row.pop("signals", None)  # input only: echoing per-token lists would bloat the output
            row.update(
                answers=list(r.answers),
                label=r.label,
                rewards=list(r.rewards),
                majority_ratio=r.estimate.majority_ratio,
                low_consensus=r.estimate.low_consensus,
            )
            if gold is not None:
                row.update(label_correct=r.label_correct, reward_accuracy=r.reward_accuracy)
            print(dump(row), file=out)
    elapsed = time.perf_counter() - t0
    s = summarise(results)
    rows = [("groups", str(len(results)))]
    if "labelled_groups" in s and "label_accuracy" not in s:
        rows.append(("label_accuracy", f"n/a ({args.estimator} emits no label)"))
        rows.append(("reward_accuracy", "n/a"))
    elif "label_accuracy" in s:
        rows.append(("label_accuracy", f"{s['label_accuracy']:.4f}  ({int(s['labelled_groups'])} groups with gold)"))
        rows.append(("reward_accuracy", f"{s['reward_accuracy']:.4f}"))
    else:
        rows.append(("label_accuracy", "n/a (no gold labels)"))
        rows.append(("reward_accuracy", "n/a (no gold labels)"))
    rows.append(("majority_ratio", f"{s.get('majority_ratio', 0.0):.4f}  (mean)"))
    rows.append(("low_consensus", f"{round(s.get('low_consensus', 0.0) * len(results))} groups"))
    rows.append(("groups/s", f"{len(results) / elapsed:.1f}" if elapsed > 0 else "inf"))
    print(f"Summary ({args.task} / {args.estimator}):", file=sys.stderr)
    print_table(rows, sys.stderr)
    return 0
