"""Entry point of the ``ttrl-kit`` console script.

Each sub-command lives in its own module exposing ``add_parser(subparsers)``; user errors
(:class:`ttrl_kit.TTRLError`) become one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ttrl_kit.core.errors import TTRLError

COMMANDS = ("plugins", "vote", "grade", "train", "eval", "openrlhf", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ttrl-kit", description="Label-free rewards for test-time RL.")
    from ttrl_kit import __version__

    parser.add_argument("--version", action="version", version=f"ttrl-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ttrl_kit.cli.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ttrl_kit.cli.cmd_{name}":
                continue  # command not shipped in this build
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TTRLError as exc:
        print(f"ttrl-kit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ttrl-kit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except SystemExit as exc:
        # Nothing in ttrl-kit exits from inside a command; this came from plugin or library
        # code that the narrower guards did not wrap.  Say so instead of exiting silently.
        print(
            f"ttrl-kit {args.command}: error: unexpected SystemExit({exc.code!r}) inside the command "
            "(raised by a plugin or library)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
