"""The run configuration: typed sections, strict keys, one-line errors naming file and field.

Everything a run depends on is in this tree, and the resolved tree is written to the run
directory, so a run dir alone says how it was made and ``--resume`` needs nothing else.
Validation happens before any model is loaded: a typo costs a second, not a model load.
Each field's help, type and range are its ``setting(...)`` (ttrl_kit.core.schema builds and
checks the tree); checks across fields are in the sections' ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.schema import FieldError, build, setting, short_repr

_HELDOUT_KEYS = ("dataset", "source", "options", "id_field")


def _heldout(value: Any) -> Any:
    """``data.heldout``: a subset of the data keys; the rest fall back to the training split's."""
    if not isinstance(value, Mapping):
        return value  # the type check names what was expected
    unknown = sorted(set(value) - set(_HELDOUT_KEYS))
    if unknown:
        raise FieldError(str(unknown[0]), f"unknown key; known: {', '.join(sorted(_HELDOUT_KEYS))}")
    for key in ("dataset", "source", "id_field"):
        v = value.get(key)
        if key in value and (not isinstance(v, str) or not v):
            raise FieldError(key, f"expected a non-empty string, got {v!r}")
    if not isinstance(value.get("options", {}), Mapping):
        raise FieldError("options", "expected a mapping")
    return value


@dataclass(frozen=True)
class ModelSection:
    name: str = setting(
        "smollm2-135m",
        help="``smollm2-135m`` (built in, offline), ``tiny-random`` (CI), a local HF directory or a hub id.",
        nonempty="smollm2-135m, tiny-random, a model directory or a hub id",
    )
    dtype: str = setting(
        "bf16",
        help="Compute precision: ``bf16`` = fp32 master weights with bf16 autocast (faster on CPUs with "
        "native bf16), ``fp32`` = plain fp32.",
        choices=("bf16", "fp32"),
    )
    lora: dict | None = setting(
        None, help="peft ``LoraConfig`` fields (e.g. ``{r: 16, lora_alpha: 32}``); null = full fine-tune."
    )
    attention: str = setting(
        "auto",
        help="Attention kernel: ``auto`` = ``eager`` on a CPU (faster than SDPA for forward + backward of the "
        "short sequences TTRL trains on, benchmarks/engine_step) and the model's default on a GPU; or "
        "``eager`` / ``sdpa`` explicitly.",
        choices=("auto", "eager", "sdpa"),
    )


@dataclass(frozen=True)
class DataSection:
    dataset: str = setting(
        "arithmetic",
        help="A dataset loader registered by a plugin (``ttrl-kit plugins`` lists them).",
        nonempty="a dataset loader name, see `ttrl-kit plugins`",
    )
    source: str = setting("add1", help="The loader's ``source`` argument (a family name, a file path, ...).")
    options: dict = setting(help="Extra keyword options for the loader.", default_factory=dict)
    id_field: str = setting(
        "id", help="The column that identifies a prompt; groups are keyed by it, never by position.", nonempty=True
    )
    heldout: dict | None = setting(
        None,
        help="Optional second split evaluated before/after training too (keys dataset, source, options, "
        "id_field; missing ones are the training split's).",
        parse=_heldout,
    )


