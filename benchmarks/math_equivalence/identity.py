"""Does a change to the math plugin keep its behaviour, and what does it cost?  (issue 13)

Why: a refactor of the math plugin (typed nodes and values, modules split by stage) must not
move a single grade, key or vote.  ``run.py`` needs math-verify for its side-by-side columns;
this script runs only *our* side, so it works wherever the plugin does, and it writes
everything it decides to files that ``diff`` can compare byte for byte:

* ``dump --out DIR``: for every case of every ``cases_*.jsonl`` file, the extracted prediction
  and reference, ``repr`` of both canonical keys, ``equivalent`` and ``is_correct``
  (``cases.tsv``); the ours columns of ``run.py accuracy`` per source (``accuracy.md``); and for
  ``run.py voting``'s seeded 64-response groups, each group's label, class count and class of
  every response (``voting.tsv``).
* ``time``: microseconds per in-process ``canonicalize`` (normalise, tokenise, parse, evaluate)
  over every distinct extracted answer of the case files, ms per graded case over all case files
  and ms per cold-cache 64-response group (median / p99), the timed parts of ``run.py``.  Run it once per plugin version in the same
  session (an older plugin through ``PYTHONPATH``, as ``benchmarks/hostile/before_after.py``
  does) to compare.

    python benchmarks/math_equivalence/identity.py dump --out /tmp/after
    PYTHONPATH=/tmp/old/plugins/math python benchmarks/math_equivalence/identity.py time --repeat 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "../shared/data/math/math500.jsonl"


def _cases() -> list[tuple[str, int, dict]]:
    out = []
    for f in sorted(HERE.glob("cases_*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.strip():
                    out.append((f.name, i, json.loads(line)))
    return out


def _groups(n_groups: int, seed: int = 0, cache: Path | None = None) -> list[tuple[str, list[str], list[bool]]]:
    """``run.py voting``'s seeded groups; ``cache`` keeps them in a file so that an older plugin
    (whose ``canonicalize`` ``run.py`` may no longer read) is timed on the very same groups."""
    if cache is not None and cache.exists():
        return [(g[0], g[1], g[2]) for g in json.loads(cache.read_text(encoding="utf-8"))]
    spec = importlib.util.spec_from_file_location("_mv_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    import random

    with open(DATA, encoding="utf-8") as fh:
        golds = [json.loads(line)["answer"] for line in fh]
    random.Random(seed).shuffle(golds)
    groups = run.make_groups(golds, n_groups, 64, seed)
    if cache is not None:
        cache.write_text(json.dumps(groups), encoding="utf-8")
    return groups


def dump(out_dir: Path, n_groups: int) -> None:
    from ttrl_kit import GroupScorer, get_registry, grade

    task = get_registry().task("math")
    out_dir.mkdir(parents=True, exist_ok=True)
    stats: dict[str, dict[str, int]] = {}
    with open(out_dir / "cases.tsv", "w", encoding="utf-8") as fh:
        for name, line, c in _cases():
            pred = task.extract_answer(c["pred"])
            gold = task.extract_answer(c["gold"]) or c["gold"].strip()
            kp = task.canonical_key(pred) if pred is not None else None
            kg = task.canonical_key(gold)
            eq = task.equivalent(pred, gold) if pred is not None else False
            got = bool(grade(task, c["pred"], c["gold"]))
            row = [name, str(line), repr(pred), repr(gold), repr(kp), repr(kg), str(eq), str(got)]
            fh.write("\t".join(row) + "\n")
            src = c["source"].split("@")[0].split(":")[0]
            for key in (src, "ALL"):
                s = stats.setdefault(key, {"n": 0, "ok": 0, "fp": 0, "fn": 0})
                s["n"] += 1
                s["ok"] += got == bool(c["expected"])
                s["fp"] += got and not c["expected"]
                s["fn"] += (not got) and bool(c["expected"])
    with open(out_dir / "accuracy.md", "w", encoding="utf-8") as fh:
        fh.write("| source | n | ours acc | ours FP | ours FN |\n|---|---|---|---|---|\n")
        for k in sorted(k for k in stats if k != "ALL") + ["ALL"]:
            s = stats[k]
            fh.write(f"| {k} | {s['n']} | {s['ok'] / s['n']:.3f} | {s['fp']} | {s['fn']} |\n")
    scorer = GroupScorer.from_names("math", "majority")
    with open(out_dir / "voting.tsv", "w", encoding="utf-8") as fh:
        for g, (gold, responses, right) in enumerate(_groups(n_groups)):
            scorer.task.clear_cache()
            r = scorer.score(responses)
            ok = bool(r.label is not None and scorer.task.is_correct(r.label, gold))
            fh.write(f"{g}\t{r.label!r}\t{len(r.classes.representatives)}\t{ok}\t{list(r.classes.class_of)}\n")
    _dump_hostile(task, out_dir / "hostile.tsv")


def _corpus() -> Any:
    """``benchmarks/hostile/corpus.py`` (not a package: loaded by path)."""
    if "_hostile_corpus" in sys.modules:
        return sys.modules["_hostile_corpus"]
    spec = importlib.util.spec_from_file_location("_hostile_corpus", HERE.parent / "hostile" / "corpus.py")
    assert spec is not None and spec.loader is not None
    corpus = importlib.util.module_from_spec(spec)
    sys.modules["_hostile_corpus"] = corpus  # dataclasses look their module up
    spec.loader.exec_module(corpus)
    return corpus


def _dump_hostile(task: Any, path: Path) -> None:
    """Keys of the CI-size hostile corpus (``benchmarks/hostile/corpus.py``).  An answer that
    hits a time bound abstains, so on a loaded machine a row may differ between two runs."""
    import hashlib

    corpus = _corpus()
    canary = Path("/nonexistent/ttrl-identity-canary")  # a fixed path: payloads spell it; nothing creates it
    with open(path, "w", encoding="utf-8") as fh:
        for case in corpus.generate("ci", canary=canary):
            ans = task.extract_answer(case.text)
            key = task.canonical_key(ans) if ans is not None else None
            digest = hashlib.sha1(repr(key).encode("utf-8", "backslashreplace")).hexdigest()[:16]
            fh.write(
                f"{case.category}/{case.name}\t{len(ans) if ans is not None else None}\t{repr(key)[:80]}\t{digest}\n"
            )


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def timing(n_groups: int, repeat: int, groups_cache: Path | None) -> None:
    import ttrl_math
    from ttrl_kit import GroupScorer, get_registry, grade

    task = get_registry().task("math")
    grade(task, "\\frac{1}{2}", "0.5")  # the worker starts outside the timed region
    cases = [c for _, _, c in _cases()]
    groups = _groups(n_groups, cache=groups_cache)
    scorer = GroupScorer.from_names("math", "majority")
    scorer.score(["\\boxed{\\frac{1}{2}}", "0.5"])
    from ttrl_math.canon import canonicalize

    answers = sorted({a for c in cases for a in (task.extract_answer(c["pred"]), c["gold"]) if a is not None})
    sets = [a for a in (task.extract_answer(t) for t in _corpus().set_group()) if a is not None]
    per_case, per_group, per_answer, per_set = [], [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for a in answers:
            canonicalize(a)  # in-process: normalise, tokenise, parse, evaluate (no worker, no cache)
        per_answer.append(1e6 * (time.perf_counter() - t0) / len(answers))
        t0 = time.perf_counter()
        for a in sets:
            canonicalize(a)  # the hostile corpus's 64 distinct 200-element sets
        per_set.append(1e3 * (time.perf_counter() - t0) / len(sets))
        task.clear_cache()
        t0 = time.perf_counter()
        for c in cases:
            grade(task, c["pred"], c["gold"])
        per_case.append(1000 * (time.perf_counter() - t0) / len(cases))
        for _gold, responses, _right in groups:
            scorer.task.clear_cache()
            t0 = time.perf_counter()
            scorer.score(responses)
            per_group.append(1000 * (time.perf_counter() - t0))
    print(
        json.dumps(
            {
                "plugin": ttrl_math.__file__,
                "answers": len(answers),
                "us_per_canonicalize_runs": [round(x, 1) for x in per_answer],
                "us_per_canonicalize_best": round(min(per_answer), 1),
                "ms_per_200_element_set_runs": [round(x, 2) for x in per_set],
                "ms_per_200_element_set_best": round(min(per_set), 2),
                "cases": len(cases),
                "ms_per_case_runs": [round(x, 3) for x in per_case],
                "ms_per_case_best": round(min(per_case), 3),
                "groups": len(per_group),
                "ms_per_group_median": round(statistics.median(per_group), 2),
                "ms_per_group_p99": round(_pct(per_group, 99), 2),
            }
        )
    )


def stages(repeat: int, count_calls: bool) -> None:
    """Best-of-``repeat`` in-process CPU time of each reading stage (no worker, no cache, no
    grading): what typing the tree and values can cost, without the pipe and the group logic.
    ``count_calls``: Python function calls per answer instead (cProfile), a cost measure that
    does not depend on the machine's load."""
    import ttrl_math
    from ttrl_math import latex
    from ttrl_math.canon import canonicalize
    from ttrl_math.extract import extract

    cases = [c for _, _, c in _cases()]
    answers = sorted({a for c in cases for a in (extract(c["pred"]), c["gold"]) if a is not None})
    sets = [a for a in (extract(t) for t in _corpus().set_group()) if a is not None]
    out: dict[str, Any] = {"plugin": ttrl_math.__file__}
    for name, texts in (("answers", answers), ("sets", sets)):
        normal = [latex.normalise(t)[0] for t in texts]
        readable = []
        for t in normal:
            try:
                latex.parse(t)
                readable.append(t)
            except Exception:
                pass
        for stage, fn, xs in (
            ("tokenise", latex.tokenize, readable),
            ("parse", latex.parse, readable),
            ("canonicalize", canonicalize, texts),
        ):
            if count_calls:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.enable()
                for x in xs:
                    fn(x)
                prof.disable()
                out[f"{name}_{stage}_calls"] = round(
                    pstats.Stats(prof).total_calls / len(xs), 1
                )  # total_calls: set by Stats, missing from its stubs
                continue
            best = float("inf")
            for _ in range(repeat):
                t0 = time.process_time()  # CPU time of this process: waiting for a loaded CPU is not counted
                for x in xs:
                    fn(x)
                best = min(best, time.process_time() - t0)
            out[f"{name}_{stage}_cpu_us"] = round(1e6 * best / len(xs), 1)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--out", required=True, type=Path)
    d.add_argument("--groups", type=int, default=200)
    t = sub.add_parser("time")
    t.add_argument("--groups", type=int, default=100)
    t.add_argument("--repeat", type=int, default=3)
    t.add_argument("--groups-cache", type=Path, help="read the groups from / write them to this JSON file")
    st = sub.add_parser("stages")
    st.add_argument("--repeat", type=int, default=5)
    st.add_argument("--count-calls", action="store_true", help="Python function calls per answer (cProfile)")
    a = ap.parse_args()
    if a.cmd == "dump":
        dump(a.out, a.groups)
    elif a.cmd == "stages":
        stages(a.repeat, a.count_calls)
    else:
        timing(a.groups, a.repeat, a.groups_cache)


if __name__ == "__main__":
    sys.exit(main())
