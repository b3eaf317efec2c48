"""A finished (or stopped) run's summary: summary.json, summary.md and the plots, rebuilt from
the files in the run directory alone, so a resumed run summarises phases that ran in an earlier
process exactly as an uninterrupted one would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ttrl_kit.engines.embedded.config import RunConfig
from ttrl_kit.engines.embedded.run_dir import RunDir


def _load_eval(rd: RunDir, which: str) -> dict[str, Any] | None:
    import json

    f = rd.eval_file(which)
    return json.loads(f.read_text()) if f.is_file() else None


def write_summary(rd: RunDir, cfg: RunConfig) -> dict[str, Any]:
    """summary.json + summary.md + plots from the files in the run dir (so it also works
    after a resume, when the before-eval happened in an earlier process)."""
    import json

    from ttrl_kit.engines.embedded.plots import plot_before_after, plot_health, plot_training
    from ttrl_kit.engines.embedded.selection import checkpoint_rows

    before, after = _load_eval(rd, "before"), _load_eval(rd, "after")
    rows = rd.read_metrics()
    k = cfg.eval.k
    summary: dict[str, Any] = {
        "run_dir": str(rd.path),
        "model": cfg.model.name,
        "task": cfg.task.name,
        "estimator": cfg.estimator.name,
        "steps": rows[-1]["step"] if rows else 0,
        "k": k,
    }

    def head(d: dict[str, Any] | None, split: str) -> dict[str, float] | None:
        if not d or split not in d:
            return None
        r = d[split]
        return {
            "pass@1 (avg@k)": r["avg_at_k"],
            f"maj@{k}": r["maj_at_k"],
            f"pass@{k}": r["pass_at_k"],
            "mean_length": r["mean_length"],
        }

    for split in ("test", "heldout"):
        b, a = head(before, split), head(after, split)
        if b is None and a is None:
            continue
        entry: dict[str, Any] = {"before": b, "after": a}
        if b and a:
            entry["target_pass1_after_ge_base_maj"] = a["pass@1 (avg@k)"] >= b[f"maj@{k}"]
        summary[split] = entry
    if rows:
        shares = [r["estimate_share"] for r in rows if isinstance(r.get("estimate_share"), float)]
        summary["training"] = {
            "steps": len(rows),
            "train_time_s": sum(r.get("step_s") or 0.0 for r in rows),
            "median_step_s": sorted(r.get("step_s") or 0.0 for r in rows)[len(rows) // 2],
            "estimate_share_mean": sum(shares) / len(shares) if shares else None,
            "estimate_share_max": max(shares) if shares else None,
            "first": {
                k2: rows[0].get(k2) for k2 in ("reward_mean", "label_accuracy", "majority_ratio", "answer_entropy")
            },
            "last": {
                k2: rows[-1].get(k2) for k2 in ("reward_mean", "label_accuracy", "majority_ratio", "answer_entropy")
            },
        }
    run = rd.read_run_json()
    summary["wall_s"] = run.get("wall_s_this_process")
    summary["stop"] = {
        "rule": run.get("stopped_by_rule"),
        "time_budget": run.get("stopped_by_time_budget"),
        "max_steps": cfg.train.max_steps,
    }
    sel = json.loads(rd.selection_file.read_text()) if rd.selection_file.is_file() else None
    if sel is not None:
        summary["pick"] = {key: sel[key] for key in ("pick", "window", "picked_model", "scores")}
        summary["checkpoints"] = checkpoint_rows(rd, k)
    targets = target_checks(rd, cfg, summary.get("checkpoints") or {})
    if targets:
        summary["targets"] = targets
    rd.write_json(rd.path / "summary.json", summary)
    plots = []
    p = plot_training(rows, rd.plots / "training.png")
    if p:
        plots.append(p)
    rule = run.get("stopped_by_rule") or {}
    p = plot_health(rows, rd.plots / "health.png", rule.get("step"), sel["pick"]["step"] if sel else None)
    if p:
        plots.append(p)
    for split in ("test", "heldout"):
        if split in summary:
            e = summary[split]
            strip = lambda d: {kk: v for kk, v in d.items() if kk != "mean_length"} if d else None  # noqa: E731
            p = plot_before_after(
                strip(e["before"]),
                strip(e["after"]),
                rd.plots / f"eval_{split}.png",
                f"{cfg.model.name} on {split} questions (k={k})",
            )
            if p:
                plots.append(p)
    rd.write_atomic(rd.path / "summary.md", summary_markdown(summary, cfg, plots, rd))
    return summary


_METRIC_KEYS = {"avg_at_k": "avg@k", "maj_at_k": "maj@{k}", "pass_at_k": "pass@{k}"}


def target_checks(rd: RunDir, cfg: RunConfig, checkpoints: dict[str, Any]) -> dict[str, Any]:
    """``eval.targets`` and the two checks always made, on the run's result: the label-free
    pick when there is one, else the model after training.  Reporting only (gold decides
    nothing): each check says whether it is met and, if not, by how much it is missed."""
    from ttrl_kit.engines.embedded.selection import eval_rows

    k = cfg.eval.k
    if checkpoints:
        result = {split: t.get("pick") or t.get("last") for split, t in checkpoints.items()}
        base = {split: t.get("base") for split, t in checkpoints.items()}
        which = "label-free pick"
    elif rd.eval_file("after").is_file():
        result = dict(eval_rows(rd, "after", k))
        base = dict(eval_rows(rd, "before", k)) if rd.eval_file("before").is_file() else {}
        which = "after training"
    else:
        return {}
    checks: list[dict[str, Any]] = []
    for split, row in result.items():
        if not row:
            continue
        for metric, minimum in sorted(cfg.eval.targets.get(split, {}).items()):
            value = row[_METRIC_KEYS[metric].format(k=k)]
            checks.append(_check(split, f"{metric.split('_')[0]}@{k} >= {minimum:g}", value, minimum))
        b = base.get(split)
        if b:
            key = f"pass@{k}"
            checks.append(_check(split, f"{key} not below the base model's ({b[key]:.3f})", row[key], b[key]))
        if row.get("no_correct") is not None:
            n = row["no_correct"]
            checks.append(
                {
                    "split": split,
                    "check": "no question locked onto a wrong answer (no correct sample)",
                    "value": n,
                    "met": n == 0,
                    "missed_by": n,
                }
            )
    step = next((r["step"] for r in result.values() if r and "step" in r), None)
    return {"result": which, "step": step, "checks": checks}


def _check(split: str, name: str, value: float, minimum: float) -> dict[str, Any]:
    met = value >= minimum - 1e-9
    return {"split": split, "check": name, "value": value, "met": met, "missed_by": 0.0 if met else minimum - value}


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v))


def summary_markdown(s: dict[str, Any], cfg: RunConfig, plots: list[Path], rd: RunDir) -> str:
    k = s["k"]
    lines = [f"# TTRL run: {cfg.model.name} / task {cfg.task.name} / estimator {cfg.estimator.name}", ""]
    lines.append(
        f"Dataset `{cfg.data.dataset}` source `{cfg.data.source}`, {s['steps']} optimizer steps, "
        f"{cfg.train.prompts_per_step} prompts x {cfg.ttrl.n_train} trained samples per step "
        f"(n_votes {cfg.ttrl.n_votes}), lr {cfg.train.learning_rate}, beta {cfg.train.beta}."
    )
    lines.append("Labels were used only for the numbers below, never for training.")
    lines.append("")
    for split in ("test", "heldout"):
        if split not in s:
            continue
        e = s[split]
        title = SPLIT_TITLES.get(split, split)
        lines += [f"## {title}: before / after training", "", "| metric | before | after |", "|---|---|---|"]
        for key in ("pass@1 (avg@k)", f"maj@{k}", f"pass@{k}", "mean_length"):
            b = (e.get("before") or {}).get(key)
            a = (e.get("after") or {}).get(key)
            lines.append(f"| {key} | {_fmt(b)} | {_fmt(a)} |")
        if "target_pass1_after_ge_base_maj" in e:
            ok = e["target_pass1_after_ge_base_maj"]
            lines += ["", f"Target (pass@1 after >= base maj@{k}): **{'met' if ok else 'not met'}**."]
        lines.append("")
    lines += _checkpoint_markdown(s, k)
    lines += _targets_markdown(s)
    t = s.get("training")
    if t:
        lines += [
            "## training",
            "",
            f"- steps {t['steps']}, training time {t['train_time_s']:.0f} s (median step {t['median_step_s']:.1f} s)",
            f"- estimator share of step time: mean {_fmt(t['estimate_share_mean'])}, max {_fmt(t['estimate_share_max'])} (target < 0.02)",
            f"- first step: {t['first']}",
            f"- last step: {t['last']}",
            "",
        ]
    for p in plots:
        lines.append(f"![{p.stem}]({p.relative_to(rd.path)})")
    return "\n".join(lines) + "\n"


SPLIT_TITLES = {"test": "trained questions", "heldout": "unseen questions (held out: never trained on)"}
ROW_TITLES = {
    "base": "base model",
    "last": "last checkpoint",
    "pick": "label-free pick",
    "gold_best": "gold-best checkpoint (reporting only)",
}


def _checkpoint_markdown(s: dict[str, Any], k: int) -> list[str]:
    """The stop and the three checkpoint rows (last, label-free pick, gold-best) per split."""
    lines: list[str] = []
    stop = s.get("stop") or {}
    rule = stop.get("rule")
    if rule:
        lines.append(
            f"Training stopped itself after step {rule['step']} ({rule['reason']}: over the last window, "
            f"zero-variance share {rule['zero_variance_share']:.3f}, majority ratio {rule['majority_ratio']:.3f})."
        )
    elif stop.get("time_budget"):
        lines.append("Training ended on the wall-time budget (train.max_minutes), not on the stop rule.")
    elif "steps" in s:
        lines.append(f"Training ran to its step limit ({s['steps']} steps); the stop rule did not fire.")
    pick = s.get("pick")
    if pick:
        lines.append(f"Label-free pick: checkpoint {pick['pick']['step']} ({pick['pick']['reason']}).")
    lines.append("")
    for split, table in (s.get("checkpoints") or {}).items():
        lines += [
            f"## checkpoints on the {SPLIT_TITLES.get(split, split)}",
            "",
            f"| checkpoint | step | avg@{k} | maj@{k} | pass@{k} | questions with no correct sample |",
            "|---|---|---|---|---|---|",
        ]
        for key, title in ROW_TITLES.items():
            r = table.get(key)
            if r:
                lines.append(
                    f"| {title} | {r['step']} | {_fmt(r['avg@k'])} | {_fmt(r[f'maj@{k}'])} | {_fmt(r[f'pass@{k}'])} "
                    f"| {_fmt(r['no_correct'])} of {r['n_questions']} |"
                )
        lines.append("")
    return lines


def _targets_markdown(s: dict[str, Any]) -> list[str]:
    t = s.get("targets")
    if not t or not t["checks"]:
        return []
    at = f"{t['result']}, checkpoint {t['step']}" if t.get("step") is not None else t["result"]
    lines = [
        f"## targets (reporting only), on the run's result: {at}",
        "",
        "| questions | check | result | met |",
        "|---|---|---|---|",
    ]
    for c in t["checks"]:
        if c["met"]:
            verdict = "**met**"
        elif isinstance(c["value"], int):
            verdict = f"**missed**: {c['missed_by']} question(s)"
        else:
            verdict = f"**missed** by {c['missed_by']:.3f}"
        title = SPLIT_TITLES.get(c["split"], c["split"]).split(" (")[0]
        lines.append(f"| {title} | {c['check']} | {_fmt(c['value'])} | {verdict} |")
    lines.append("")
    return lines
