"""Helpers shared by the sub-commands: task/estimator arguments and output files."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ttrl_kit.core import io as core_io
from ttrl_kit.core.errors import ConfigError


def add_task_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", required=True, help="task name (see `ttrl-kit plugins`)")
    p.add_argument("--task-option", action="append", metavar="K=V", default=[], help="task option (repeatable)")
    p.add_argument("--task-config", metavar="FILE", help="YAML/JSON mapping of task options")


def task_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--task-config`` then ``--task-option`` (rules: :func:`ttrl_kit.core.io.task_options`)."""
    return core_io.task_options(args.task, args.task_config, args.task_option)


@contextmanager
def output_stream(path: str | None) -> Iterator[IO[str]]:
    """Where a command writes its rows: nothing appears unless the whole command succeeds.

    To a file: a temporary sibling renamed over ``path`` at the end.  To stdout: rows are
    kept in memory and printed at the end, so a failure found at row 900 leaves stdout
    empty rather than holding 899 rows of a failed command."""
    if path is None:
        buf = io.StringIO()
        yield buf
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"{target}: --output is a directory, expected a file path")
    tmp = target.with_name(target.name + ".partial")
    try:
        fh = tmp.open("w", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc.strerror}") from None
    try:
        with fh:
            yield fh
        try:
            tmp.replace(target)
        except OSError as exc:
            raise ConfigError(f"{target}: cannot write: {exc.strerror}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def dump(obj: Any) -> str:
    """One output row as JSON (UTF-8 text; ``\\u`` escapes only where a value cannot be UTF-8)."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True)
    return text


def print_table(rows: list[tuple[str, str]], stream: IO[str]) -> None:
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k.ljust(width)}  {v}", file=stream)
