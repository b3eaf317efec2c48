"""Hostile-answer benchmark: every task plugin against the corpus of ``corpus.py``.

For each task (one subprocess per task, so peak memory is per task):

* every case alone through the whole path a trainer uses -- ``GroupScorer.score([text],
  gold="1")``: extraction, canonicalisation (the math worker), classes, estimate, grading --
  timed per answer (worst, p99);
* 64-answer groups: the cases in corpus order, 64 at a time, plus the two set groups of issue
  12 (64 distinct 200-element sets; 64 sets differing in one element) -- worst time per group;
* peak RSS of the parent (``ru_maxrss``) and of the math worker subprocess (``VmHWM`` sampled
  after every answer, plus ``RUSAGE_CHILDREN`` for workers that were killed and restarted);
* crashes (an exception out of ``score``), hangs (an answer over 10 s or a group over 60 s; a
  60 s / 600 s watchdog ends the run), executions (the canary file appeared).

Targets (issue 12): worst answer <= 1 s, worst 64-group <= 5 s, no crash, hang or execution.

Usage::

    python benchmarks/hostile/run.py                       # all three tasks, full corpus
    python benchmarks/hostile/run.py --scale ci --tasks math
    python benchmarks/hostile/run.py --markdown benchmarks/results/hostile_table.md
"""

from __future__ import annotations

import argparse
import faulthandler
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
TASKS = {
    "math": {},
    "text_cls": {"labels": ["positive", "negative"]},
    "multimodal": {},
}
HANG_ANSWER_S = 10.0
HANG_GROUP_S = 60.0


