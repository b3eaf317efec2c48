"""GRPO on one machine with TRL's ``GRPOTrainer``; the TTRL part is the reward function.

What this module adds to TRL, and why:

* :class:`TTRLGRPOTrainer` times ``_generate`` (the generate / estimate / update split in
  metrics.jsonl) and is a :class:`~ttrl_kit.engines.embedded.lean_step.LeanGRPOTrainer`:
  log-probabilities over real completion tokens only, and sampling from a bf16 copy
  (``train.update``, ``generation.fast``); GRPO itself (advantages, clipping, KL, optimiser)
  is TRL's.
* Callbacks write one metrics line per optimizer step, mark checkpoints complete (so a
  ``kill -9`` during a save never resumes from half a checkpoint), stop at a wall-time
  budget, return freed memory to the OS on CPU, and show a tqdm bar.
* :func:`build_trainer` maps our config onto ``GRPOConfig``: ``num_generations = n_train``,
  ``generation_batch_size = prompts_per_step * n_train`` (one generation per optimizer
  step, so a step's reward call sees every group whole), micro-batches by gradient
  accumulation.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, cast

from transformers import TrainerCallback
from trl import GRPOConfig

from ttrl_kit.core.early_stop import StopRule
from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.health import StepHealth, step_health
from ttrl_kit.core.scoring import GroupScorer
from ttrl_kit.engines.embedded.config import RunConfig
from ttrl_kit.engines.embedded.data import GOLD_COLUMN, ID_COLUMN, LABELLED_COLUMN
from ttrl_kit.engines.embedded.lean_step import LeanGRPOTrainer
from ttrl_kit.engines.embedded.rewards import ExtraVoteSampler, GroupReward, StepStats

COMPLETE_MARKER = "ttrl_complete.json"


def malloc_trim() -> None:
    """Return freed heap pages to the OS (glibc only); without it CPU RSS grows every step."""
    gc.collect()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_gb() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**30
    except Exception:
        return None


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


class TTRLGRPOTrainer(LeanGRPOTrainer):
    """GRPOTrainer (lean update, see lean_step.py) that accounts its generation time (for the
    step-time split)."""

    generate_s: float = 0.0
    signal_capture: Any = None  # a SignalCapture when the estimator needs per-token signals
    micro_batch: Any = None  # memory.MicroBatchChoice: what train.micro_batch_size resolved to, and why
    early_stop: Any = None  # the EarlyStopCallback (selection.py), when the stop rule is on

    def _generate(self, prompts: list):
        t0 = time.perf_counter()
        try:
            if self.signal_capture is None:
                return super()._generate(prompts)
            self.signal_capture.clear()
            with self.signal_capture.on(self.accelerator.unwrap_model(self.model)):
                return super()._generate(prompts)
        finally:
            self.generate_s += time.perf_counter() - t0


class MetricsCallback(TrainerCallback):
    """One JSON line per optimizer step: TTRL stats, TRL's loss/KL/entropy, time split."""

    TRL_KEYS: ClassVar[dict[str, str]] = {
        "loss": "loss",
        "grad_norm": "grad_norm",
        "learning_rate": "learning_rate",
        "kl": "kl",
        "entropy": "token_entropy",
        "completions/mean_length": "completion_length",
        "frac_reward_zero_std": "trl_frac_reward_zero_std",
    }

    def __init__(
        self,
        path: Path,
        trainer: TTRLGRPOTrainer,
        pending: list[StepStats],
        trim: bool,
        train_clock: Callable[[], float] | None = None,
        scorer: GroupScorer | None = None,
    ) -> None:
        self.path = path
        self.scorer = scorer  # a stateful estimator's running state is saved with each checkpoint
        self.trainer = trainer  # its generate_s: the generation part of the step-time split
        self.train_clock = train_clock  # whole-run training seconds, stored in each checkpoint
        self.pending = pending  # the reward function's stats sink appends here; drained per logged step
        self.trim = trim
        self.t_mark = time.perf_counter()
        self.t0 = time.time()
        self.step_s = 0.0
        self.last_health: StepHealth | None = None

    def on_train_begin(self, args, state, control, **kw):
        self.t_mark = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        self.step_s = time.perf_counter() - self.t_mark
        if self.trim:
            malloc_trim()

    def on_log(self, args, state, control, logs=None, **kw):
        logs = logs or {}
        if "loss" not in logs and "reward" not in logs:
            return  # the end-of-training summary log
        trainer = self.trainer
        merged = StepStats.merged(self.pending)
        self.pending.clear()
        gen = trainer.generate_s + merged.extra_generate_s
        trainer.generate_s = 0.0
        est = merged.estimate_s
        step = self.step_s
        line: dict[str, Any] = {
            "step": state.global_step,
            "epoch": state.epoch,
            "time": round(time.time() - self.t0, 3),
        }
        line.update(merged.summary())
        for k, name in self.TRL_KEYS.items():
            v = logs.get(k)
            line[name] = float(v) if isinstance(v, (int, float)) else None
        # The label-free health (core/health.py): computed on every rank from the same
        # gathered groups, so every rank's early-stop rule sees the same numbers.
        self.last_health = step_health(
            merged.results, mean_length=line["completion_length"], token_entropy=line["token_entropy"]
        )
        line["health"] = self.last_health.to_dict()
        if not state.is_world_process_zero:  # every rank drained its stats above; rank 0 writes the line
            self.t_mark = time.perf_counter()
            return
        line.update(
            step_s=step,
            generate_s=gen,
            estimate_s=est,
            update_s=max(step - gen - est, 0.0),
            estimate_share=(est / step) if step > 0 else None,
            rss_gb=rss_gb(),
            threads=_torch_threads(),
        )
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.last = line
        self.t_mark = time.perf_counter()

    def on_save(self, args, state, control, **kw):
        ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if ckpt.is_dir() and state.is_world_process_zero:
            # a batch estimator's running state belongs to this checkpoint (rank 0 holds it,
            # see ttrl_kit.trl); written before the marker, so a complete checkpoint has it
            if self.scorer is not None:
                self.scorer.save_state(ckpt)
            marker = {"step": state.global_step, "time": time.time()}
            if self.train_clock is not None:
                marker["train_s"] = round(self.train_clock(), 3)
            (ckpt / COMPLETE_MARKER).write_text(json.dumps(marker))
        self.t_mark = time.perf_counter()