@dataclass(frozen=True)
class NamedSection:
    name: str = setting("", help="A name registered by a plugin (``ttrl-kit plugins`` lists them).", nonempty=True)
    options: dict = setting(help="Keyword options for it (unknown ones are refused by name).", default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise FieldError("name", "required")


@dataclass(frozen=True)
class TTRLSection:
    n_votes: int = setting(8, help="Samples that vote per prompt.", ge=1)
    n_train: int = setting(
        8,
        help="Samples trained on per prompt (the first n_train of the votes); <= n_votes.",
        ge=2,
        note="GRPO needs at least 2 samples per prompt",
    )
    labeled_fraction: float = setting(
        0.0,
        help="A few labels, when you have them: this share of the training questions (chosen "
        "deterministically from train.seed) is rewarded by correctness against its gold answer; every "
        "other question by the estimator alone.  0 = label-free (TTRL).",
        ge=0,
        le=1,
    )
    labeled_column: str | None = setting(
        None,
        help="A data row field marking questions to reward against gold (true/1/yes), instead of or "
        "besides labeled_fraction.",
    )

    def __post_init__(self) -> None:
        if self.n_votes < self.n_train:
            raise FieldError("n_train", f"n_train={self.n_train} is larger than ttrl.n_votes={self.n_votes}")


@dataclass(frozen=True)
class GenerationSection:
    temperature: float = setting(0.8, help="Sampling temperature.", gt=0)
    top_p: float = setting(1.0, help="Nucleus sampling mass.", gt=0, le=1)
    top_k: int = setting(0, help="Top-k filtering; 0 disables it.", ge=0)
    max_prompt_length: int = setting(256, help="Prompts longer than this (in tokens) are refused.", ge=1)
    max_completion_length: int = setting(64, help="Tokens sampled per completion at most.", ge=1)
    use_vllm: bool = setting(False, help="TRL's vLLM generation (GPU).")
    vllm_mode: str = setting(
        "colocate",
        help="``colocate`` runs vLLM inside the trainer process; ``server`` talks to ``trl vllm-serve``.",
        choices=("colocate", "server"),
    )
    vllm_gpu_memory_utilization: float = setting(0.3, help="GPU memory share vLLM may take.", gt=0, le=1)
    fast: bool = setting(
        True,
        help="Sample with a bf16 copy of the policy and inverse-CDF sampling instead of autocast over the fp32 "
        "weights and ``torch.multinomial`` (same distribution; see fast_generate.py).",
    )
    static_cache: bool = setting(
        False,
        help="A static KV cache for sampling (fixed-shape cache; see benchmarks/engine_step for its effect).",
    )


@dataclass(frozen=True)
class TrainSection:
    learning_rate: float = setting(3e-6, help="Optimizer learning rate.", gt=0)
    lr_scheduler: str = setting(
        "constant",
        help="transformers' learning-rate schedule.",
        choices=("constant", "linear", "cosine", "constant_with_warmup", "cosine_with_min_lr"),
    )
    warmup_ratio: float = setting(0.0, help="Share of the steps spent warming up.", ge=0, le=1)
    weight_decay: float = setting(0.0, help="AdamW weight decay.", ge=0)
    max_grad_norm: float = setting(1.0, help="Gradient clipping norm.", gt=0)
    beta: float = setting(
        0.0, help="KL coefficient against the initial model (0 = no reference model, as in TTRL's runs).", ge=0
    )
    prompts_per_step: int = setting(
        8, help="Distinct prompts per optimizer step (each sampled n_train times for training).", ge=1
    )
    micro_batch_size: int | str = setting(
        "auto",
        help="Completions per forward/backward pass (gradient accumulation covers the rest): an integer, or "
        "``auto`` = the largest divisor of the step's samples whose worst-case activations fit half the memory "
        "available when training starts and, on a CPU, hold at most 2,048 worst-case tokens (bigger is slower "
        "there; memory.py).",
    )
    epochs: float = setting(1.0, help="Passes over the prompts (train.max_steps > 0 overrides it).")
    max_steps: int = setting(-1, help="Optimizer steps; overrides epochs when > 0.")
    max_minutes: float | None = setting(
        None,
        help="Stop training (cleanly, after a checkpoint) when this wall-time budget is spent; the budget "
        "covers the whole run, so time before a ``--resume`` counts.",
        gt=0,
    )
    seed: int = setting(0, help="Seed of the trainer (data order, sampling, initialisation of new weights).")
    loss_type: str = setting("dapo", help="TRL's GRPO loss.", choices=("grpo", "dapo", "dr_grpo", "bnpo"))
    scale_rewards: str = setting(
        "group",
        help="TRL's advantage scaling: by the group's std, the batch's, or none.",
        choices=("group", "batch", "none"),
    )
    update: str = setting(
        "lean",
        help="How TRL computes the update's log-probabilities: ``lean`` = only real completion tokens through "
        "the LM head, padding trimmed, length-sorted micro-batches (lean_step.py); ``trl`` = TRL's stock "
        "computation.  The loss and optimiser are TRL's either way.",
        choices=("lean", "trl"),
    )
    bf16_weights: bool = setting(
        False,
        help="Keep the model's weights in bf16 and fp32 master copies in the optimizer (master_weights.py) "
        "instead of fp32 weights under bf16 autocast; needs model.dtype bf16 and a full fine-tune (no lora).",
    )
    threads: int | str = setting(
        "auto",
        help="torch CPU threads: an integer, or ``auto`` = 1 or every usable core, whichever a short timing "
        "probe finds faster, re-checked before each optimizer step (threads.py): on an oversubscribed machine "
        "2 threads stall at every OpenMP barrier, on idle cores they win.",
    )
    malloc_trim: bool = setting(
        True, help="Free memory back to the OS after each step (glibc malloc_trim); keeps RSS flat on CPU."
    )

    def __post_init__(self) -> None:
        mb = self.micro_batch_size
        if (isinstance(mb, str) and mb != "auto") or (isinstance(mb, int) and mb < 1):
            raise FieldError("micro_batch_size", f"expected 'auto' or an integer >= 1, got {mb!r}")
        t = self.threads
        if (isinstance(t, str) and t != "auto") or (isinstance(t, int) and t < 1):
            raise FieldError("threads", f"expected 'auto' or an integer >= 1, got {t!r}")
        if isinstance(t, int) and t > 4096:
            raise FieldError("threads", f"expected at most 4096, got {t}")
        if self.max_steps == 0 or (self.max_steps < 0 and self.epochs <= 0):
            raise FieldError("max_steps", "no training: set train.max_steps > 0 or train.epochs > 0")


@dataclass(frozen=True)
class CheckpointSection:
    every: int = setting(1, help="Save every N optimizer steps (1 = lose at most one step on a crash).", ge=1)
    keep: int = setting(
        2,
        help="Checkpoints kept on disk (>= 2 so a half-written newest one never leaves none).",
        ge=2,
        note="a half-written newest checkpoint must leave one",
    )
    save_final: bool = setting(True, help="Save the final model (weights + tokenizer) to RUN/final_model.")


@dataclass(frozen=True)
class StopSection:
    """Label-free early stop and checkpoint pick (ttrl_kit/core/early_stop.py has the rules and
    why).  Both read only the per-step health in metrics.jsonl, never gold labels."""

    enabled: bool = setting(True, help="Stop training once the run has collapsed or stopped producing gradient.")
    window: int | None = setting(
        None,
        help="Steps the rule and the pick average over; null = one pass over the training questions "
        "(ceil(questions / train.prompts_per_step)).",
        ge=1,
    )
    zero_variance: float = setting(
        0.9,
        help="Stop when the window's mean share of zero-reward-variance groups reaches this (no gradient).",
        gt=0,
        le=1,
    )
    consensus: float = setting(
        0.95, help="Stop when the window's mean majority ratio reaches this (answers collapsed).", gt=0, le=1
    )
    min_steps: int = setting(0, help="Never stop before this step.", ge=0)
    pick: bool = setting(
        True,
        help="Keep a weights snapshot per checkpoint step (RUN/snapshots, in the eval dtype; removed after the "
        "run) so the label-free pick can be saved to RUN/picked_model and evaluated beside the last "
        "checkpoint.  Costs disk: one copy of the trained weights per step until the run ends.",
    )
    tolerance: float = setting(
        0.01, help="The pick is the earliest checkpoint whose score is within this of the best.", ge=0, lt=1
    )


TARGET_SPLITS = ("test", "heldout")
TARGET_METRICS = ("avg_at_k", "maj_at_k", "pass_at_k")


def _targets(value: Any) -> Any:
    """``eval.targets``: ``{split: {metric: minimum}}`` with split ``test`` (the trained
    questions) or ``heldout`` and metric ``avg_at_k`` / ``maj_at_k`` / ``pass_at_k`` in [0, 1]."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FieldError("", f"expected a mapping {{split: {{metric: minimum}}}}, got {short_repr(value)}")
    out: dict[str, dict[str, float]] = {}
    for split, metrics in value.items():
        if split not in TARGET_SPLITS:
            raise FieldError(str(split)[:80], f"unknown split; known: {', '.join(TARGET_SPLITS)}")
        if not isinstance(metrics, Mapping):
            raise FieldError(split, f"expected a mapping {{metric: minimum}}, got {short_repr(metrics)}")
        out[split] = {}
        for metric, minimum in metrics.items():
            if metric not in TARGET_METRICS:
                raise FieldError(f"{split}.{str(metric)[:80]}", f"unknown metric; known: {', '.join(TARGET_METRICS)}")
            ok = isinstance(minimum, (int, float)) and not isinstance(minimum, bool) and 0 <= minimum <= 1
            if not ok:
                raise FieldError(f"{split}.{metric}", f"expected a number in [0, 1], got {short_repr(minimum)}")
            out[split][metric] = float(minimum)
    return out


@dataclass(frozen=True)
class EvalSection:
    k: int = setting(16, help="Samples per question for avg@k / maj@k / pass@k.", ge=1)
    before: bool = setting(True, help="Evaluate the model before training.")
    after: bool = setting(True, help="Evaluate the model after training.")
    temperature: float | None = setting(
        None, help="Sampling temperature for evaluation (null = generation.temperature).", gt=0
    )
    batch_prompts: int = setting(8, help="Prompts per generate call (k samples each).", ge=1)
    max_questions: int | None = setting(None, help="Evaluate only the first N questions (null = all).", ge=1)
    seed: int = setting(1234, help="Seed of the evaluation's sampling.")
    before_from: str | None = setting(
        None,
        help="Take the before-training numbers from an earlier evaluation of the same base model with the same "
        "eval settings (a ``ttrl-kit eval --output`` directory, or another run directory) instead of sampling "
        "them again.  Runs that compare estimators on one model and task then share one baseline; settings "
        "that differ are refused, naming the field.",
    )
    targets: dict = setting(
        help="Reporting only: minimum avg_at_k / maj_at_k / pass_at_k per split (``test`` = the trained "
        "questions, ``heldout`` = unseen ones), e.g. {test: {avg_at_k: 0.95}}.  summary.md says for the run's "
        "result (the label-free pick, else the last checkpoint) whether each is met or by how much it is "
        "missed, beside two checks it always makes: pass@k not below the base model's, and no question "
        "locked onto a wrong answer (none of its k samples correct).  Gold never decides anything here.",
        default_factory=dict,
        parse=_targets,
    )
    checkpoints: int = setting(
        0,
        help="With stop.pick: besides the last checkpoint and the pick, evaluate up to this many more snapshots, "
        "evenly spaced, for the gold-best row of the summary (reporting only; gold never chooses anything).  "
        "0 = the gold-best row compares the last checkpoint and the pick only.",
        ge=0,
    )


#: The package each ``logging.report_to`` choice needs (transformers' integration imports it).
REPORT_TO_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "trackio": "trackio"}


@dataclass(frozen=True)
class LoggingSection:
    report_to: str = setting(
        "none",
        help="Where TRL also reports the run, besides metrics.jsonl: ``none`` (default, offline), "
        "``tensorboard`` (event files in RUN/tensorboard), ``wandb`` (offline mode unless WANDB_API_KEY or "
        "WANDB_MODE is set) or ``trackio`` (local).  TRL's own metrics and the TTRL ones "
        "(``ttrl/reward_mean``, ``ttrl/majority_ratio``, ...) go there.",
        choices=("none", "tensorboard", "wandb", "trackio"),
    )


@dataclass(frozen=True)
class OutputSection:
    dir: str | None = setting(
        None,
        help="Run directory (relative paths are relative to the current directory).  Null: runs/<config name>.",
        nonempty="a directory path or null",
    )


@dataclass(frozen=True)
class RunConfig:
    model: ModelSection = setting(help="The policy model.", default_factory=ModelSection)
    data: DataSection = setting(help="The prompts trained on.", default_factory=DataSection)
    task: NamedSection = setting(
        help="The task plugin: extracts and groups answers.", default_factory=lambda: NamedSection(name="math")
    )
    estimator: NamedSection = setting(
        help="The label-free reward estimator.", default_factory=lambda: NamedSection(name="majority")
    )
    ttrl: TTRLSection = setting(help="Votes and trained samples per prompt.", default_factory=TTRLSection)
    generation: GenerationSection = setting(help="Sampling during training.", default_factory=GenerationSection)
    train: TrainSection = setting(help="The GRPO update.", default_factory=TrainSection)
    checkpoint: CheckpointSection = setting(help="Checkpoints for --resume.", default_factory=CheckpointSection)
    stop: StopSection = setting(
        help="Label-free early stop and checkpoint pick (gold never used).", default_factory=StopSection
    )
    eval: EvalSection = setting(
        help="Before/after evaluation (gold labels, reporting only).", default_factory=EvalSection
    )
    logging: LoggingSection = setting(help="Trackers besides metrics.jsonl.", default_factory=LoggingSection)
    output: OutputSection = setting(help="Where the run directory goes.", default_factory=OutputSection)
    source: str = setting(
        "<config>", help="Where the config came from (for error messages).", compare=False, internal=True
    )

    def __post_init__(self) -> None:
        """Checks across sections (each section's own ranges are its settings)."""
        t, tr, m = self.ttrl, self.train, self.model
        per_step = tr.prompts_per_step * t.n_train
        if isinstance(tr.micro_batch_size, int) and per_step % tr.micro_batch_size:
            raise FieldError(
                "train.micro_batch_size",
                f"{tr.micro_batch_size} does not divide prompts_per_step x n_train = {tr.prompts_per_step} x {t.n_train} = {per_step}",
            )
        if tr.bf16_weights and m.dtype != "bf16":
            raise FieldError("train.bf16_weights", f"needs model.dtype bf16, got {m.dtype!r}")
        if tr.bf16_weights and m.lora:
            raise FieldError("train.bf16_weights", "applies to a full fine-tune; set it false with model.lora")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source", None)
        return d


def from_mapping(data: Mapping[str, Any], where: str = "<config>") -> RunConfig:
    """Build and statically validate a config (no model, no plugin calls)."""
    return build(RunConfig, data, where, extra={"source": where})


def load_config(path: str | Path) -> RunConfig:
    from ttrl_kit.core.io import load_mapping

    return from_mapping(load_mapping(path), str(path))


def _err(cfg: RunConfig, field_name: str, msg: str) -> ConfigError:
    return ConfigError(f"{cfg.source}: field {field_name!r}: {msg}")


def _cpu_times(stat_path: str) -> tuple[int, int, int] | None:
    """(busy jiffies, total jiffies, CPU count) over all CPUs since boot, from /proc/stat."""
    try:
        with open(stat_path, encoding="ascii") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    head = next((ln.split() for ln in lines if ln.startswith("cpu ")), None)
    if head is None or len(head) < 5:
        return None
    try:
        fields = [int(x) for x in head[1:9]]  # user nice system idle iowait irq softirq steal
    except ValueError:
        return None
    total = sum(fields)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    ncpu = sum(1 for ln in lines if ln.startswith("cpu") and ln[3:4].isdigit())
    return total - idle, total, max(ncpu, 1)


def busy_cores(interval: float = 0.5, stat_path: str = "/proc/stat") -> float | None:
    """How many cores other processes keep busy right now (sampled over ``interval``);
    ``None`` where /proc/stat is not available."""
    import time

    a = _cpu_times(stat_path)
    if a is None:
        return None
    time.sleep(interval)
    b = _cpu_times(stat_path)
    if b is None or b[1] <= a[1]:
        return None
    return (b[0] - a[0]) / (b[1] - a[1]) * b[2]


def resolve_threads(setting: int | str) -> int:
    """The torch thread count for ``train.threads``: the integer, or for ``auto`` the count
    a short timing probe finds fastest now (threads.py says why a timing and not the load)."""
    if setting != "auto":
        return int(setting)
    from ttrl_kit.engines.embedded.threads import probe

    return probe().choice


def world_size() -> int:
    """Processes this run would be split over (torchrun/accelerate set WORLD_SIZE)."""
    import os

    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def is_main_process() -> bool:
    """Rank 0, or the only process: the one that writes the run directory."""
    import os

    return os.environ.get("RANK", "0") == "0"


def check_world(cfg: RunConfig) -> None:
    """Several processes (``torchrun`` / ``accelerate launch``): the reward gathers every rank's
    samples and votes over whole groups (``ttrl_kit.trl``), so groups may straddle ranks; what
    must hold is TRL's batch arithmetic: one step's samples split evenly into micro-batches
    on every rank."""
    n = world_size()
    per_step = cfg.train.prompts_per_step * cfg.ttrl.n_train
    micro = cfg.train.micro_batch_size if isinstance(cfg.train.micro_batch_size, int) else 1  # auto: a divisor
    if n > 1 and per_step % (micro * n):
        raise _err(
            cfg,
            "train.micro_batch_size",
            f"{cfg.train.micro_batch_size} x {n} processes does not divide prompts_per_step x n_train = {per_step}",
        )


def check_report_to(cfg: RunConfig) -> None:
    """The tracker's package must be importable: fail now, in one line, not after the first eval."""
    import importlib.util

    pkg = REPORT_TO_PACKAGES.get(cfg.logging.report_to)
    if pkg and importlib.util.find_spec(pkg) is None:
        raise _err(cfg, "logging.report_to", f"{cfg.logging.report_to!r} needs the {pkg} package: pip install {pkg}")
