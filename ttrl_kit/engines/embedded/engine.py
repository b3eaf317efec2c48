"""A whole TTRL run: validate -> eval before -> GRPO -> eval after -> summary and plots.

Order matters for the user: everything that can be wrong in the config (names, files,
batch shapes, prompt lengths) is checked before the model loads, and each finished phase
writes its files at once, so a crash or ``kill -9`` loses at most the phase in flight
(for training: at most one checkpoint interval).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.engines.embedded import config as cfgmod
from ttrl_kit.engines.embedded.config import RunConfig
from ttrl_kit.engines.embedded.data import (
    PreparedRow,
    check_prompt_lengths,
    load_rows,
    mark_labelled,
    prepare,
    to_trl_dataset,
)
from ttrl_kit.engines.embedded.run_dir import RunDir
from ttrl_kit.engines.embedded.summary import write_summary


@dataclass
class Prepared:
    cfg: RunConfig
    scorer: Any
    train_rows: list[PreparedRow]
    heldout_rows: list[PreparedRow] | None
    warnings: list[str]


def prepare_run(cfg: RunConfig) -> Prepared:
    """Everything that needs plugins but no model: scorer, dataset rows, split checks."""
    from ttrl_kit.engines.embedded.rewards import build_scorer

    cfgmod.check_world(cfg)
    cfgmod.check_report_to(cfg)
    scorer = build_scorer(cfg)
    check_engine_signals(cfg, scorer)
    d = cfg.data
    raw = load_rows(d.dataset, d.source, d.options, cfg.source, "data.")
    rows = mark_labelled(
        prepare(raw, scorer.task, d.id_field, cfg.source, "data."),
        raw,
        cfg.ttrl.labeled_fraction,
        cfg.ttrl.labeled_column,
        cfg.train.seed,
        cfg.source,
    )
    if len(rows) < cfg.train.prompts_per_step:
        raise ConfigError(
            f"{cfg.source}: field 'train.prompts_per_step': {cfg.train.prompts_per_step} prompts per step but the dataset "
            f"has only {len(rows)} rows"
        )
    heldout = None
    if d.heldout:
        h = d.heldout
        hrows = load_rows(
            h.get("dataset", d.dataset), h.get("source", d.source), h.get("options", {}), cfg.source, "data.heldout."
        )
        heldout = prepare(hrows, scorer.task, h.get("id_field", d.id_field), cfg.source, "data.heldout.")
        check_unseen(rows, heldout, cfg.source)
    return Prepared(cfg=cfg, scorer=scorer, train_rows=rows, heldout_rows=heldout, warnings=[])


def check_unseen(train_rows: list[PreparedRow], heldout: list[PreparedRow], source: str) -> None:
    """Held-out questions are reported as unseen: none may also be a training question."""
    import json

    trained = {json.dumps(r.prompt, sort_keys=True, default=str) for r in train_rows}
    both = [r.id for r in heldout if json.dumps(r.prompt, sort_keys=True, default=str) in trained]
    if both:
        raise ConfigError(
            f"{source}: field 'data.heldout': {len(both)} held-out question(s) are also training questions "
            f"(first: id {both[0]!r}); held-out questions must be unseen"
        )


def check_engine_signals(cfg: RunConfig, scorer: Any) -> None:
    """Before any model loads: can this engine setup supply the estimator's signals?  HF
    ``generate`` supplies all of them from its logits; TRL's vLLM path returns only the
    sampled tokens' log-probs to the trainer, which we do not capture."""
    from ttrl_kit.engines.embedded.signals import SUPPLIED

    supplied: tuple[str, ...]
    if cfg.generation.use_vllm:
        engine, supplied = "embedded (generation.use_vllm)", ()
    else:
        engine, supplied = "embedded", SUPPLIED
    try:
        scorer.check_engine(engine, supplied)
    except ConfigError as exc:
        raise ConfigError(f"{cfg.source}: field 'estimator.name': {exc}") from None


