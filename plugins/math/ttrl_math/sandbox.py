"""Per-answer time bound that works in any thread and any process (no SIGALRM).

Canonicalisation of anything beyond a plain number runs in a persistent worker subprocess
(``python -m ttrl_math._worker``) that is fed JSON lines over a pipe.  The parent waits for
each answer through :mod:`selectors` with a deadline; an answer that overruns it gets ``None``
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
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from ttrl_math import limits
from ttrl_math.values import Info, info_from_json


class WorkerUnavailable(RuntimeError):
    """No worker subprocess could be started for this call (the caller may parse in-process)."""


#: Restarts one ``canonicalize_many`` call may make after a worker failure before the
#: rest of its answers abstain (a worker that dies on every answer must not cost a
#: restart per answer).
MAX_RESTARTS_PER_CALL = 3


class Worker:
    """One persistent canonicalisation subprocess with a per-answer deadline.

    Every pipe operation waits through :mod:`selectors` (epoll/kqueue/poll, never
    ``select.select``, which fails for file descriptors >= 1024 -- routine in Ray, vLLM and
    DeepSpeed processes) and has a deadline.  Any failure of the worker or its pipes --
    a crash, a timeout, a broken or closed pipe, a garbled reply -- costs only the answer in
    flight (it abstains, ``None``) and a restart; nothing is raised to the caller except
    :class:`WorkerUnavailable` when no worker can be started at all.
    """

    def __init__(self, timeout_s: float = limits.ANSWER_TIMEOUT_S, start_timeout_s: float = 30.0):
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen | None = None
        self._sel: selectors.BaseSelector | None = None
        self._buf = b""
        self._lock = threading.Lock()
        self.restarts = 0
        self.timeouts = 0
        self.budget_cuts = 0  #: calls whose budget ran out before every answer was parsed
        self.failures = 0
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
        try:
            assert self._proc.stdout is not None and self._proc.stdin is not None
            os.set_blocking(self._proc.stdin.fileno(), False)
            self._sel = selectors.DefaultSelector()
            self._sel.register(self._proc.stdout.fileno(), selectors.EVENT_READ)
        except (OSError, ValueError) as exc:
            self._kill()
            raise WorkerUnavailable(f"math worker pipes unusable: {exc}") from None
        line = self._readline(time.monotonic() + self.start_timeout_s)
        if line != b"ready":
            self._kill()
            raise WorkerUnavailable("math worker failed to start")

    def _kill(self) -> None:
        p, sel = self._proc, self._sel
        self._proc = None
        self._sel = None
        self._buf = b""
        if sel is not None:
            try:
                sel.close()
            except (OSError, ValueError):
                pass
        if p is None:
            return
        try:
            p.kill()
        except OSError:
            pass
        try:
            p.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
        for f in (p.stdin, p.stdout):
            try:
                if f is not None:
                    f.close()
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _alive(self) -> bool:
        try:
            return self._proc is not None and self._sel is not None and self._proc.poll() is None
        except OSError:
            return False

    def _readline(self, deadline: float) -> bytes | None:
        """One reply line, or ``None`` on timeout, EOF or any pipe error."""
        if self._proc is None or self._proc.stdout is None or self._sel is None:
            return None
        try:
            fd = self._proc.stdout.fileno()
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if not self._sel.select(left):
                    continue  # woken early (or a spurious wake-up): the deadline decides
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None  # worker died
                self._buf += chunk
                if len(self._buf) > (64 << 20):
                    return None  # no reply line is this long: a broken worker
        except (OSError, ValueError):
            return None
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def _write(self, data: bytes, deadline: float) -> bool:
        """Write a request through the non-blocking pipe, waiting with a deadline."""
        if self._proc is None or self._proc.stdin is None:
            return False
        try:
            fd = self._proc.stdin.fileno()
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_WRITE)
                view = memoryview(data)
                while view:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    if not sel.select(left):
                        continue
                    try:
                        n = os.write(fd, view)
                    except BlockingIOError:
                        continue
                    view = view[n:]
        except (OSError, ValueError):
            return False
        return True

    # -- work
    def canonicalize_many(
        self,
        answers: Sequence[str],
        choices: str | None = None,
        *,
        budget_s: float | None = None,
        skipped: list[int] | None = None,
    ) -> list[Info | None]:
        """Canonical infos for ``answers`` (sent back as JSON, read by ``info_from_json``) (``None`` for unreadable, timed-out or lost ones).

        ``budget_s`` bounds the whole call: once it is spent, the answer being parsed and all
        later ones get ``None`` and their indices are appended to ``skipped`` (they were not
        judged unreadable, only not reached, so a caller must not cache them)."""
        results: list[Info | None] = [None] * len(answers)
        call_deadline = None if budget_s is None else time.monotonic() + budget_s
        with self._lock:
            start = 0
            restarts = 0
            while start < len(answers):
                if not self._alive():
                    self._kill()
                    if restarts > MAX_RESTARTS_PER_CALL:
                        self.failures += len(answers) - start
                        break  # the rest abstain
                    t_start = time.monotonic()
                    try:
                        self._start()
                    except (OSError, ValueError, subprocess.SubprocessError, WorkerUnavailable) as exc:
                        self._kill()
                        if start == 0:
                            raise WorkerUnavailable(str(exc)) from None
                        self.failures += len(answers) - start
                        break
                    self.restarts += 1
                    restarts += 1
                    if call_deadline is not None:  # starting a worker is not parsing: it costs no budget
                        call_deadline += time.monotonic() - t_start
                todo = list(range(start, len(answers)))
                self._rid += 1
                rid = self._rid
                try:
                    req = (
                        json.dumps(
                            {"items": [answers[i] for i in todo], "choices": choices, "rid": rid}, ensure_ascii=True
                        ).encode("ascii")
                        + b"\n"
                    )
                except (TypeError, ValueError, UnicodeError):
                    req = b""
                if not req or not self._write(req, time.monotonic() + self.start_timeout_s):
                    # the request could not be sent: the first answer abstains, restart for the rest
                    self.failures += 1
                    self._kill()
                    start += 1
                    continue
                out_of_budget = False
                for k, i in enumerate(todo):
                    answer_deadline = time.monotonic() + self.timeout_s
                    if call_deadline is not None and call_deadline < answer_deadline:
                        answer_deadline = call_deadline
                    line = self._readline(answer_deadline)
                    if line is None and call_deadline is not None and time.monotonic() >= call_deadline:
                        # the call's budget is spent: this answer and the rest are not reached
                        self.budget_cuts += 1
                        self._kill()
                        if skipped is not None:
                            skipped.extend(range(i, len(answers)))
                        out_of_budget = True
                        break
                    if line is None:
                        # overran its deadline (or crashed): abstain, restart for the rest
                        self.timeouts += 1
                        self._kill()
                        start = i + 1
                        break
                    try:
                        msg = json.loads(line)
                        ok = msg["rid"] == rid and msg["k"] == k
                        info = None if msg["r"] is None else info_from_json(msg["r"])
                    except (ValueError, KeyError, TypeError, RecursionError):
                        ok = False
                    if not ok:
                        # out of step (should not happen): never pair a result with the wrong
                        # answer; drop this one and restart the worker for the rest
                        self.failures += 1
                        self._kill()
                        start = i + 1
                        break
                    results[i] = info
                    start = i + 1
                if out_of_budget:
                    break
        return results


_DEFAULT: Worker | None = None
_DEFAULT_LOCK = threading.Lock()


def default_worker() -> Worker:
    """The process-wide worker (created lazily; one per process, so forked engines each
    get their own after fork because the pid changes)."""
    global _DEFAULT, _DEFAULT_PID
    with _DEFAULT_LOCK:
        if _DEFAULT is None or os.getpid() != _DEFAULT_PID:
            _DEFAULT = Worker()
            _DEFAULT_PID = os.getpid()
            atexit.register(_DEFAULT.close)
        return _DEFAULT


_DEFAULT_PID = -1
