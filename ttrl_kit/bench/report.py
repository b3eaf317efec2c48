"""Grid results -> results.csv, results.jsonl, results.md and PNG plots.

The report is rebuilt from the cell files every time the bench runs, so a rerun of a
finished grid (all cells cached) still writes a complete, current report in seconds.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ttrl_kit.bench.scoring import METRICS

KEY_COLUMNS = ("mode", "model", "task", "estimator", "status")
TRAIN_METRICS = (
    "steps",
    "train_s",
    "before_avg_at_k",
    "after_avg_at_k",
    "before_maj_at_k",
    "after_maj_at_k",
    "before_pass_at_k",
    "after_pass_at_k",
    "k",
    "questions",
    "label_accuracy",
    "reward_accuracy",
)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if v == int(v) and abs(v) >= 1 and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.{digits}f}"
    return str(v)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cols = list(KEY_COLUMNS) + list(METRICS) + [m for m in TRAIN_METRICS if m not in METRICS]
    extra = sorted({k for r in rows for k in r} - set(cols))
    return cols + extra


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_tables(out_dir: Path, rows: Sequence[Mapping[str, Any]], header: Mapping[str, Any]) -> dict[str, Path]:
    """results.csv (one row per cell, all columns), results.jsonl (same, typed) and
    results.md (readable tables; the CSV has every number)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cols = _columns(rows)
    csv_path = out_dir / "results.csv"
    tmp = csv_path.with_name("results.csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    os.replace(tmp, csv_path)
    _atomic_text(out_dir / "results.jsonl", "".join(json.dumps(dict(r), sort_keys=True) + "\n" for r in rows))
    md = markdown(rows, header)
    _atomic_text(out_dir / "results.md", md)
    return {"csv": csv_path, "jsonl": out_dir / "results.jsonl", "md": out_dir / "results.md"}


def _table(headers: Sequence[str], body: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return lines


def markdown(rows: Sequence[Mapping[str, Any]], header: Mapping[str, Any]) -> str:
    lines = [f"# Bench `{header.get('name', '')}`", ""]
    for k, v in header.items():
        if k != "name":
            lines.append(f"- {k}: {v}")
    est = [r for r in rows if r.get("mode") == "estimate"]
    if est:
        lines += ["", "## Estimate-only (same cached rollouts for every estimator)", ""]
        lines += [
            "label_acc = pseudo-label equals gold; reward_acc = the sample is rewarded as in the winning class "
            "exactly when it is correct; corr = point-biserial correlation between each trained sample's reward "
            "and its gold correctness, pooled over groups; auroc = AUROC of the reward as a predictor of "
            "correctness (0.5 = no information); '-' = undefined (no label for estimators that emit none); "
            "maj_ratio = winning share; avg@k / maj@k / pass@k over the k voting samples; "
            "est_us = median Estimator.estimate time per group.",
            "",
        ]
        heads = [
            "model",
            "task",
            "estimator",
            "status",
            "groups",
            "k",
            "label_acc",
            "reward_acc",
            "corr",
            "auroc",
            "maj_ratio",
            "low_cons",
            "abstain",
            "avg@k",
            "maj@k",
            "pass@k",
            "est_us",
        ]
        keys = [
            "model",
            "task",
            "estimator",
            "status",
            "groups",
            "n_votes",
            "label_accuracy",
            "reward_accuracy",
            "reward_corr",
            "reward_auroc",
            "majority_ratio",
            "low_consensus_rate",
            "abstain_ratio",
            "avg_at_k",
            "maj_at_k",
            "pass_at_k",
            "estimate_us_per_group",
        ]
        body = []
        not_ok: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for r in est:
            if r.get("status") != "ok":
                not_ok.setdefault((r["model"], r["task"]), []).append(r)
                continue
            body.append([_fmt(r.get(k), 1 if k == "estimate_us_per_group" else 3) for k in keys])
        lines += _table(heads, body)
        for (m, t), rs in not_ok.items():
            lines.append("")
            lines.append(
                f"- **{m} / {t}**: {rs[0].get('status')} for {len(rs)} estimator(s): {rs[0].get('reason', '')}"
            )
    seen: set[tuple[str, str]] = set()
    roll = []
    for r in est:
        if r.get("status") == "ok" and (r["model"], r["task"]) not in seen:
            seen.add((r["model"], r["task"]))
            roll.append(r)
    if roll:
        lines += ["", "## Rollouts (sampled once per model x task, shared by all estimators)", ""]
        body = []
        for r in roll:
            gen, toks, groups = r.get("generate_s"), r.get("new_tokens"), r.get("groups") or 0
            tps = toks / gen if isinstance(gen, (int, float)) and gen > 0 and isinstance(toks, (int, float)) else None
            per_group_ms = 1000 * gen / groups if isinstance(gen, (int, float)) and groups else None
            est_us = r.get("estimate_us_per_group")
            share = (est_us / 1000) / per_group_ms if est_us is not None and per_group_ms else None
            body.append(
                [
                    r["model"],
                    r["task"],
                    r.get("dataset", ""),
                    _fmt(groups),
                    _fmt(r.get("n_votes")),
                    _fmt(r.get("max_new_tokens")),
                    _fmt(gen, 1),
                    _fmt(toks),
                    _fmt(tps, 1),
                    f"{share * 100:.2g}" if share is not None else "-",
                ]
            )
        lines += _table(
            [
                "model",
                "task",
                "dataset",
                "groups",
                "n",
                "max tokens",
                "generate s",
                "new tokens",
                "tokens/s",
                f"{roll[0]['estimator']} estimate time, % of sampling",
            ],
            body,
        )
    tr = [r for r in rows if r.get("mode") == "train"]
    if tr:
        lines += [
            "",
            "## Train (short TTRL runs, before -> after on the same questions)",
            "",
            "`before` is the base model, measured once per model x task (`baseline/<model>/<task>/`) "
            "and shared by every estimator's run.",
            "",
        ]
        heads = [
            "model",
            "task",
            "estimator",
            "status",
            "steps",
            "train_s",
            "avg@k before",
            "avg@k after",
            "maj@k before",
            "maj@k after",
            "pass@k before",
            "pass@k after",
            "k",
            "run",
        ]
        body = []
        for r in tr:
            cells = [
                _fmt(r.get(k))
                for k in (
                    "model",
                    "task",
                    "estimator",
                    "status",
                    "steps",
                    "train_s",
                    "before_avg_at_k",
                    "after_avg_at_k",
                    "before_maj_at_k",
                    "after_maj_at_k",
                    "before_pass_at_k",
                    "after_pass_at_k",
                    "k",
                )
            ]
            cells.append(str(r.get("run_dir", "")))
            if r.get("status") != "ok":
                cells[3] = f"{r.get('status')}: {r.get('reason', '')}"[:80]
            body.append(cells)
        lines += _table(heads, body)
    return "\n".join(lines) + "\n"


# -- plots -----------------------------------------------------------------------------------


def write_plots(
    out_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    group_points: Mapping[tuple[str, str, str], Sequence[tuple[float, float]]],
) -> list[Path]:
    """PNG plots; returns the files written (none when there is nothing to plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    est = [r for r in rows if r.get("mode") == "estimate" and r.get("status") == "ok"]
    models = list(dict.fromkeys(r["model"] for r in est))
    tasks = list(dict.fromkeys(r["task"] for r in est))
    ests = list(dict.fromkeys(r["estimator"] for r in est))
    cmap = plt.cm.tab10 if len(ests) <= 10 else plt.cm.tab20
    colors = {e: cmap(i % cmap.N) for i, e in enumerate(ests)}

    labelled = [r for r in est if r.get("reward_accuracy") is not None]
    if labelled:
        # 1. reward accuracy against majority ratio, one panel per task: faint dots are groups
        #    (first estimator of the grid), big markers are the estimators' means.
        ncols = min(4, len(tasks))
        nrows = (len(tasks) + ncols - 1) // ncols
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.8 * nrows + 0.8), squeeze=False)
        for extra in range(len(tasks), nrows * ncols):
            axes[extra // ncols][extra % ncols].axis("off")
        markers = "osD^vP*X"
        for ti, t in enumerate(tasks):
            ax = axes[ti // ncols][ti % ncols]
            for mi, m in enumerate(models):
                pts = group_points.get((m, t, ests[0]), [])
                if pts:
                    ax.scatter(
                        [p[0] for p in pts],
                        [p[1] for p in pts],
                        s=10,
                        alpha=0.25,
                        color="grey",
                        marker=markers[mi % len(markers)],
                        label=f"groups ({m}, {ests[0]})" if ti == 0 else None,
                    )
                for r in labelled:
                    if r["model"] == m and r["task"] == t and r.get("majority_ratio") is not None:
                        ax.scatter(
                            [r["majority_ratio"]],
                            [r["reward_accuracy"]],
                            s=70,
                            color=colors[r["estimator"]],
                            marker=markers[mi % len(markers)],
                            edgecolor="black",
                            label=f"{r['estimator']}" + (f" ({m})" if len(models) > 1 else "") if ti == 0 else None,
                        )
            ax.set_title(t)
            ax.set_xlabel("majority ratio")
            ax.set_xlim(0, 1.02)
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
            if ti % ncols == 0:
                ax.set_ylabel("reward accuracy")
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
        legend_rows = (len(labels) + 3) // 4
        fig.tight_layout(rect=(0, min(0.5, (0.035 * legend_rows + 0.02) * 4.6 / (3.8 * nrows + 0.8)), 1, 1))
        written.append(_save(fig, out_dir / "reward_accuracy_vs_majority_ratio.png"))
        plt.close(fig)

    # 2. per estimator, a panel per model x task: label accuracy and reward accuracy (where the
    #    estimator labels), and for every estimator the reward's point-biserial correlation
    #    with correctness and its AUROC, which tell continuous rewards apart.
    scored = [r for r in est if any(r.get(k) is not None for k in ("label_accuracy", "reward_corr", "reward_auroc"))]
    if scored:
        panels = [(m, t) for m in models for t in tasks]
        ncols = min(3, len(panels))
        nrows = (len(panels) + ncols - 1) // ncols
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(max(4.5, 0.6 * len(ests) + 2) * ncols, 3.8 * nrows), squeeze=False
        )
        for extra in range(len(panels), nrows * ncols):
            axes[extra // ncols][extra % ncols].axis("off")
        series = [
            ("label_accuracy", "label accuracy", "tab:blue"),
            ("reward_accuracy", "reward accuracy", "tab:orange"),
            ("reward_corr", "reward-correctness corr.", "tab:green"),
            ("reward_auroc", "reward AUROC", "tab:purple"),
        ]
        width = 0.2
        low = 0.0
        for pi, (m, t) in enumerate(panels):
            ax = axes[pi // ncols][pi % ncols]
            cell = {r["estimator"]: r for r in scored if r["model"] == m and r["task"] == t}
            xs = range(len(ests))
            for si, (key, lab, col) in enumerate(series):
                vals = [cell.get(e, {}).get(key) for e in ests]
                low = min([low] + [v for v in vals if v is not None])
                ax.bar(
                    [x + (si - 1.5) * width for x in xs],
                    [v if v is not None else 0.0 for v in vals],
                    width,
                    label=lab,
                    color=col,
                )
            ax.axhline(0.0, color="black", linewidth=0.6)
            ax.set_xticks(list(xs))
            ax.set_xticklabels(ests, rotation=45, ha="right", fontsize=7)
            ax.set_title(f"{m} / {t}", fontsize=9)
            ax.grid(axis="y", alpha=0.3)
        for pi in range(len(panels)):
            axes[pi // ncols][pi % ncols].set_ylim(min(-0.05, low - 0.05), 1.05)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        written.append(_save(fig, out_dir / "estimator_accuracy.png"))
        plt.close(fig)

    tr = [r for r in rows if r.get("mode") == "train" and r.get("status") == "ok"]
    if tr:
        fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(tr) + 2), 4))
        labels = [f"{r['model']}\n{r['task']}\n{r['estimator']}" for r in tr]
        series = [
            ("before_avg_at_k", "avg@k before", "#9ecae1"),
            ("after_avg_at_k", "avg@k after", "#08519c"),
            ("before_maj_at_k", "maj@k before", "#fdae6b"),
            ("after_maj_at_k", "maj@k after", "#a63603"),
        ]
        width = 0.2
        for si, (key, lab, col) in enumerate(series):
            ax.bar(
                [i + (si - 1.5) * width for i in range(len(tr))],
                [r.get(key) or 0 for r in tr],
                width,
                label=lab,
                color=col,
            )
        ax.set_xticks(range(len(tr)))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy")
        ax.set_title("TTRL: before / after training")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        written.append(_save(fig, out_dir / "train_before_after.png"))
        plt.close(fig)
    return written


def _save(fig: Any, path: Path) -> Path:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
    return path
