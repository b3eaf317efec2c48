"""Per-answer time bound that works in any thread and any process (no SIGALRM).

Canonicalisation of anything beyond a plain number runs in a persistent worker subprocess
(``python -m ttrl_math._worker``) that is fed JSON lines over a pipe.  The parent waits for
each answer with ``select`` and a deadline; an answer that overruns it gets ``None``
(abstain), the worker is killed and a fresh one is started for the rest of the batch.

Why a plain ``subprocess`` and not ``multiprocessing``: it works inside daemonic processes
(DataLoader workers, some Ray/TRL setups) where ``multiprocessing`` may not create children,
needs no picklable callables, and is indifferent to the parent's start method.  The worker
also caps its own address space, so a memory blow-up kills only the worker.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Sequence

from ttrl_math import limits


class Worker:
    """One persistent canonicalisation subprocess with a per-answer deadline."""

    def __init__(self, timeout_s: float = limits.ANSWER_TIMEOUT_S, start_timeout_s: float = 30.0):
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen | None = None
        self._buf = b""
        self._lock = threading.Lock()
        self.restarts = 0
        self.timeouts = 0
        self._rid = 0

    # -- process management
    def _start(self) -> None:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("PYTHONSTARTUP", None)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ttrl_math._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self._buf = b""
        line = self._readline(time.monotonic() + self.start_timeout_s)
        if line != b"ready":
            self._kill()
            raise RuntimeError("math worker failed to start")

    def _kill(self) -> None:
        p = self._proc
        self._proc = None
        self._buf = b""
        if p is None:
            return
        try:
            p.kill()
        except OSError:
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (p.stdin, p.stdout):
            try:
                f.close()
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _readline(self, deadline: float) -> bytes | None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None  # worker died
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    # -- work
    def canonicalize_many(self, answers: Sequence[str], choices: str | None = None) -> list[dict | None]:
        """Canonical infos for ``answers`` (``None`` for unreadable or timed-out ones)."""
        results: list[dict | None] = [None] * len(answers)
        with self._lock:
            start = 0
            while start < len(answers):
                if self._proc is None or self._proc.poll() is not None:
                    self._kill()
                    self._start()
                    self.restarts += 1
                todo = list(range(start, len(answers)))
                self._rid += 1
                rid = self._rid
                req = json.dumps({"items": [answers[i] for i in todo], "choices": choices, "rid": rid},
                                 ensure_ascii=True)
                try:
                    assert self._proc is not None and self._proc.stdin is not None
                    self._proc.stdin.write(req.encode("ascii") + b"\n")
                    self._proc.stdin.flush()
                except (BrokenPipeError, OSError):
                    self._kill()
                    continue
                for k, i in enumerate(todo):
                    line = self._readline(time.monotonic() + self.timeout_s)
                    if line is None:
                        # overran its deadline (or crashed): abstain, restart for the rest
                        self.timeouts += 1
                        self._kill()
                        start = i + 1
                        break
                    try:
                        msg = json.loads(line)
                        ok = msg["rid"] == rid and msg["k"] == k
                    except (ValueError, KeyError, TypeError):
                        ok = False
                    if not ok:
                        # out of step (should not happen): never pair a result with the wrong
                        # answer; drop this one and restart the worker for the rest
                        self._kill()
                        start = i + 1
                        break
                    results[i] = msg["r"]
                    start = i + 1
        return results


_DEFAULT: Worker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_worker() -> Worker:
    """The process-wide worker (created lazily; one per process, so forked engines each
    get their own after fork because the pid changes)."""
    global _DEFAULT, _DEFAULT_PID
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT_PID != os.getpid():
            _DEFAULT = Worker()
            _DEFAULT_PID = os.getpid()
            atexit.register(_DEFAULT.close)
        return _DEFAULT


_DEFAULT_PID = -1