def _eval(cfg: RunConfig, loaded: Any, scorer: Any, rows: list[PreparedRow], desc: str):
    from ttrl_kit.engines.embedded.evaluate import evaluate

    e, g = cfg.eval, cfg.generation
    if getattr(scorer, "needs", ()) or getattr(scorer, "batch", False):
        # avg@k / maj@k / pass@k read only the task's answers and classes, never the
        # estimator: evaluate with an answers-only scorer so no signal is computed for it
        # and a batch estimator's running state (training's) is not advanced by eval groups.
        from ttrl_kit.core.estimators import MajorityVote
        from ttrl_kit.core.scoring import GroupScorer

        scorer = GroupScorer(scorer.task, MajorityVote())
    if e.max_questions is not None:
        rows = rows[: e.max_questions]
    return evaluate(
        loaded.model,
        loaded.tokenizer,
        scorer,
        rows,
        k=e.k,
        temperature=e.temperature if e.temperature is not None else g.temperature,
        top_p=g.top_p,
        top_k=g.top_k,
        max_new_tokens=g.max_completion_length,
        batch_prompts=e.batch_prompts,
        dtype=cfg.model.dtype,
        fast=g.fast,
        seed=e.seed,
        desc=desc,
    )


def eval_settings(cfg: RunConfig, model_name: str | None = None) -> dict[str, Any]:
    """Everything an evaluation's numbers depend on: the model, the questions, the task, the
    sampler and the eval seed.  Stored next to each eval file, so ``eval.before_from`` can
    tell a reusable baseline from one measured differently."""
    e, g, d = cfg.eval, cfg.generation, cfg.data
    return {
        "model": {"name": model_name or cfg.model.name, "dtype": cfg.model.dtype},
        "data": {
            "dataset": d.dataset,
            "source": d.source,
            "options": d.options,
            "id_field": d.id_field,
            "heldout": d.heldout,
        },
        "task": {"name": cfg.task.name, "options": cfg.task.options},
        "sampling": {
            "temperature": e.temperature if e.temperature is not None else g.temperature,
            "top_p": g.top_p,
            "top_k": g.top_k,
            "max_new_tokens": g.max_completion_length,
        },
        "eval": {"k": e.k, "max_questions": e.max_questions, "batch_prompts": e.batch_prompts, "seed": e.seed},
    }


def _save_eval(rd: RunDir, which: str, results: dict[str, Any], settings: dict[str, Any]) -> None:
    import json

    rd.write_json(rd.eval_settings_file(which), settings)
    rd.write_json(rd.eval_file(which), {name: r.to_dict() for name, r in results.items()})
    lines = []
    for name, r in results.items():
        for q in r.questions:
            lines.append(json.dumps({"split": name, **q.__dict__}))
    rd.write_atomic(rd.eval_questions_file(which), "\n".join(lines) + "\n")


def _run_evals(cfg: RunConfig, loaded: Any, p: Prepared, which: str) -> dict[str, Any]:
    out = {"test": _eval(cfg, loaded, p.scorer, p.train_rows, f"eval {which} (test questions)")}
    if p.heldout_rows:
        out["heldout"] = _eval(cfg, loaded, p.scorer, p.heldout_rows, f"eval {which} (held-out)")
    return out


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [f"{prefix.rstrip('.')} ({a!r} there, {b!r} here)"]