class ProgressCallback(TrainerCallback):
    """A tqdm bar over optimizer steps with the numbers worth watching."""

    def __init__(self, metrics: MetricsCallback) -> None:
        self.metrics = metrics
        self.bar: Any = None

    def on_train_begin(self, args, state, control, **kw):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", unit="step")

    def on_log(self, args, state, control, logs=None, **kw):
        if self.bar is None:
            return
        last = getattr(self.metrics, "last", None) or {}
        if last.get("step") == state.global_step:
            post = {}
            for k, short in (
                ("reward_mean", "reward"),
                ("label_accuracy", "label_acc"),
                ("majority_ratio", "maj_ratio"),
                ("completion_length", "len"),
                ("step_s", "s/step"),
            ):
                v = last.get(k)
                if isinstance(v, float):
                    post[short] = f"{v:.3g}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.n = state.global_step
            self.bar.refresh()

    def on_train_end(self, args, state, control, **kw):
        if self.bar is not None:
            self.bar.close()


class TimeBudgetCallback(TrainerCallback):
    """Stops training cleanly (with a checkpoint) once ``max_minutes`` of training passed.

    The budget is for the whole run, not per process: ``spent_s`` is the training time
    recorded in the checkpoint a resumed run starts from, so a run that is killed and
    resumed twice still stops after ``max_minutes`` of training in all."""

    def __init__(self, max_minutes: float | None, spent_s: float = 0.0) -> None:
        self.max_s = None if max_minutes is None else max_minutes * 60.0
        self.spent_s = max(float(spent_s), 0.0)
        self.t0 = time.perf_counter()
        self.stopped_early = False

    def on_train_begin(self, args, state, control, **kw):
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        """Training seconds of the whole run so far (earlier processes included)."""
        return self.spent_s + (time.perf_counter() - self.t0)

    def on_step_end(self, args, state, control, **kw):
        if self.max_s is not None and _any_rank(self.elapsed() >= self.max_s):
            control.should_training_stop = True
            control.should_save = True
            self.stopped_early = True
        return control


