"""Voting on vision-language answers: ttrl-kit's ``multimodal`` task vs MM-UPT's rule, side by side.

Why simulated responses: no real vision-language weights can be loaded on this machine, so the
groups are produced by a seeded simulator over the synthetic visual questions
(``visual_synth``): each of n samples is correct with a per-question probability, wrong ones
come from a plausible confusion set (count +-1, the other option, a look-alike digit), and
each sample is written in one of the surface forms real Qwen-VL outputs use (``\\boxed{3}``,
``\\boxed{three}``, ``\\boxed{3 squares}``, ``\\boxed{(B)}``, ``The answer is B.``, ``<answer>``
tags, bare ``3``, empty or rambling replies ...).  The simulator knows which samples are
correct, so every method is judged against the same truth, not against its own grader.

Methods, all on the same groups:
- ``ttrl-kit``: ``multimodal`` task (typed extraction, numbers/letters grouped by the math and
  text_cls tasks from the registry) + the core ``majority`` estimator (abstentions cannot win).
- ``mm-upt``: MM-UPT's reward (verl ``FunctionRewardManager``): ``mathruler`` boxed extraction,
  ``Counter(...).most_common(1)`` on raw strings (ties: first seen; the empty string votes),
  ``reward = grade_answer(answer, majority)``.  Needs ``pip install mathruler==0.1.0`` (pure
  Python; ``pylatexenc`` too); skipped with a note otherwise.
- ``raw-spans``: our extraction, raw-string majority (what typing/grouping adds on top).
- ``oracle``: majority over the simulator's true answer values (the ceiling for any grouping).

    .venv/bin/python benchmarks/multimodal/bench_vote.py --questions 300 --n 10 --out benchmarks/multimodal/out
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from ttrl_kit import GroupScorer, get_registry

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
LOOKALIKE = {"0": "8", "1": "7", "2": "7", "3": "8", "4": "9", "5": "6", "6": "5", "7": "1", "8": "3", "9": "4"}


def wrong_answer(row: dict, r: random.Random) -> str:
    fam, gold = row["family"], row["answer"]
    if fam == "larger":
        return "B" if gold == "A" else "A"
    if fam == "digit":
        return LOOKALIKE[gold] if r.random() < 0.7 else str(r.choice([d for d in range(10) if str(d) != gold]))
    k = int(gold)
    return str(max(0, k + r.choice([-1, 1, 1, 2])))


def render(row: dict, answer: str, style: str, r: random.Random) -> str:
    """One response in a surface form real VL outputs use; ``style`` biases towards boxes."""
    fam = row["family"]
    noun = row["meta"].get("shape", "shape") + "s" if fam == "count" else "digit"
    if fam == "larger":
        opt = row["meta"]["options"]["AB".index(answer)]
        forms = [f"\\boxed{{{answer}}}", f"\\boxed{{({answer})}}", f"\\boxed{{{answer}. {opt}}}",
                 f"Comparing the two shapes, {opt} is larger. The answer is {answer}.",
                 f"<think>compare sizes</think><answer>{answer}</answer>", f"({answer})", f"{answer}"]
        boxed = 3
    else:
        word = WORDS[int(answer)] if answer.isdigit() and int(answer) < 10 else answer
        forms = [f"\\boxed{{{answer}}}", f"Let me look. \\boxed{{{word}}}", f"\\boxed{{{answer} {noun}}}",
                 f"I can see {word} {noun} in the image. The answer is {answer}.",
                 f"<think>counting</think><answer>{answer}</answer>", f"{answer}", f"There are {word} {noun}."]
        boxed = 3
    if style == "boxed":
        i = r.randrange(boxed) if r.random() < 0.85 else r.randrange(boxed, len(forms))
    else:
        i = r.randrange(len(forms))
    return forms[i]


ABSTAIN = ["", "I'm sorry, I cannot determine this from the image.",
           "Let me think step by step about the picture. First I look at the", "\\boxed{}"]


def simulate(rows: list[dict], n: int, style: str, seed: int) -> list[dict]:
    r = random.Random(seed)
    groups = []
    for row in rows:
        p = r.betavariate(3.0, 2.0)  # per-question accuracy, mean 0.6
        responses, correct, values = [], [], []
        for _ in range(n):
            u = r.random()
            if u < 0.08:
                responses.append(r.choice(ABSTAIN))
                correct.append(False)
                values.append(None)
            elif u < 0.08 + 0.92 * p:
                responses.append(render(row, row["answer"], style, r))
                correct.append(True)
                values.append(row["answer"])
            else:
                wrong = wrong_answer(row, r)
                responses.append(render(row, wrong, style, r))
                correct.append(False)
                values.append(wrong)
        groups.append({"id": row["id"], "family": row["family"], "gold": row["answer"],
                       "responses": responses, "correct": correct, "values": values})
    return groups


Method = Callable[[list[str]], tuple[list[float], int | None]]


def ttrl_kit_method() -> Method:
    scorer = GroupScorer.from_names("multimodal", "majority")

    def run(responses: list[str]) -> tuple[list[float], int | None]:
        res = scorer.score(responses)
        label_member = None
        if res.estimate.label_class is not None:
            label_member = res.classes.class_of.index(res.estimate.label_class)
        return list(res.rewards), label_member

    return run


def raw_spans_method() -> Method:
    task = get_registry().task("multimodal")

    def run(responses: list[str]) -> tuple[list[float], int | None]:
        spans = [task.extract_answer(x) for x in responses]
        votes = [s for s in spans if s is not None]
        if not votes:
            return [0.0] * len(responses), None
        maj = Counter(votes).most_common(1)[0][0]
        return [1.0 if s == maj else 0.0 for s in spans], spans.index(maj)

    return run


def mmupt_method() -> Method | None:
    try:
        from mathruler.grader import extract_boxed_content, grade_answer
    except ImportError:
        return None

    def run(responses: list[str]) -> tuple[list[float], int | None]:
        extracted = [extract_boxed_content(x) for x in responses]  # "None" when there is no box
        maj = Counter(extracted).most_common(1)[0][0]
        return [1.0 if grade_answer(e, maj) else 0.0 for e in extracted], extracted.index(maj)

    return run


def oracle_method(group: dict) -> tuple[list[float], int | None]:
    """Majority over the simulator's true answer values: the best any grouping can do."""
    votes = [v for v in group["values"] if v is not None]
    if not votes:
        return [0.0] * len(group["values"]), None
    maj = Counter(votes).most_common(1)[0][0]
    return [1.0 if v == maj else 0.0 for v in group["values"]], group["values"].index(maj)


