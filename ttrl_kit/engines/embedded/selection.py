"""Label-free early stop and checkpoint selection in the embedded engine.

The rules are the core's (ttrl_kit/core/early_stop.py); this module applies them to a TRL
run: a callback that stops training when the rule fires, per-step weight snapshots so the
pick can be evaluated and kept after TRL's ``save_total_limit`` deleted its checkpoint, and
the choice of which checkpoints to evaluate after training (the last, the label-free pick,
and a few evenly spaced ones for the gold-best row, which is reporting only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ttrl_kit.core.early_stop import StopDecision, StopRule, stop_decision
from ttrl_kit.core.health import StepHealth


class EarlyStopCallback(TrainerCallback):
    """Stops training (with a checkpoint) when the label-free stop rule fires
    (ttrl_kit/core/early_stop.py).  It reads only the health the metrics callback computed
    this step; ``history`` is seeded from metrics.jsonl on ``--resume``, so a resumed run
    stops at the step an uninterrupted one would."""

    def __init__(self, metrics: Any, rule: StopRule, history: list[StepHealth] | None = None) -> None:
        self.metrics = metrics
        self.rule = rule
        self.history: list[StepHealth] = list(history or [])
        self.decision: StopDecision | None = None

    def on_log(self, args, state, control, logs=None, **kw):
        h = self.metrics.last_health
        if h is None:
            return control
        self.metrics.last_health = None
        self.history.append(h)
        decision = stop_decision(self.history, self.rule)
        from ttrl_kit.engines.embedded.trainer import _any_rank

        if _any_rank(decision is not None):
            control.should_training_stop = True
            control.should_save = True
            self.decision = decision
        return control


class SnapshotCallback(TrainerCallback):
    """After each optimizer step, the trainable weights in the evaluation dtype go to
    ``RUN/snapshots/step-N.safetensors`` (rank 0), so that the checkpoint the label-free pick
    chooses can be evaluated and saved after training even when TRL's ``save_total_limit``
    deleted its full checkpoint.  bf16 runs evaluate a bf16 copy anyway (evaluate.py), so a
    bf16 snapshot evaluates exactly like the model it was taken from."""

    def __init__(self, directory: Path, trainer: Any, dtype: str) -> None:
        self.directory = directory
        self.trainer = trainer
        self.dtype = dtype

    def on_step_end(self, args, state, control, **kw):
        if state.is_world_process_zero:
            trainer = self.trainer
            save_snapshot(
                trainer.accelerator.unwrap_model(trainer.model), self.directory, state.global_step, self.dtype
            )
        return control


def snapshot_path(directory: Path, step: int) -> Path:
    return directory / f"step-{step}.safetensors"


def snapshot_steps(directory: Path) -> list[int]:
    """Steps with a complete snapshot (a half-written one has only its .tmp file)."""
    out = []
    for p in directory.glob("step-*.safetensors") if directory.is_dir() else ():
        try:
            out.append(int(p.name[len("step-") : -len(".safetensors")]))
        except ValueError:
            continue
    return sorted(out)


def save_snapshot(model: Any, directory: Path, step: int, dtype: str) -> Path:
    import torch
    from safetensors.torch import save_file

    want = torch.bfloat16 if dtype == "bf16" else None
    tensors = {
        n: (p.detach().to(want) if want is not None else p.detach()).contiguous().cpu()
        for n, p in model.named_parameters()
        if p.requires_grad
    }
    directory.mkdir(parents=True, exist_ok=True)
    out = snapshot_path(directory, step)
    tmp = out.with_suffix(".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, out)
    return out


def load_snapshot(model: Any, directory: Path, step: int) -> Any:
    """A copy of ``model`` with the snapshot's weights (cast to the model's dtype)."""
    from safetensors.torch import load_file

    from ttrl_kit.engines.embedded.models import independent_copy

    tensors = load_file(str(snapshot_path(directory, step)))
    m = independent_copy(model)  # a plain deepcopy of a trained model runs the trained weights
    params = dict(m.named_parameters())
    unknown = sorted(set(tensors) - set(params))
    if unknown:
        raise RuntimeError(f"snapshot step {step}: weights {unknown[:3]} are not in the model")
    import torch

    with torch.no_grad():
        for n, t in tensors.items():
            params[n].copy_(t.to(params[n].dtype))
    return m


def stop_rule(cfg: Any, n_questions: int) -> StopRule | None:
    """The run's stop rule (None when ``stop.enabled`` is false); the window defaults to one
    pass over the training questions."""
    st = cfg.stop
    if not st.enabled:
        return None
    return StopRule(
        window=rule_window(cfg, n_questions),
        zero_variance=st.zero_variance,
        consensus=st.consensus,
        min_steps=st.min_steps,
    )


def rule_window(cfg: Any, n_questions: int) -> int:
    if cfg.stop.window is not None:
        return int(cfg.stop.window)
    per_step = max(int(cfg.train.prompts_per_step), 1)
    return max(1, -(-max(n_questions, 1) // per_step))


def history_from_metrics(rows: list[dict[str, Any]]) -> list[StepHealth]:
    """The health records of metrics.jsonl lines, in step order (lines without one, e.g.
    from a run made before the health monitor, are skipped)."""
    return [StepHealth.from_dict(r["health"]) for r in rows if isinstance(r.get("health"), dict)]


def steps_to_evaluate(available: list[int], last: int, pick: int | None, extra: int) -> list[int]:
    """Checkpoint steps to evaluate after training: the last, the pick, and up to ``extra``
    more snapshots evenly spaced over the run (for the gold-best report row), ascending."""
    chosen = {last} | ({pick} if pick is not None else set())
    rest = [s for s in available if s not in chosen]
    if extra > 0 and rest:
        if extra >= len(rest):
            chosen |= set(rest)
        else:
            # evenly spaced over the remaining snapshots, always including the newest of them
            idx = {round((len(rest) - 1) * (i + 1) / extra) for i in range(extra)}
            chosen |= {rest[i] for i in idx}
    return sorted(chosen)


def checkpoint_rows(rd: Any, k: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Per split (``test`` = the trained questions, ``heldout`` = unseen ones): the base
    model, the last checkpoint, the label-free pick and the gold-best of the evaluated
    checkpoints (reporting only), each with avg@k / maj@k / pass@k and the number of
    questions where none of the k samples was correct.  Empty before a selection was made."""
    import json

    if not rd.selection_file.is_file():
        return {}
    sel = json.loads(rd.selection_file.read_text(encoding="utf-8"))
    evaluated = {int(s): w for s, w in sel.get("evaluated", {}).items()}
    if rd.eval_file("before").is_file():
        evaluated.setdefault(0, "before")
    measured = {
        step: {split: {"step": step, **row} for split, row in eval_rows(rd, which, k).items()}
        for step, which in evaluated.items()
    }
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for split in sorted({s for rows in measured.values() for s in rows}, key=lambda s: (s != "test", s)):
        per = {step: rows[split] for step, rows in measured.items() if split in rows}
        table: dict[str, dict[str, Any]] = {}
        if 0 in per:
            table["base"] = per[0]
        if sel["last_step"] in per:
            table["last"] = per[sel["last_step"]]
        if sel["pick"]["step"] in per:
            table["pick"] = per[sel["pick"]["step"]]
        trained = {s: r for s, r in per.items() if s > 0}
        if trained:
            best = max(r["avg@k"] for r in trained.values())
            table["gold_best"] = trained[min(s for s, r in trained.items() if r["avg@k"] == best)]
        out[split] = table
    return out


def eval_rows(rd: Any, which: str, k: int) -> dict[str, dict[str, Any]]:
    """Per split, one evaluation's avg@k / maj@k / pass@k and the count of questions without a
    correct sample (the checkpoint rows and the summary's target checks both read it)."""
    import json

    data = json.loads(rd.eval_file(which).read_text(encoding="utf-8"))
    no_correct: dict[str, int] = {}
    qf = rd.eval_questions_file(which)
    if qf.is_file():
        for line in qf.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                no_correct[q["split"]] = no_correct.get(q["split"], 0) + (0 if any(q["correct"]) else 1)
    rows = {}
    for split, r in data.items():
        rows[split] = {
            "avg@k": r["avg_at_k"],
            f"maj@{k}": r["maj_at_k"],
            f"pass@{k}": r["pass_at_k"],
            "no_correct": no_correct.get(split),
            "n_questions": r["n_questions"],
        }
    return rows
