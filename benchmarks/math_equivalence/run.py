"""Math equivalence benchmark: ttrl-kit's math task vs math-verify, side by side, same run.

Two parts:

* ``accuracy``: every case ``{"pred", "gold", "expected"}`` is graded by
  ``ttrl_kit.grade(task, pred, gold)`` (extraction then equivalence, exactly what
  ``ttrl-kit grade --task math`` does) and by math-verify
  (``verify(parse(gold), parse(pred))``, its documented default use, gold first).
  Reports accuracy, false positives, false negatives and time per case, per source.
* ``voting``: realistic 64-response groups built from MATH-500 reference answers (surface
  variants of the right answer plus wrong answers, each wrapped in a short response).
  Times one group end to end for: ours (extract + classes + majority estimate, cold cache,
  warm worker), math-verify greedy leader clustering (parse each response once, compare to
  each cluster leader) and math-verify full pairwise matrix (on a subset: it is slow).

Usage::

    python benchmarks/math_equivalence/run.py accuracy \
        --cases benchmarks/math_equivalence/cases_public.jsonl benchmarks/math_equivalence/cases_own.jsonl
    python benchmarks/math_equivalence/run.py voting --groups 200 --pairwise-groups 5 \
        --data ../shared/data/math/math500.jsonl --plot benchmarks/results/math_voting.png
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

from tqdm import tqdm

logging.disable(logging.WARNING)  # math-verify logs tracebacks for unparsable strings


# ----------------------------------------------------------------------------- accuracy

def _mv_grade(gold: str, pred: str) -> bool:
    from math_verify import parse, verify

    try:
        return bool(verify(parse(gold), parse(pred)))
    except Exception:
        return False


def accuracy(case_files: list[str], show: int) -> None:
    from ttrl_kit import get_registry, grade

    task = get_registry().task("math")
    grade(task, "\\frac{1}{2}", "0.5")  # start the worker outside the timed region
    cases = []
    for f in case_files:
        with open(f, encoding="utf-8") as fh:
            cases += [json.loads(line) for line in fh if line.strip()]
    stats: dict[str, dict[str, dict[str, float]]] = {"ours": {}, "math-verify": {}}
    wrong: list[tuple[str, dict]] = []
    for c in tqdm(cases, desc="cases", file=sys.stderr):
        src = c["source"].split("@")[0].split(":")[0]
        for name in ("ours", "math-verify"):
            t0 = time.perf_counter()
            got = bool(grade(task, c["pred"], c["gold"])) if name == "ours" else _mv_grade(c["gold"], c["pred"])
            dt = time.perf_counter() - t0
            for key in (src, "ALL"):
                s = stats[name].setdefault(key, {"n": 0, "ok": 0, "fp": 0, "fn": 0, "t": 0.0, "tmax": 0.0})
                s["n"] += 1
                s["ok"] += got == bool(c["expected"])
                s["fp"] += got and not c["expected"]
                s["fn"] += (not got) and bool(c["expected"])
                s["t"] += dt
                s["tmax"] = max(s["tmax"], dt)
            if name == "ours" and got != bool(c["expected"]):
                wrong.append(("FP" if got else "FN", c))
    print("| source | n | ours acc | ours FP | ours FN | math-verify acc | mv FP | mv FN | ours ms/case (max) | mv ms/case (max) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted(k for k in stats["ours"] if k != "ALL") + ["ALL"]
    for k in keys:
        o, m = stats["ours"][k], stats["math-verify"][k]
        print(f"| {k} | {o['n']} | {o['ok'] / o['n']:.3f} | {o['fp']} | {o['fn']} | {m['ok'] / m['n']:.3f} | {m['fp']} | "
              f"{m['fn']} | {1000 * o['t'] / o['n']:.2f} ({1000 * o['tmax']:.0f}) | "
              f"{1000 * m['t'] / m['n']:.2f} ({1000 * m['tmax']:.0f}) |")
    print()
    for kind, c in wrong[:show]:
        print(f"- {kind} [{c['source'].split('::')[-1][:40]}] gold={c['gold'][:70]!r} pred=...{c['pred'][-70:]!r}")


# ----------------------------------------------------------------------------- voting

def _variants(gold: str, rng: random.Random) -> list[str]:
    """Surface forms a model writes for the same answer."""
    from ttrl_math.canon import canonicalize
    from ttrl_math.values import Rational

    out = {gold, gold.replace(" ", ""), gold.replace("\\frac", "\\dfrac"), gold.replace("\\left", "").replace(
        "\\right", ""), "$" + gold + "$"}
    info = canonicalize(gold)
    if info and isinstance(info.value, Rational):
        q = Fraction(info.value.p, info.value.q)
        if q.denominator == 1:
            n = q.numerator
            out |= {str(n), f"{n}.0", f"0{n}" if n >= 0 else str(n), f"x = {n}", f"{n:,}"}
        else:
            out |= {f"{q.numerator}/{q.denominator}", f"\\frac{{{q.numerator}}}{{{q.denominator}}}",
                    f"\\frac{{{2 * q.numerator}}}{{{2 * q.denominator}}}"}
            d = q.denominator
            while d % 2 == 0:
                d //= 2
            while d % 5 == 0:
                d //= 5
            if d == 1:
                out.add(str(float(q)))
            else:
                out.add(f"{float(q):.4f}")
    if "\\sqrt" in gold:
        out.add(gold.replace("\\sqrt{", "\\sqrt {"))
    return sorted(out)


def _wrong(gold: str, pool: list[str], rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(pool)
    from ttrl_math.canon import canonicalize
    from ttrl_math.values import Rational

    info = canonicalize(gold)
    if info and isinstance(info.value, Rational):
        q = Fraction(info.value.p, info.value.q) + rng.choice([1, -1, 2, Fraction(1, 2)])
        return str(q) if q.denominator == 1 else f"\\frac{{{q.numerator}}}{{{q.denominator}}}"
    return gold + rng.choice(["+1", "^2", "\\cdot 2"]) if not gold.startswith(("(", "\\{", "[", "\\begin")) else rng.choice(pool)


_TEMPLATES = [
    "Let me compute step by step. The result simplifies, so the answer is $\\boxed{{{a}}}$.",
    "We get {a} after simplifying. Therefore, the final answer is $\\boxed{{{a}}}$.",
    "Combining the cases gives \\[\\boxed{{{a}}}\\]",
    "Final Answer: The final answer is ${a}$. I hope it is correct.",
    "So the answer is \\boxed{{{a}}}.",
]


def make_groups(golds: list[str], n_groups: int, size: int, seed: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    groups = []
    for g in range(n_groups):
        gold = golds[g % len(golds)]
        variants = _variants(gold, rng)
        n_right = rng.randint(size // 4, (3 * size) // 4)
        wrong_classes = [_wrong(gold, golds, rng) for _ in range(rng.randint(2, 8))]
        answers = [rng.choice(variants) for _ in range(n_right)]
        answers += [rng.choice(wrong_classes) for _ in range(size - n_right - size // 16)]
        responses = [(rng.choice(_TEMPLATES).format(a=a.strip("$")), k < n_right) for k, a in enumerate(answers)]
        responses += [("I am not sure how to finish this.", False)] * (size // 16)  # abstentions
        rng.shuffle(responses)
        groups.append((gold, [r for r, _ in responses], [ok for _, ok in responses]))
    return groups


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def voting(data: str, n_groups: int, pairwise_groups: int, size: int, seed: int, plot: str | None,
           distinct_groups: int = 40) -> None:
    from math_verify import parse, verify

    from ttrl_kit import GroupScorer

    golds = []
    with open(data, encoding="utf-8") as fh:
        for line in fh:
            golds.append(json.loads(line)["answer"])
    random.Random(seed).shuffle(golds)
    groups = make_groups(golds, n_groups, size, seed)
    scorer = GroupScorer.from_names("math", "majority")
    scorer.score(["\\boxed{\\frac{1}{2}}", "0.5"])  # start the worker once (not a per-group cost)

    ours, ours_classes, ours_correct, split = [], [], 0, []
    for gold, responses, right in tqdm(groups, desc="ours", file=sys.stderr):
        scorer.task.clear_cache()  # cold: every answer parsed again
        t0 = time.perf_counter()
        r = scorer.score(responses)
        ours.append(time.perf_counter() - t0)
        ours_classes.append(len(r.classes.representatives))
        split.append(len({c for c, ok in zip(r.classes.class_of, right) if ok}))
        ours_correct += bool(r.label is not None and scorer.task.is_correct(r.label, gold))

    leader, leader_calls, leader_correct = [], [], 0
    leader_split = []
    for gold, responses, right in tqdm(groups, desc="math-verify leader", file=sys.stderr):
        t0 = time.perf_counter()
        parsed = [parse(r) for r in responses]
        clusters: list[list[int]] = []
        calls = 0
        for i, p in enumerate(parsed):
            if not p:
                continue
            for c in clusters:
                calls += 1
                if verify(parsed[c[0]], p):
                    c.append(i)
                    break
            else:
                clusters.append([i])
        leader.append(time.perf_counter() - t0)
        leader_calls.append(calls)
        where = {i: k for k, c in enumerate(clusters) for i in c}
        leader_split.append(len({where.get(i, -1) for i, ok in enumerate(right) if ok}))
        if clusters:
            best = max(clusters, key=len)
            leader_correct += bool(verify(parse("$" + gold + "$"), parsed[best[0]]))

    pairwise = []
    for gold, responses, _ in tqdm(groups[:pairwise_groups], desc="math-verify pairwise", file=sys.stderr):
        t0 = time.perf_counter()
        parsed = [parse(r) for r in responses]
        for i in range(len(parsed)):
            for j in range(len(parsed)):
                if i != j and parsed[i] and parsed[j]:
                    verify(parsed[i], parsed[j])
        pairwise.append(time.perf_counter() - t0)

    # worst case: 64 distinct answers (64 different MATH-500 references): every answer is
    # parsed and nearly every representative pair is checked
    rng = random.Random(seed + 1)
    distinct_ours, distinct_leader = [], []
    distinct = [["So the answer is \\boxed{%s}." % a for a in rng.sample(golds, size)] for _ in range(distinct_groups)]
    for responses in tqdm(distinct, desc="distinct ours", file=sys.stderr):
        scorer.task.clear_cache()
        t0 = time.perf_counter()
        scorer.score(responses)
        distinct_ours.append(time.perf_counter() - t0)
    for responses in tqdm(distinct[: max(1, distinct_groups // 4)], desc="distinct mv leader", file=sys.stderr):
        t0 = time.perf_counter()
        parsed = [parse(r) for r in responses]
        leaders: list = []
        for p in parsed:
            if p and not any(verify(q, p) for q in leaders):
                leaders.append(p)
        distinct_leader.append(time.perf_counter() - t0)

    def row(name: str, xs: list[float], extra: str) -> str:
        return (f"| {name} | {len(xs)} | {1000 * statistics.median(xs):.1f} | {1000 * _pct(xs, 99):.1f} | "
                f"{1000 * max(xs):.1f} | {extra} |")

    print(f"groups of {size} responses, seed {seed}, golds from {data}")
    print("| method | groups | median ms/group | p99 ms/group | max ms/group | notes |")
    print("|---|---|---|---|---|---|")
    print(row("ours (extract + classes + majority, cold cache)", ours,
              f"mean classes {statistics.mean(ours_classes):.1f}; right answer split into {statistics.mean(split):.2f} "
              f"classes (mean); label correct {ours_correct}/{len(groups)}"))
    print(row("math-verify greedy leader clustering", leader,
              f"mean verify calls {statistics.mean(leader_calls):.0f}; right answer split into "
              f"{statistics.mean(leader_split):.2f} clusters (mean); label correct {leader_correct}/{len(groups)}"))
    slow = sorted(range(len(ours)), key=lambda i: -ours[i])[:3]
    print("slowest groups (ours):", ", ".join(f"{1000 * ours[i]:.0f} ms gold={groups[i][0]!r}" for i in slow))
    if pairwise:
        print(row("math-verify full pairwise (4032 ordered calls)", pairwise, "subset of groups"))
    if distinct_ours:
        print(row("ours, worst case: 64 distinct answers", distinct_ours, "64 different MATH-500 references"))
        print(row("math-verify leader, worst case: 64 distinct answers", distinct_leader, "subset"))
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        ax.boxplot([[1000 * x for x in ours], [1000 * x for x in leader], [1000 * x for x in pairwise] or [float("nan")]],
                   tick_labels=["ours", "mv leader", "mv pairwise"], showfliers=True)
        ax.set_yscale("log")
        ax.set_ylabel("ms per 64-response group (log)")
        ax.axhline(20, ls="--", c="g", lw=0.8, label="median target 20 ms")
        ax.axhline(200, ls=":", c="r", lw=0.8, label="p99 target 200 ms")
        ax.legend()
        ax.set_title("Grouping one 64-response group (math)")
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        print(f"plot: {plot}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("--cases", nargs="+", required=True)
    a.add_argument("--show", type=int, default=40, help="list this many of our errors")
    v = sub.add_parser("voting")
    v.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "../shared/data/math/math500.jsonl"))
    v.add_argument("--groups", type=int, default=200)
    v.add_argument("--pairwise-groups", type=int, default=5)
    v.add_argument("--size", type=int, default=64)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--plot")
    v.add_argument("--distinct-groups", type=int, default=40, help="worst-case groups of all-distinct answers")
    args = ap.parse_args()
    if args.cmd == "accuracy":
        accuracy(args.cases, args.show)
    else:
        voting(args.data, args.groups, args.pairwise_groups, args.size, args.seed, args.plot, args.distinct_groups)


if __name__ == "__main__":
    main()