def evaluate(name: str, method: Method | None, groups: list[dict]) -> dict[str, Any]:
    label_ok, reward_ok, times, empty_wins = [], [], [], 0
    for g in tqdm(groups, desc=name, unit="group", leave=False):
        t0 = time.perf_counter()
        rewards, member = method(g["responses"]) if method is not None else oracle_method(g)
        times.append(time.perf_counter() - t0)
        # The pseudo-label is right when the sample that represents it was generated correct;
        # an abstention (empty/rambling reply) that wins is a wrong label.
        label_ok.append(member is not None and g["correct"][member])
        if member is not None and g["responses"][member] in ABSTAIN:
            empty_wins += 1
        reward_ok.append(sum((rw > 0.5) == c for rw, c in zip(rewards, g["correct"])) / len(rewards))
    times.sort()
    return {
        "method": name,
        "label_accuracy": sum(label_ok) / len(groups),
        "reward_accuracy": sum(reward_ok) / len(groups),
        "abstain_label_groups": empty_wins,
        "ms_per_group_median": 1000 * statistics.median(times),
        "ms_per_group_p99": 1000 * times[min(len(times) - 1, int(0.99 * len(times)))],
    }


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = sorted({r["style"] for r in results})
    methods = [m for m in ("oracle", "ttrl-kit", "mm-upt", "raw-spans") if any(r["method"] == m for r in results)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    width = 0.8 / len(methods)
    for ax, metric in zip(axes, ("label_accuracy", "reward_accuracy")):
        for j, m in enumerate(methods):
            vals = [next(r[metric] for r in results if r["method"] == m and r["style"] == s) for s in styles]
            ax.bar([i + j * width for i in range(len(styles))], vals, width, label=m)
        ax.set_xticks([i + width * (len(methods) - 1) / 2 for i in range(len(styles))])
        ax.set_xticklabels([f"{s} forms" for s in styles])
        ax.set_ylim(0, 1)
        ax.set_title(metric.replace("_", " "))
    axes[0].legend(loc="lower left")
    fig.suptitle("Majority vote on simulated Qwen-VL answers to visual_synth questions (truth from the simulator)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=300)
    p.add_argument("--n", type=int, default=10, help="samples per question (MM-UPT: 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmarks/multimodal/out")
    p.add_argument("--cache", default="benchmarks/multimodal/cache", help="where the simulated groups are written")
    a = p.parse_args(argv)
    out, cache = Path(a.out), Path(a.cache)
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    rows = get_registry().dataset_loader("visual_synth")("mixed", n=a.questions, seed=a.seed, inline=True, size=112)
    methods: dict[str, Method] = {"ttrl-kit": ttrl_kit_method(), "raw-spans": raw_spans_method()}
    mm = mmupt_method()
    if mm is None:
        print("note: mathruler is not installed; the mm-upt column is skipped (pip install mathruler==0.1.0)",
              file=sys.stderr)
    else:
        methods["mm-upt"] = mm
    task = get_registry().task("multimodal")
    results = []
    for style in ("boxed", "mixed"):
        groups = simulate(rows, a.n, style, a.seed + (0 if style == "boxed" else 1))
        (cache / f"groups_{style}.jsonl").write_text("".join(json.dumps(g) + "\n" for g in groups))
        for name, method in [("oracle", None), *methods.items()]:
            res = evaluate(name, method, groups)
            res["style"] = style
            results.append(res)
    delegates = task.delegates()
    (out / "results.json").write_text(json.dumps({"results": results, "delegates": delegates,
                                                   "questions": a.questions, "n": a.n, "seed": a.seed}, indent=2))
    plot(results, out / "vote_accuracy.png")
    print(f"delegates: {delegates}")
    print(f"{'forms':7} {'method':10} {'label_acc':>9} {'reward_acc':>10} {'abstain_won':>11} {'ms/group':>9} {'p99 ms':>7}")
    for r in results:
        print(f"{r['style']:7} {r['method']:10} {r['label_accuracy']:9.3f} {r['reward_accuracy']:10.3f} "
              f"{r['abstain_label_groups']:11d} {r['ms_per_group_median']:9.3f} {r['ms_per_group_p99']:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