def _any_rank(flag: bool) -> bool:
    """True if ``flag`` holds on any rank: with several processes every rank must stop at the
    same step, or the others would wait forever in the next gradient all-reduce."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def set_attention(model: Any, setting: str) -> str:
    """Apply ``model.attention`` (``auto``: eager on a CPU, see the config field for why);
    returns the implementation in use."""
    import torch

    impl = setting
    if setting == "auto":
        impl = "" if torch.cuda.is_available() else "eager"
    if impl and hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation(impl)
        except (ValueError, ImportError) as exc:  # a model without that kernel keeps its own
            if setting != "auto":
                raise ConfigError(f"model.attention: {impl!r} not available for this model: {exc}") from None
    return str(getattr(model.config, "_attn_implementation", impl))


def grpo_config(cfg: RunConfig, output_dir: Path, micro_batch_size: int | None = None) -> Any:
    """Our config -> ``GRPOConfig`` (TRL validates the batch arithmetic once more).
    ``micro_batch_size``: ``train.micro_batch_size`` resolved (memory.py); None = the config's
    integer, or 1 for ``auto``."""
    import torch

    from ttrl_kit.engines.embedded.config import world_size

    t, tr, g = cfg.ttrl, cfg.train, cfg.generation
    per_step = tr.prompts_per_step * t.n_train  # over all processes (check_world: divisible)
    if micro_batch_size is None:
        micro_batch_size = tr.micro_batch_size if isinstance(tr.micro_batch_size, int) else 1
    on_gpu = torch.cuda.is_available()
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        use_cpu=not on_gpu,
        bf16=cfg.model.dtype == "bf16",
        learning_rate=tr.learning_rate,
        lr_scheduler_type=tr.lr_scheduler,
        warmup_ratio=tr.warmup_ratio,
        weight_decay=tr.weight_decay,
        max_grad_norm=tr.max_grad_norm,
        beta=tr.beta,
        num_generations=t.n_train,
        per_device_train_batch_size=micro_batch_size,
        gradient_accumulation_steps=per_step // (micro_batch_size * world_size()),
        max_completion_length=g.max_completion_length,
        temperature=g.temperature,
        top_p=g.top_p,
        top_k=g.top_k,
        num_train_epochs=tr.epochs,
        max_steps=tr.max_steps,
        seed=tr.seed,
        loss_type=tr.loss_type,
        scale_rewards=tr.scale_rewards,
        save_strategy="steps",
        save_steps=cfg.checkpoint.every,
        save_total_limit=cfg.checkpoint.keep,
        save_only_model=False,
        logging_steps=1,
        report_to=cfg.logging.report_to,
        gradient_checkpointing=False,
        remove_unused_columns=False,
        disable_tqdm=True,
        log_completions=False,
        dataloader_num_workers=0,
        use_vllm=g.use_vllm,
    )
    if g.use_vllm:
        kwargs.update(vllm_mode=g.vllm_mode, vllm_gpu_memory_utilization=g.vllm_gpu_memory_utilization)
    if "warmup_ratio" in kwargs:
        import inspect

        if "warmup_ratio" not in inspect.signature(GRPOConfig).parameters:
            kwargs["warmup_steps"] = kwargs.pop("warmup_ratio")
    try:
        return GRPOConfig(**kwargs)
    except ValueError as exc:
        raise ConfigError(
            f"{cfg.source}: field 'train': TRL refused the batch layout: {str(exc).splitlines()[0]}"
        ) from None


def prepare_report_to(cfg: RunConfig, run_dir: Path, trainer: Any) -> None:
    """Offline defaults for the trackers: TensorBoard events in RUN/tensorboard (unless the user
    set TENSORBOARD_LOGGING_DIR), wandb in offline mode inside the run dir when no key is set."""
    if cfg.logging.report_to == "tensorboard" and not os.environ.get("TENSORBOARD_LOGGING_DIR"):
        from transformers.integrations import TensorBoardCallback

        for cb in trainer.callback_handler.callbacks:
            if isinstance(cb, TensorBoardCallback):
                cb.logging_dir = str(run_dir / "tensorboard")
    if cfg.logging.report_to == "wandb":
        if not os.environ.get("WANDB_API_KEY") and not os.environ.get("WANDB_MODE"):
            os.environ["WANDB_MODE"] = "offline"
        os.environ.setdefault("WANDB_DIR", str(run_dir))


def build_trainer(
    cfg: RunConfig,
    loaded: Any,
    dataset: Any,
    scorer: GroupScorer,
    ckpt_dir: Path,
    metrics_path: Path,
    spent_s: float = 0.0,
    longest_prompt: int | None = None,
    stop_rule: StopRule | None = None,
    history: list[StepHealth] | None = None,
    snapshots: Path | None = None,
):
    """Wire model, data, reward and callbacks into a TRL trainer (``spent_s``: training
    seconds already used by earlier processes of this run, see :func:`checkpoint_train_s`;
    ``longest_prompt``: the data's longest prompt in tokens, for ``micro_batch_size: auto``;
    ``stop_rule``: the label-free early stop, with the ``history`` of a resumed run;
    ``snapshots``: where per-step weight snapshots for the checkpoint pick go)."""
    from ttrl_kit.engines.embedded.models import peft_config
    from ttrl_kit.engines.embedded.signals import SignalCapture

    set_attention(loaded.model, cfg.model.attention)
    capture = SignalCapture(scorer.needs) if scorer.needs else None  # answers-only: no capture at all
    extra = None
    if cfg.ttrl.n_votes > cfg.ttrl.n_train:
        extra = ExtraVoteSampler(loaded.model, loaded.tokenizer, cfg.generation, cfg.model.dtype, capture)
    pending: list[StepStats] = []  # the reward's stats sink; MetricsCallback drains it per logged step
    reward = GroupReward(
        scorer,
        n_train=cfg.ttrl.n_train,
        n_votes=cfg.ttrl.n_votes,
        id_column=ID_COLUMN,
        gold_column=GOLD_COLUMN,
        extra_votes=extra,
        signals=capture,
        stats_sink=pending.append,
        labelled_column=LABELLED_COLUMN if LABELLED_COLUMN in dataset.column_names else None,
    )
    from ttrl_kit.engines.embedded.memory import resolve_micro_batch

    micro = resolve_micro_batch(cfg, loaded.model, longest_prompt)
    args = grpo_config(cfg, ckpt_dir, micro.size)
    optimizers: tuple[Any, Any] = (None, None)
    if cfg.train.bf16_weights:
        import torch

        from ttrl_kit.engines.embedded.master_weights import MasterWeightsAdamW

        loaded.model.to(torch.bfloat16)
        optimizers = (
            MasterWeightsAdamW(
                loaded.model.parameters(),
                lr=args.learning_rate,
                betas=(args.adam_beta1, args.adam_beta2),
                eps=args.adam_epsilon,
                weight_decay=args.weight_decay,
            ),
            None,
        )
    trainer = TTRLGRPOTrainer(
        model=loaded.model,
        reward_funcs=[cast(Callable[..., list[float | None]], reward)],  # a callable object, not a function
        args=args,
        train_dataset=dataset,
        processing_class=loaded.tokenizer,
        peft_config=peft_config(cfg.model.lora),
        optimizers=optimizers,
    )
    # Callbacks come after the trainer, which they are given (HF puts user callbacks after its
    # own either way, so the order is the same as passing them to the constructor).
    budget_cb = TimeBudgetCallback(cfg.train.max_minutes, spent_s=spent_s)
    metrics_cb = MetricsCallback(
        metrics_path, trainer, pending, trim=cfg.train.malloc_trim, train_clock=budget_cb.elapsed, scorer=scorer
    )
    callbacks: list[Any] = [metrics_cb, ProgressCallback(metrics_cb), budget_cb]
    from ttrl_kit.engines.embedded.selection import EarlyStopCallback, SnapshotCallback

    stop_cb = EarlyStopCallback(metrics_cb, stop_rule, history) if stop_rule is not None else None
    if stop_cb is not None:
        callbacks.append(stop_cb)  # after metrics_cb: it reads the health metrics_cb just computed
    if snapshots is not None:
        callbacks.append(SnapshotCallback(snapshots, trainer, cfg.model.dtype))
    if cfg.train.threads == "auto":
        from ttrl_kit.engines.embedded.threads import ThreadsCallback

        callbacks.append(ThreadsCallback())
    for cb in callbacks:
        trainer.add_callback(cb)
    trainer.micro_batch = micro
    trainer.signal_capture = capture
    trainer.early_stop = stop_cb
    trainer.lean = cfg.train.update == "lean"
    trainer.fast_generation = cfg.generation.fast
    trainer.generation_dtype = cfg.model.dtype
    trainer.static_cache = cfg.generation.static_cache
    from transformers.trainer_callback import PrinterCallback
    from transformers.trainer_callback import ProgressCallback as HFProgress

    # Our own bar and metrics.jsonl replace HF's per-step dict printing.
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(HFProgress)
    prepare_report_to(cfg, ckpt_dir.parent, trainer)
    return trainer, reward, budget_cb


def latest_complete_checkpoint(ckpt_dir: Path) -> Path | None:
    """Newest ``checkpoint-N`` that finished saving (has our marker written after TRL's save)."""
    best: tuple[int, Path] | None = None
    if not ckpt_dir.is_dir():
        return None
    for p in ckpt_dir.iterdir():
        if p.is_dir() and p.name.startswith("checkpoint-") and (p / COMPLETE_MARKER).is_file():
            try:
                n = int(p.name.split("-", 1)[1])
            except ValueError:
                continue
            if best is None or n > best[0]:
                best = (n, p)
    return best[1] if best else None


def checkpoint_train_s(ckpt: Path) -> float:
    """Training seconds the run had used when ``ckpt`` was saved (0 for checkpoints written
    before this was recorded, or with an unreadable marker)."""
    try:
        data = json.loads((ckpt / COMPLETE_MARKER).read_text(encoding="utf-8"))
        return max(float(data.get("train_s", 0.0)), 0.0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0
