"""PNG plots of a run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(rows: Sequence[dict[str, Any]], out: Path) -> Path | None:
    """Curves per step: rewards and label quality, consensus/entropy, length, time split."""
    if not rows:
        return None
    plt = _plt()
    steps = [r["step"] for r in rows]

    def series(key: str) -> list[float]:
        return [float(v) if isinstance(v := r.get(key), (int, float)) else float("nan") for r in rows]

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    ax = axes[0][0]
    for key in ("reward_mean", "label_accuracy", "reward_accuracy", "train_avg_at_n"):
        ax.plot(steps, series(key), marker=".", label=key)
    ax.set_title("rewards and (gold, logging only) accuracy")
    if all(-0.05 <= v <= 1.05 for v in series("reward_mean") if v == v):  # signal rewards (nats) can leave [0, 1]
        ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    ax = axes[0][1]
    for key in ("majority_ratio", "answer_entropy", "zero_variance_groups", "abstain_ratio"):
        ax.plot(steps, series(key), marker=".", label=key)
    ax.set_title("consensus (watch entropy and zero-variance share for collapse)")
    ax.legend(fontsize=8)
    ax = axes[1][0]
    ax.plot(steps, series("completion_length"), marker=".", label="completion_length (tokens)")
    ax.set_title("mean completion length")
    ax.legend(fontsize=8)
    ax = axes[1][1]
    gen, est, upd = series("generate_s"), series("estimate_s"), series("update_s")
    ax.bar(steps, gen, label="generate")
    ax.bar(steps, upd, bottom=gen, label="update")
    ax.bar(steps, est, bottom=[g + u for g, u in zip(gen, upd)], label="estimate")
    ax.set_title("step time split (s)")
    ax.legend(fontsize=8)
    for a in axes.flat:
        a.set_xlabel("step")
        a.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


HEALTH_PANELS = (
    ("consensus", ("majority_ratio", "zero_variance_share", "unanimous_share", "abstain_share")),
    ("answers", ("answer_entropy", "distinct_answers")),
    ("responses", ("mean_length",)),
    ("token signals", ("token_entropy", "self_certainty")),
)


def plot_health(
    rows: Sequence[dict[str, Any]], out: Path, stop_step: int | None = None, pick_step: int | None = None
) -> Path | None:
    """The label-free health per step (metrics.jsonl ``health``), with the step where the
    stop rule fired and the picked checkpoint marked.  Health line ``t`` was sampled from
    checkpoint ``t - 1``; the pick is drawn at its own checkpoint step."""
    rows = [r for r in rows if isinstance(r.get("health"), dict)]
    if not rows:
        return None
    plt = _plt()
    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for ax, (title, keys) in zip(axes.flat, HEALTH_PANELS):
        for key in keys:
            ys = [float(v) if isinstance(v := r["health"].get(key), (int, float)) else float("nan") for r in rows]
            if any(y == y for y in ys):
                ax.plot(steps, ys, marker=".", label=key)
        if stop_step is not None:
            ax.axvline(stop_step, color="red", ls="--", lw=1, label=f"stop rule fired (step {stop_step})")
        if pick_step is not None:
            ax.axvline(pick_step, color="green", ls=":", lw=1.5, label=f"label-free pick (checkpoint {pick_step})")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("label-free health per step (no gold labels)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def plot_before_after(
    before: dict[str, float] | None, after: dict[str, float] | None, out: Path, title: str
) -> Path | None:
    """Grouped bars: pass@1 (avg@k), maj@k, pass@k before vs after training."""
    if not before and not after:
        return None
    plt = _plt()
    keys = list((before or after or {}).keys())
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.38
    xs = range(len(keys))
    if before:
        ax.bar([x - width / 2 for x in xs], [before[k] for k in keys], width, label="before")
    if after:
        ax.bar([x + width / 2 for x in xs], [after[k] for k in keys], width, label="after")
    if before and "maj@" in " ".join(keys):
        maj = next(before[k] for k in keys if k.startswith("maj@"))
        ax.axhline(maj, color="gray", ls="--", lw=1, label="base maj@k (target for pass@1)")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(keys)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
