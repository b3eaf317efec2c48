"""Classification report for a finished run directory or a ``ttrl-kit vote`` output.

    python -m ttrl_text_cls.report runs/text_cls_rotten_tomatoes
    python -m ttrl_text_cls.report --votes votes.jsonl --labels positive,negative

The embedded engine reports avg@k / maj@k / pass@k; this adds what a classification task
needs on top (macro-F1, MCC, confusion matrices, the predicted-label entropy and the
collapse check) from the per-question files the engine writes
(``eval_{before,after}_questions.jsonl``: gold, the k extracted answers, the majority).
It writes ``text_cls_report.json``, ``text_cls_report.md`` and
``plots/text_cls_confusion.png`` next to them.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ttrl_kit import TTRLError
from ttrl_kit.core.io import iter_jsonl, load_mapping
from ttrl_text_cls.metrics import classification_report, label_distribution


def question_metrics(records: Iterable[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """Metrics of per-question records ``{gold, answers: [k labels or null], majority}``.

    ``majority`` falls back to ``label`` (what ``ttrl-kit vote`` writes)."""
    recs = [r for r in records if r.get("gold") is not None]
    answers = [list(r.get("answers") or []) for r in recs]
    gold = [r["gold"] for r in recs]
    majority = [r.get("majority", r.get("label")) for r in recs]
    s_gold = [g for g, a in zip(gold, answers) for _ in a]
    s_pred = [x for a in answers for x in a]
    avg = [sum(1 for x in a if x == g) / len(a) for g, a in zip(gold, answers) if a]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist_samples = label_distribution(s_pred, labels, what="sampled answers")
        dist_major = label_distribution(majority, labels, what="majority labels")
    maj = classification_report(gold, majority, labels)
    return {
        "questions": len(recs),
        "k": max((len(a) for a in answers), default=0),
        "avg_at_k": sum(avg) / len(avg) if avg else 0.0,
        "maj_at_k": maj.accuracy,
        "samples": classification_report(s_gold, s_pred, labels).as_dict(),
        "majority": maj.as_dict(),
        "sample_distribution": dist_samples.as_dict(),
        "majority_distribution": dist_major.as_dict(),
        "warnings": [str(w.message) for w in caught],
    }


def _labels_from_run(run: Path) -> list[str] | None:
    cfg = run / "config.yaml"
    if not cfg.is_file():
        return None
    data = load_mapping(cfg)
    opts = ((data.get("task") or {}).get("options") or {}) if isinstance(data.get("task"), dict) else {}
    labels = opts.get("labels")
    return [str(x).lower() for x in labels] if isinstance(labels, list) else ["positive", "negative"]


def run_report(run: Path, labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Per phase (before/after) and split (test/heldout) metrics of a run directory."""
    labels = list(labels or _labels_from_run(run) or ["positive", "negative"])
    out: dict[str, Any] = {"run_dir": str(run), "labels": labels, "phases": {}}
    for phase in ("before", "after", "only"):
        f = run / f"eval_{phase}_questions.jsonl"
        if not f.is_file():
            continue
        by_split: dict[str, list[dict[str, Any]]] = {}
        for _, obj in iter_jsonl(f):
            by_split.setdefault(str(obj.get("split", "test")), []).append(obj)
        out["phases"][phase] = {s: question_metrics(recs, labels) for s, recs in by_split.items()}
    if not out["phases"]:
        raise TTRLError(f"{run}: no eval_*_questions.jsonl files (has the run evaluated yet?)")
    return out


def markdown(rep: dict[str, Any]) -> str:
    lines = [
        "| phase | split | questions | k | avg@k | maj@k | macro-F1 (samples) | macro-F1 (majority) "
        "| MCC (samples) | coverage | label entropy (samples) | top label share |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase, splits in rep["phases"].items():
        for split, m in splits.items():
            s, mj, d = m["samples"], m["majority"], m["sample_distribution"]
            lines.append(
                f"| {phase} | {split} | {m['questions']} | {m['k']} | {m['avg_at_k']:.3f} | {m['maj_at_k']:.3f} "
                f"| {s['macro_f1']:.3f} | {mj['macro_f1']:.3f} | {s['mcc']:.3f} | {s['coverage']:.3f} "
                f"| {d['entropy_norm']:.3f} | {d['top_share']:.3f} ({d['top_label']}) |"
            )
    lines.append("")
    for phase, splits in rep["phases"].items():
        for split, m in splits.items():
            s = m["samples"]
            lines.append(
                f"Confusion of sampled answers, {phase} / {split} (rows gold, columns predicted "
                f"{', '.join(s['columns'])}): {s['confusion']}"
            )
            for w in m["warnings"]:
                lines.append(f"  - warning: {w}")
    return "\n".join(lines) + "\n"


def plot_confusions(rep: dict[str, Any], path: Path) -> Path | None:
    """One confusion-matrix panel (sampled answers) per phase/split."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:  # plotting is a convenience; the numbers are in the JSON
        return None
    panels = [(p, s, m["samples"]) for p, splits in rep["phases"].items() for s, m in splits.items()]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
    for ax, (phase, split, s) in zip(axes[0], panels):
        cm = s["confusion"]
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(s["columns"])), s["columns"], rotation=30, fontsize=8)
        ax.set_yticks(range(len(s["labels"])), s["labels"], fontsize=8)
        top = max((v for row in cm for v in row), default=0)
        for i, row in enumerate(cm):
            for j, v in enumerate(row):
                ax.text(
                    j,
                    i,
                    str(v),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if top and v > top / 2 else "black",
                )
        ax.set_title(f"{phase} / {split}\nacc {s['accuracy']:.2f}  macro-F1 {s['macro_f1']:.2f}", fontsize=9)
        ax.set_xlabel("predicted (sampled answers)", fontsize=8)
        ax.set_ylabel("gold", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ttrl_text_cls.report", description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", nargs="?", help="a run directory written by `ttrl-kit train`/`eval`")
    ap.add_argument("--votes", help="a JSONL written by `ttrl-kit vote` (answers, label, gold)")
    ap.add_argument("--labels", help="comma-separated labels (default: from the run's config)")
    args = ap.parse_args(argv)
    labels = [x.strip().lower() for x in args.labels.split(",")] if args.labels else None
    try:
        if args.votes:
            recs = [obj for _, obj in iter_jsonl(args.votes)]
            rep = {
                "labels": labels or ["positive", "negative"],
                "phases": {"votes": {"all": question_metrics(recs, labels or ["positive", "negative"])}},
            }
            print(markdown(rep), end="")
            return 0
        if not args.run_dir:
            ap.error("give a run directory or --votes FILE")
        run = Path(args.run_dir)
        rep = run_report(run, labels)
    except TTRLError as exc:
        print(f"ttrl_text_cls.report: error: {exc}", file=sys.stderr)
        return 2
    (run / "text_cls_report.json").write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
    md = markdown(rep)
    (run / "text_cls_report.md").write_text(md, encoding="utf-8")
    png = plot_confusions(rep, run / "plots" / "text_cls_confusion.png")
    print(md, end="")
    if png:
        print(f"plot: {png}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
