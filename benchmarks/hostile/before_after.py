"""Side by side: the math plugin before issue 12 (a ``git archive`` of an older commit) and now,
on the inputs issue 12 reported, each in its own subprocess with a time limit.

    git archive 67ab755 plugins/math | tar -x -C /tmp/ttrl_old
    python benchmarks/hostile/before_after.py --old /tmp/ttrl_old/plugins/math --limit 120
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROBE = r'''
import json, sys, time
import ttrl_math
from ttrl_kit import GroupScorer, grade
case = sys.argv[1]
s = GroupScorer.from_names("math", "majority")
s.score(["\\frac{1}{2}", "\\sqrt{2}"])  # worker started outside the timing
if case.startswith("unclosed"):
    _, op, kb = case.split(":")
    n = int(kb) * 1000
    text = (op + " x ") * (n // (len(op) + 3))
    t0 = time.perf_counter(); grade(s.task, text, "1"); dt = time.perf_counter() - t0
else:
    k = int(case.split(":")[1])
    group = ["\\boxed{\\{" + ", ".join(str(g * 7 + i) for i in range(200)) + "\\}}" for g in range(k)]
    t0 = time.perf_counter(); s.score(group); dt = time.perf_counter() - t0
print(json.dumps({"s": dt, "module": ttrl_math.__file__}))
'''

CASES = ["unclosed:\\(:10", "unclosed:\\[:10", "unclosed:{:10", "unclosed:\\[:50", "unclosed:\\[:200",
         "sets:16", "sets:64"]


def _run(case: str, pythonpath: str | None, limit: float) -> str:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    try:
        p = subprocess.run([sys.executable, "-c", PROBE, case], capture_output=True, text=True, env=env,
                           timeout=limit, cwd="/")
    except subprocess.TimeoutExpired:
        return f"> {limit:.0f} s (killed)"
    if p.returncode != 0:
        return f"failed ({p.stderr.strip().splitlines()[-1][:80] if p.stderr.strip() else p.returncode})"
    out = json.loads(p.stdout.strip().splitlines()[-1])
    if pythonpath and not out["module"].startswith(pythonpath):
        return f"wrong plugin imported: {out['module']}"
    return f"{out['s']:.3f} s"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True, help="the old plugins/math directory (holds ttrl_math/)")
    ap.add_argument("--limit", type=float, default=120)
    a = ap.parse_args()
    rows = ["| input | before (old plugin) | after |", "|---|---|---|"]
    for case in CASES:
        old = _run(case, a.old, a.limit)
        new = _run(case, None, a.limit)
        label = (f"{case.split(':')[2]} KB of unclosed `{case.split(':')[1]}`, graded" if case.startswith("unclosed")
                 else f"{case.split(':')[1]} distinct 200-element sets, one group")
        rows.append(f"| {label} | {old} | {new} |")
        print(rows[-1], flush=True)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
