"""Worker subprocess entry point: JSON lines in, one JSON line per answer out.

Started by :class:`ttrl_math.sandbox.Worker`; never run on its own.  The parent kills it
when an answer overruns its deadline.
"""

from __future__ import annotations

import json
import sys


def _limit_memory(max_bytes: int = 2 << 30) -> None:
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def main() -> None:
    _limit_memory()
    import os
    import time

    from ttrl_math.canon import canonicalize
    from ttrl_math.values import info_to_json

    # Test seams: let the test-suite prove the deadline and the crash handling work without
    # a real slow or crashing input (an answer equal to the token sleeps / exits / garbles).
    sleep_token = os.environ.get("TTRL_MATH_WORKER_SLEEP_TOKEN")
    exit_token = os.environ.get("TTRL_MATH_WORKER_EXIT_TOKEN")
    garble_token = os.environ.get("TTRL_MATH_WORKER_GARBLE_TOKEN")

    # The protocol owns the real stdout; anything a library prints goes to stderr, so it
    # can never be mistaken for a result line.
    out = os.fdopen(os.dup(1), "wb")
    sys.stdout = sys.stderr
    out.write(b"ready\n")
    out.flush()
    for raw in sys.stdin.buffer:
        try:
            req = json.loads(raw)
            items = req["items"]
            choices = req.get("choices")
            rid = int(req.get("rid", 0))
        except (ValueError, KeyError, TypeError):
            continue
        for k, ans in enumerate(items):
            if sleep_token and ans == sleep_token:
                time.sleep(3600)
            if exit_token and ans == exit_token:
                os._exit(3)
            if garble_token and ans == garble_token:
                out.write(b"\x00not json\n")
                out.flush()
                continue
            try:
                info = canonicalize(ans, choices)
            except Exception:  # defensive: one bad answer must not end the worker
                info = None
            try:
                reply = None if info is None else info_to_json(info)
                line = json.dumps({"rid": rid, "k": k, "r": reply}, ensure_ascii=True)
            except (TypeError, ValueError):
                line = json.dumps({"rid": rid, "k": k, "r": None})
            out.write(line.encode("ascii") + b"\n")
            out.flush()


if __name__ == "__main__":
    main()