def baseline_source(cfg: RunConfig) -> tuple[RunDir, str] | None:
    """The directory and eval (``only`` or ``before``) named by ``eval.before_from``, checked
    to be a measurement of this run's base model with this run's eval settings.  Raises a
    one-line ConfigError otherwise: a baseline measured differently would make before/after a lie."""
    import json

    if not cfg.eval.before_from:
        return None
    field = f"{cfg.source}: field 'eval.before_from'"
    src = RunDir(cfg.eval.before_from)
    which = next((w for w in ("only", "before") if src.eval_file(w).is_file()), None)
    if which is None:
        raise ConfigError(f"{field}: {src.path} holds no eval_only.json or eval_before.json")
    try:
        theirs = json.loads(src.eval_settings_file(which).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(
            f"{field}: {src.eval_settings_file(which)} is missing or unreadable, so the baseline's "
            "settings cannot be checked"
        ) from None
    # JSON has no tuples: compare both sides after the same round trip
    ours = json.loads(json.dumps(eval_settings(cfg)))
    diff = _differences(theirs, ours)
    if diff:
        raise ConfigError(f"{field}: {src.eval_file(which)} was measured with other settings: {'; '.join(diff[:3])}")
    return src, which


def check_model_fields(cfg: RunConfig, model_name: str | None = None) -> None:
    """Resolve the model and build the LoRA config now (no weights loaded); errors name the field."""
    from ttrl_kit.engines.embedded import models

    for field_name, check in (
        ("model.name", lambda: models.check_model(model_name or cfg.model.name)),
        ("model.lora", lambda: models.peft_config(cfg.model.lora)),
    ):
        try:
            check()
        except ConfigError as exc:
            raise ConfigError(f"{cfg.source}: field {field_name!r}: {exc}") from None


def train(cfg: RunConfig, run_path: str | Path, *, resume: bool = False, log=print) -> dict[str, Any]:
    """Run (or resume) a TTRL training run in ``run_path``; returns the summary dict."""
    import torch

    from ttrl_kit.engines.embedded import models
    from ttrl_kit.engines.embedded.trainer import build_trainer, checkpoint_train_s, latest_complete_checkpoint

    rd = RunDir(run_path)
    main = cfgmod.is_main_process()  # with several processes only rank 0 writes the run directory
    p = prepare_run(cfg)
    for w in p.warnings:
        log(f"warning: {w}")
    baseline = baseline_source(cfg) if cfg.eval.before else None
    check_model_fields(cfg)  # a missing model or bad LoRA fields fail here, before the run directory exists
    if not main:
        pass
    elif not resume:
        rd.create(cfg.to_dict())
    else:
        import sys

        prev = rd.read_run_json().get("resumes", [])
        rd.update_run_json(
            resumes=prev + [{"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": " ".join(sys.argv)}]
        )
    if (rd.path / "summary.json").is_file() and rd.read_run_json().get("status") == "complete":
        log(f"{rd.path}: run already complete; nothing to do")
        import json

        return json.loads((rd.path / "summary.json").read_text())
    t_start = time.time()
    threads = cfgmod.resolve_threads(cfg.train.threads)
    torch.set_num_threads(threads)
    log(f"torch threads: {threads} (train.threads={cfg.train.threads!r})")
    if main:
        busy = cfgmod.busy_cores()
        rd.update_run_json(
            status="running",
            pid=__import__("os").getpid(),
            torch_threads=threads,
            busy_cores_at_start=None if busy is None else round(busy, 2),
        )

    t0 = time.perf_counter()
    loaded = models.load_model(cfg.model.name, seed=cfg.train.seed)
    if main:
        rd.update_run_json(model_source=loaded.source, model_load_s=round(time.perf_counter() - t0, 2))
    longest = check_prompt_lengths(p.train_rows, loaded.tokenizer, cfg.generation.max_prompt_length, cfg.source)

    before = None
    if cfg.eval.before:
        if rd.eval_file("before").is_file():
            log("eval before: already done (resumed run), reusing it")
        elif baseline is not None and main:
            import shutil

            src, which = baseline
            shutil.copyfile(src.eval_file(which), rd.eval_file("before"))
            if src.eval_questions_file(which).is_file():
                shutil.copyfile(src.eval_questions_file(which), rd.eval_questions_file("before"))
            rd.write_json(rd.eval_settings_file("before"), eval_settings(cfg))
            log(f"eval before: taken from {src.eval_file(which)} (same base model and eval settings)")
        elif baseline is None:
            torch.manual_seed(cfg.eval.seed)
            before = _run_evals(cfg, loaded, p, "before")  # every rank (same seed): none waits idle in a barrier
            if main:
                _save_eval(rd, "before", before, eval_settings(cfg))

    ckpt = latest_complete_checkpoint(rd.checkpoints) if resume else None
    spent_s = 0.0
    if ckpt is not None:
        step = int(ckpt.name.split("-", 1)[1])
        dropped = rd.truncate_metrics(step) if main else 0
        spent_s = checkpoint_train_s(ckpt)
        if p.scorer.load_state(ckpt):  # a stateful estimator resumes its running state too
            log(f"estimator state: restored from {ckpt}")
        log(
            f"resuming from {ckpt} (step {step}; {dropped} metric lines after it dropped; "
            f"{spent_s / 60:.1f} min of training already spent)"
        )
    elif resume and main:
        rd.truncate_metrics(0)
        log("no complete checkpoint yet: training starts from step 0")

    from ttrl_kit.core.early_stop import first_stop
    from ttrl_kit.engines.embedded.selection import history_from_metrics, stop_rule

    rule = stop_rule(cfg, len(p.train_rows))
    history = history_from_metrics(rd.read_metrics()) if ckpt is not None else None
    stopped = first_stop(history, rule) if history and rule is not None else None
    train_cfg = cfg
    if stopped is not None and ckpt is not None and stopped.step <= step:
        # killed after the stop step's checkpoint but before the evaluations: the rule already
        # fired, so the trainer only reloads that checkpoint (0 steps) instead of training on
        train_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, max_steps=step))
        log(f"the stop rule had fired after step {stopped.step}: no further training")
    trainer, _reward, budget = build_trainer(
        train_cfg,
        loaded,
        to_trl_dataset(p.train_rows),
        p.scorer,
        rd.checkpoints,
        rd.metrics,
        spent_s=spent_s,
        longest_prompt=longest,
        stop_rule=rule,
        history=history,
        snapshots=rd.snapshots if cfg.stop.pick else None,
    )
    log(f"micro-batch size: {trainer.micro_batch.describe()} (train.micro_batch_size={cfg.train.micro_batch_size!r})")
    if main:
        rd.update_run_json(micro_batch_size=trainer.micro_batch.size)
    t_train = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(ckpt) if ckpt else None)
    train_s = time.perf_counter() - t_train
    global_step = trainer.state.global_step
    if not main:
        return {}  # rank 0 evaluates the trained model and writes the summary
    decision = trainer.early_stop.decision if trainer.early_stop is not None else None
    if decision is None and stopped is not None and stopped.step <= global_step:
        decision = stopped  # fired before the resume (see above)
    if decision is not None:
        log(
            f"early stop after step {decision.step}: {decision.reason} (window means: zero-variance share "
            f"{decision.zero_variance_share:.3f}, majority ratio {decision.majority_ratio:.3f})"
        )
    rd.update_run_json(
        status="trained",
        train_s_this_process=round(train_s, 1),
        train_s_total=round(budget.elapsed(), 3),
        global_step=global_step,
        stopped_by_time_budget=budget.stopped_early,
        stopped_by_rule=None if decision is None else dataclasses.asdict(decision),
    )

    model = trainer.accelerator.unwrap_model(trainer.model)
    loaded = models.LoadedModel(model=model, tokenizer=loaded.tokenizer, source=loaded.source)
    if cfg.checkpoint.save_final:
        model.save_pretrained(rd.final_model)
        loaded.tokenizer.save_pretrained(rd.final_model)

    after = _run_evals(cfg, loaded, p, "after") if cfg.eval.after else None
    if after:
        _save_eval(
            rd, "after", after, eval_settings(cfg, str(rd.final_model) if cfg.checkpoint.save_final else "trained")
        )
    if cfg.stop.pick:
        select_checkpoints(cfg, rd, loaded, p, global_step, after, log)
    rd.update_run_json(wall_s_this_process=round(time.time() - t_start, 1))  # summary.json reports it
    summary = write_summary(rd, cfg)
    rd.update_run_json(status="complete", finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return summary


def select_checkpoints(
    cfg: RunConfig, rd: RunDir, loaded: Any, p: Prepared, last_step: int, after: dict[str, Any] | None, log=print
) -> dict[str, Any]:
    """The label-free pick (core/early_stop.py) among the run's snapshots, saved to
    RUN/picked_model; then the evaluations the summary's checkpoint rows need: the pick and,
    for the gold-best row (reporting only), up to ``eval.checkpoints`` more snapshots.  The
    pick is fixed before any of them is evaluated: gold cannot move it.  Snapshots are
    removed at the end (the pick is kept as a model directory)."""
    import shutil

    from ttrl_kit.core.early_stop import pick_checkpoint
    from ttrl_kit.engines.embedded import models
    from ttrl_kit.engines.embedded.selection import (
        history_from_metrics,
        load_snapshot,
        rule_window,
        snapshot_steps,
        steps_to_evaluate,
    )

    history = history_from_metrics(rd.read_metrics())
    window = rule_window(cfg, len(p.train_rows))
    available = [s for s in snapshot_steps(rd.snapshots) if s <= last_step]
    pick = pick_checkpoint(history, sorted(set(available) | {last_step}), window=window, tolerance=cfg.stop.tolerance)
    assert pick is not None  # the last step is always a candidate
    log(f"label-free pick: checkpoint {pick.step} ({pick.reason})")
    gold = after is not None and any(r.gold is not None for r in p.train_rows + (p.heldout_rows or []))
    steps = steps_to_evaluate(available, last_step, pick.step, cfg.eval.checkpoints) if gold else []
    if pick.step != last_step and pick.step not in steps:
        steps.append(pick.step)  # loaded once to save it as picked_model, evaluated only with gold
    evaluated = {last_step: "after"} if after is not None else {}
    for step in sorted(steps):
        if step == last_step:
            continue
        model = load_snapshot(loaded.model, rd.snapshots, step)
        if step == pick.step:
            model.save_pretrained(rd.picked_model)
            loaded.tokenizer.save_pretrained(rd.picked_model)
        if gold:
            which = f"step-{step}"
            res = _run_evals(cfg, models.LoadedModel(model, loaded.tokenizer, loaded.source), p, f"step {step}")
            _save_eval(rd, which, res, eval_settings(cfg, f"{rd.snapshots}/step-{step}"))
            evaluated[step] = which
        del model
    out = {
        "last_step": last_step,
        "window": window,
        "pick": {"step": pick.step, "score": pick.score, "reason": pick.reason},
        "scores": {str(k): v for k, v in sorted(pick.scores.items())},
        "picked_model": str(rd.picked_model if pick.step != last_step else rd.final_model),
        "evaluated": {str(k): v for k, v in sorted(evaluated.items())},
    }
    rd.write_json(rd.selection_file, out)
    shutil.rmtree(rd.snapshots, ignore_errors=True)
    return out


def evaluate_only(
    cfg: RunConfig, model_name: str | None = None, out: str | Path | None = None, log=print
) -> dict[str, Any]:
    """``ttrl-kit eval``: before-style numbers for a model without training."""
    import torch

    from ttrl_kit.engines.embedded import models

    p = prepare_run(cfg)
    for w in p.warnings:
        log(f"warning: {w}")
    check_model_fields(cfg, model_name)
    if out:
        RunDir(out).check_writable()
    torch.set_num_threads(cfgmod.resolve_threads(cfg.train.threads))
    loaded = models.load_model(model_name or cfg.model.name, seed=cfg.train.seed)
    check_prompt_lengths(p.train_rows, loaded.tokenizer, cfg.generation.max_prompt_length, cfg.source)
    torch.manual_seed(cfg.eval.seed)  # as before training, so the numbers can serve as a run's baseline
    res = _run_evals(cfg, loaded, p, "")
    result = {name: r.to_dict() for name, r in res.items()}
    if out:
        rd = RunDir(out)
        rd.path.mkdir(parents=True, exist_ok=True)
        _save_eval(rd, "only", res, eval_settings(cfg, model_name))
    return result