def _corpus():
    spec = importlib.util.spec_from_file_location("hostile_corpus", HERE / "corpus.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["hostile_corpus"] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _worker_pid() -> int | None:
    try:
        import ttrl_math.sandbox as sb
    except ImportError:
        return None
    w = sb._DEFAULT
    p = getattr(w, "_proc", None) if w is not None else None
    return p.pid if p is not None else None


def run_task(task: str, scale: str, seed: int) -> dict:
    """Measure one task in this process (called in a fresh subprocess by :func:`main`)."""
    from ttrl_kit import GroupScorer

    corpus = _corpus()
    canary = Path(tempfile.gettempdir()) / f"ttrl_hostile_canary_{uuid.uuid4().hex}"
    cases = corpus.generate(scale, canary=canary, seed=seed)
    scorer = GroupScorer.from_names(task, "majority", task_options=TASKS[task])
    scorer.score(["\\frac{1}{2}", "\\sqrt{2}", "1"], gold="1")  # start the worker outside the timed region

    times: list[tuple[float, str]] = []
    crashes: list[str] = []
    hangs: list[str] = []
    worker_hwm = 0
    for case in cases:
        label = f"{case.category}/{case.name}"
        faulthandler.dump_traceback_later(60, exit=True)  # a real hang ends the run, loudly
        t0 = time.perf_counter()
        try:
            scorer.score([case.text], gold="1")
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point
            crashes.append(f"{label}: {type(exc).__name__}: {exc}"[:300])
        dt = time.perf_counter() - t0
        faulthandler.cancel_dump_traceback_later()
        times.append((dt, label))
        if dt > HANG_ANSWER_S:
            hangs.append(f"{label}: {dt:.1f} s")
        pid = _worker_pid()
        if pid:
            worker_hwm = max(worker_hwm, _vm_hwm_kb(pid))

    groups: list[tuple[str, list[str]]] = []
    texts = [c.text for c in cases]
    for i in range(0, len(texts), 64):
        groups.append((f"corpus[{i}:{i + 64}]", texts[i: i + 64]))
    groups.append(("64 distinct 200-element sets", corpus.set_group()))
    groups.append(("64 sets differing in one element", corpus.near_set_group()))
    group_times: list[tuple[float, str, dict]] = []
    for name, group in groups:
        if hasattr(scorer.task, "clear_cache"):
            scorer.task.clear_cache()  # cold: every answer parsed again
        faulthandler.dump_traceback_later(600, exit=True)
        t0 = time.perf_counter()
        stats: dict = {}
        try:
            r = scorer.score(group, gold="1")
            stats = {k: v for k, v in r.estimate.stats.items() if k.startswith("equivalence")}
        except Exception as exc:  # noqa: BLE001
            crashes.append(f"group {name}: {type(exc).__name__}: {exc}"[:300])
        dt = time.perf_counter() - t0
        faulthandler.cancel_dump_traceback_later()
        group_times.append((dt, name, stats))
        if dt > HANG_GROUP_S:
            hangs.append(f"group {name}: {dt:.1f} s")
        pid = _worker_pid()
        if pid:
            worker_hwm = max(worker_hwm, _vm_hwm_kb(pid))

    worker = None
    try:
        import ttrl_math.sandbox as sb

        worker = sb._DEFAULT
    except ImportError:
        pass
    timeouts = restarts = 0
    if worker is not None:
        timeouts, restarts = worker.timeouts, worker.restarts
        worker.close()  # waited for: its peak now counts in RUSAGE_CHILDREN too
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ts = sorted(t for t, _ in times)
    worst = max(times)
    worst_group = max(group_times, key=lambda g: g[0])
    return {
        "task": task,
        "scale": scale,
        "answers": len(cases),
        "categories": sorted({c.category for c in cases}),
        "answer_worst_s": worst[0],
        "answer_worst_case": worst[1],
        "answer_p99_s": ts[min(len(ts) - 1, int(0.99 * len(ts)))],
        "answer_median_s": statistics.median(ts),
        "groups": len(groups),
        "group_worst_s": worst_group[0],
        "group_worst_name": worst_group[1],
        "group_times": [(round(t, 3), n, s) for t, n, s in group_times],
        "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_mb": max(worker_hwm, children_kb) / 1024,
        "crashes": crashes,
        "hangs": hangs,
        "executions": int(canary.exists()),
        "worker_timeouts": timeouts,
        "worker_restarts": restarts,
        "slowest": [(round(t, 3), n) for t, n in sorted(times, reverse=True)[:5]],
    }


def _mb(value: float) -> str:
    return f"{value:.0f} MB" if value else "n/a (no worker)"


def _markdown(results: list[dict], command: str) -> str:
    load = os.getloadavg()
    lines = [
        f"- Command: `{command}`",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load average at the end: "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min, shared machine)",
        "",
        "| task | answers tried | worst answer | p99 answer | worst 64-group | parent peak | worker peak "
        "| crashes | hangs | executions | worker timeouts |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['task']} | {r['answers']} | {r['answer_worst_s']:.3f} s ({r['answer_worst_case']}) "
            f"| {r['answer_p99_s']:.3f} s | {r['group_worst_s']:.3f} s ({r['group_worst_name']}) "
            f"| {r['parent_peak_mb']:.0f} MB | {_mb(r['worker_peak_mb'])} | {len(r['crashes'])} | {len(r['hangs'])} "
            f"| {r['executions']} | {r['worker_timeouts']} |"
        )
    ok = all(r["answer_worst_s"] <= 1.0 and r["group_worst_s"] <= 5.0 and not r["crashes"] and not r["hangs"]
             and not r["executions"] for r in results)
    lines += ["", f"Targets (worst answer <= 1 s, worst 64-group <= 5 s, 0 crashes / hangs / executions): "
              f"{'met' if ok else 'NOT met'}.", ""]
    for r in results:
        sets = "; ".join(f"{n}: {t:.3f} s {s or ''}".rstrip() for t, n, s in r.get("group_times", []) if "sets" in n)
        lines.append(f"- {r['task']}: slowest answers {r['slowest']}; set groups: {sets or '-'}; "
                     f"crashes {r['crashes'] or 'none'}; hangs {r['hangs'] or 'none'}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--scale", default="full", choices=("full", "ci"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--markdown", help="write the results table here")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one task, print JSON
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(run_task(a.one, a.scale, a.seed)))
        return 0
    results = []
    for task in a.tasks:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, __file__, "--one", task, "--scale", a.scale, "--seed", str(a.seed)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr[-4000:], file=sys.stderr)
            results.append({"task": task, "answers": 0, "answer_worst_s": float("nan"), "answer_worst_case": "-",
                            "answer_p99_s": float("nan"), "group_worst_s": float("nan"), "group_worst_name": "-",
                            "parent_peak_mb": 0, "worker_peak_mb": 0, "crashes": [f"run died: rc {p.returncode}"],
                            "hangs": [], "executions": 0, "worker_timeouts": 0, "slowest": []})
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        r["wall_s"] = time.perf_counter() - t0
        results.append(r)
        print(f"{task}: {r['answers']} answers, worst {r['answer_worst_s']:.3f} s ({r['answer_worst_case']}), "
              f"p99 {r['answer_p99_s']:.3f} s, worst group {r['group_worst_s']:.3f} s ({r['group_worst_name']}), "
              f"parent {r['parent_peak_mb']:.0f} MB, worker {r['worker_peak_mb']:.0f} MB, crashes {len(r['crashes'])}, "
              f"hangs {len(r['hangs'])}, executions {r['executions']}, timeouts {r['worker_timeouts']}", flush=True)
    command = "python benchmarks/hostile/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if a.markdown:
        Path(a.markdown).write_text(_markdown(results, command.strip()), encoding="utf-8")
    bad = any(r["crashes"] or r["hangs"] or r["executions"] for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
