"""The run configuration: typed sections, strict keys, one-line errors naming file and field.

Everything a run depends on is in this tree, and the resolved tree is written to the run
directory, so a run dir alone says how it was made and ``--resume`` needs nothing else.
Validation happens before any model is loaded: a typo costs a second, not a model load.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import ConfigError


@dataclass
class ModelSection:
    #: ``smollm2-135m`` (built in, offline), ``tiny-random`` (CI), a local HF directory or a hub id.
    name: str = "smollm2-135m"
    #: Compute precision: ``bf16`` = fp32 master weights with bf16 autocast (faster on CPUs
    #: with native bf16), ``fp32`` = plain fp32.
    dtype: str = "bf16"
    #: peft ``LoraConfig`` fields (e.g. ``{r: 16, lora_alpha: 32}``); null = full fine-tune.
    lora: dict | None = None
    #: Attention kernel: ``auto`` = ``eager`` on a CPU (faster than SDPA for forward + backward
    #: of the short sequences TTRL trains on, benchmarks/engine_step) and the model's default on
    #: a GPU; or ``eager`` / ``sdpa`` explicitly.
    attention: str = "auto"


@dataclass
class DataSection:
    #: A dataset loader registered by a plugin (``ttrl-kit plugins`` lists them).
    dataset: str = "arithmetic"
    #: The loader's ``source`` argument (a family name, a file path, ...).
    source: str = "add1"
    #: Extra keyword options for the loader.
    options: dict = field(default_factory=dict)
    #: The column that identifies a prompt; groups are keyed by it, never by position.
    id_field: str = "id"
    #: Optional second split evaluated before/after training too (same keys as above, minus eval).
    heldout: dict | None = None


@dataclass
class NamedSection:
    name: str = ""
    options: dict = field(default_factory=dict)


@dataclass
class TTRLSection:
    #: Samples that vote per prompt.
    n_votes: int = 8
    #: Samples trained on per prompt (the first n_train of the votes); <= n_votes.
    n_train: int = 8


@dataclass
class GenerationSection:
    temperature: float = 0.8
    top_p: float = 1.0
    #: 0 disables top-k filtering.
    top_k: int = 0
    max_prompt_length: int = 256
    max_completion_length: int = 64
    #: TRL's vLLM generation (GPU). ``colocate`` runs vLLM inside the trainer process.
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    vllm_gpu_memory_utilization: float = 0.3
    #: Sample with a bf16 copy of the policy and inverse-CDF sampling instead of autocast over
    #: the fp32 weights and ``torch.multinomial`` (same distribution; see fast_generate.py).
    fast: bool = True
    #: A static KV cache for sampling (fixed-shape cache; see benchmarks/engine_step for its effect).
    static_cache: bool = False


@dataclass
class TrainSection:
    learning_rate: float = 3e-6
    lr_scheduler: str = "constant"
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    #: KL coefficient against the initial model (0 = no reference model, as in TTRL's runs).
    beta: float = 0.0
    #: Distinct prompts per optimizer step (each sampled n_train times for training).
    prompts_per_step: int = 8
    #: Completions per forward/backward pass (gradient accumulation covers the rest).
    micro_batch_size: int = 16
    epochs: float = 1.0
    #: Overrides epochs when > 0.
    max_steps: int = -1
    #: Stop training (cleanly, after a checkpoint) when this wall-time budget is spent; the
    #: budget covers the whole run, so time before a ``--resume`` counts.
    max_minutes: float | None = None
    seed: int = 0
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    #: How TRL computes the update's log-probabilities: ``lean`` = only real completion tokens
    #: through the LM head, padding trimmed, length-sorted micro-batches (lean_step.py);
    #: ``trl`` = TRL's stock computation.  The loss and optimiser are TRL's either way.
    update: str = "lean"
    #: Keep the model's weights in bf16 and fp32 master copies in the optimizer
    #: (master_weights.py) instead of fp32 weights under bf16 autocast; needs model.dtype bf16
    #: and a full fine-tune (no lora).
    bf16_weights: bool = False
    #: torch CPU threads: an integer, or ``auto`` = 1 or every usable core, whichever a short
    #: timing probe finds faster, re-checked before each optimizer step (threads.py): on an
    #: oversubscribed machine 2 threads stall at every OpenMP barrier, on idle cores they win.
    threads: int | str = "auto"
    #: Free memory back to the OS after each step (glibc malloc_trim); keeps RSS flat on CPU.
    malloc_trim: bool = True


@dataclass
class CheckpointSection:
    #: Save every N optimizer steps (1 = lose at most one step on a crash).
    every: int = 1
    #: Checkpoints kept on disk (>= 2 so a half-written newest one never leaves none).
    keep: int = 2
    #: Save the final model (weights + tokenizer) to RUN/final_model.
    save_final: bool = True


@dataclass
class EvalSection:
    #: Samples per question for avg@k / maj@k / pass@k.
    k: int = 16
    before: bool = True
    after: bool = True
    #: Sampling temperature for evaluation (null = generation.temperature).
    temperature: float | None = None
    #: Prompts per generate call (k samples each).
    batch_prompts: int = 8
    #: Evaluate only the first N questions (null = all).
    max_questions: int | None = None
    seed: int = 1234
    #: Take the before-training numbers from an earlier evaluation of the same base model
    #: with the same eval settings (a ``ttrl-kit eval --output`` directory, or another run
    #: directory) instead of sampling them again.  Runs that compare estimators on one model
    #: and task then share one baseline; settings that differ are refused, naming the field.
    before_from: str | None = None


@dataclass
class LoggingSection:
    #: Where TRL also reports the run, besides metrics.jsonl: ``none`` (default, offline),
    #: ``tensorboard`` (event files in RUN/tensorboard), ``wandb`` (offline mode unless
    #: WANDB_API_KEY or WANDB_MODE is set) or ``trackio`` (local).  TRL's own metrics and the
    #: TTRL ones (``ttrl/reward_mean``, ``ttrl/majority_ratio``, ...) go there.
    report_to: str = "none"


@dataclass
class OutputSection:
    #: Run directory (relative paths are relative to the current directory).  Null: runs/<config name>.
    dir: str | None = None


@dataclass
class RunConfig:
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    task: NamedSection = field(default_factory=lambda: NamedSection(name="math"))
    estimator: NamedSection = field(default_factory=lambda: NamedSection(name="majority"))
    ttrl: TTRLSection = field(default_factory=TTRLSection)
    generation: GenerationSection = field(default_factory=GenerationSection)
    train: TrainSection = field(default_factory=TrainSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    eval: EvalSection = field(default_factory=EvalSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    output: OutputSection = field(default_factory=OutputSection)
    #: Where the config came from (for error messages); not a user key.
    source: str = field(default="<config>", compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source", None)
        return d


_CHOICES = {
    "model.dtype": ("bf16", "fp32"),
    "model.attention": ("auto", "eager", "sdpa"),
    "train.update": ("lean", "trl"),
    "generation.vllm_mode": ("colocate", "server"),
    "train.lr_scheduler": ("constant", "linear", "cosine", "constant_with_warmup", "cosine_with_min_lr"),
    "train.loss_type": ("grpo", "dapo", "dr_grpo", "bnpo"),
    "train.scale_rewards": ("group", "batch", "none"),
    "logging.report_to": ("none", "tensorboard", "wandb", "trackio"),
}

#: The package each ``logging.report_to`` choice needs (transformers' integration imports it).
REPORT_TO_PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "trackio": "trackio"}


def _type_ok(value: Any, hint: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return True, None
        for a in args:
            if a is type(None):
                continue
            ok, v = _type_ok(value, a)
            if ok:
                return True, v
        return False, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        return False, value
    if hint is str:
        return isinstance(value, str), value
    if hint is dict:
        return isinstance(value, dict), value
    return True, value


def _build(cls: type, data: Any, where: str, prefix: str) -> Any:
    if data is None and prefix:
        # ``model: null`` must not quietly mean "the default model"
        raise ConfigError(
            f"{where}: field {prefix.rstrip('.')!r}: expected a mapping, got null (omit the section for defaults)"
        )
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{where}: field {prefix.rstrip('.') or 'top level'!r}: expected a mapping, got {type(data).__name__}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not (cls is RunConfig and f.name == "source")}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: field {prefix + str(unknown[0])!r}: unknown key; known: {', '.join(sorted(fields))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        key = prefix + name
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, where, key + ".")
            continue
        ok, value = _type_ok(value, hint)
        if ok and isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}: field {key!r}: expected a finite number, got {value!r}")
        if not ok:
            want = str(hint).replace("typing.", "").replace("<class '", "").replace("'>", "")
            raise ConfigError(f"{where}: field {key!r}: expected {want}, got {value!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ConfigError(f"{where}: field {key!r}: expected one of {', '.join(_CHOICES[key])}, got {value!r}")
        kwargs[name] = value
    return cls(**kwargs)


def from_mapping(data: Mapping[str, Any], where: str = "<config>") -> RunConfig:
    """Build and statically validate a config (no model, no plugin calls)."""
    cfg = _build(RunConfig, data, where, "")
    cfg.source = where
    validate_static(cfg)
    return cfg


def load_config(path: str | Path) -> RunConfig:
    from ttrl_kit.core.io import load_mapping

    return from_mapping(load_mapping(path), str(path))


def _err(cfg: RunConfig, field_name: str, msg: str) -> ConfigError:
    return ConfigError(f"{cfg.source}: field {field_name!r}: {msg}")


def validate_static(cfg: RunConfig) -> None:
    """Checks that need only numbers: group sizes, batch shapes, ranges."""
    t, tr, g = cfg.ttrl, cfg.train, cfg.generation
    if not cfg.model.name.strip():
        raise _err(cfg, "model.name", "required (smollm2-135m, tiny-random, a model directory or a hub id)")
    if not cfg.task.name:
        raise _err(cfg, "task.name", "required")
    if not cfg.data.dataset:
        raise _err(cfg, "data.dataset", "required (a dataset loader name, see `ttrl-kit plugins`)")
    if not cfg.data.id_field:
        raise _err(cfg, "data.id_field", "required")
    if t.n_votes < 1:
        raise _err(cfg, "ttrl.n_votes", f"expected >= 1, got {t.n_votes}")
    if not cfg.estimator.name:
        raise _err(cfg, "estimator.name", "required")
    if t.n_train < 2:
        raise _err(cfg, "ttrl.n_train", f"GRPO needs at least 2 samples per prompt, got {t.n_train}")
    if t.n_votes < t.n_train:
        raise _err(cfg, "ttrl.n_train", f"n_train={t.n_train} is larger than ttrl.n_votes={t.n_votes}")
    if tr.prompts_per_step < 1:
        raise _err(cfg, "train.prompts_per_step", f"expected >= 1, got {tr.prompts_per_step}")
    if tr.micro_batch_size < 1:
        raise _err(cfg, "train.micro_batch_size", f"expected >= 1, got {tr.micro_batch_size}")
    per_step = tr.prompts_per_step * t.n_train
    if per_step % tr.micro_batch_size:
        raise _err(
            cfg,
            "train.micro_batch_size",
            f"{tr.micro_batch_size} does not divide prompts_per_step x n_train = {tr.prompts_per_step} x {t.n_train} = {per_step}",
        )
    if tr.max_steps == 0 or (tr.max_steps < 0 and tr.epochs <= 0):
        raise _err(cfg, "train.max_steps", "no training: set train.max_steps > 0 or train.epochs > 0")
    if tr.learning_rate <= 0:
        raise _err(cfg, "train.learning_rate", f"expected > 0, got {tr.learning_rate}")
    if tr.beta < 0:
        raise _err(cfg, "train.beta", f"expected >= 0, got {tr.beta}")
    if (isinstance(tr.threads, str) and tr.threads != "auto") or (isinstance(tr.threads, int) and tr.threads < 1):
        raise _err(cfg, "train.threads", f"expected 'auto' or an integer >= 1, got {tr.threads!r}")
    if tr.max_minutes is not None and tr.max_minutes <= 0:
        raise _err(cfg, "train.max_minutes", f"expected > 0, got {tr.max_minutes}")
    if not 0.0 <= tr.warmup_ratio <= 1.0:
        raise _err(cfg, "train.warmup_ratio", f"expected in [0, 1], got {tr.warmup_ratio}")
    if tr.weight_decay < 0:
        raise _err(cfg, "train.weight_decay", f"expected >= 0, got {tr.weight_decay}")
    if tr.max_grad_norm <= 0:
        raise _err(cfg, "train.max_grad_norm", f"expected > 0, got {tr.max_grad_norm}")
    if isinstance(tr.threads, int) and tr.threads > 4096:
        raise _err(cfg, "train.threads", f"expected at most 4096, got {tr.threads}")
    if not 0.0 < g.vllm_gpu_memory_utilization <= 1.0:
        raise _err(
            cfg, "generation.vllm_gpu_memory_utilization", f"expected in (0, 1], got {g.vllm_gpu_memory_utilization}"
        )
    if cfg.eval.temperature is not None and not cfg.eval.temperature > 0:
        raise _err(cfg, "eval.temperature", f"expected > 0 or null, got {cfg.eval.temperature}")
    if cfg.eval.max_questions is not None and cfg.eval.max_questions < 1:
        raise _err(cfg, "eval.max_questions", f"expected >= 1 or null, got {cfg.eval.max_questions}")
    if cfg.output.dir is not None and not cfg.output.dir.strip():
        raise _err(cfg, "output.dir", "expected a directory path or null, got ''")
    if not (g.temperature > 0.0):
        raise _err(cfg, "generation.temperature", f"expected > 0, got {g.temperature}")
    if not (0.0 < g.top_p <= 1.0):
        raise _err(cfg, "generation.top_p", f"expected in (0, 1], got {g.top_p}")
    if g.top_k < 0:
        raise _err(cfg, "generation.top_k", f"expected >= 0, got {g.top_k}")
    for name in ("max_prompt_length", "max_completion_length"):
        if getattr(g, name) < 1:
            raise _err(cfg, f"generation.{name}", f"expected >= 1, got {getattr(g, name)}")
    if cfg.checkpoint.every < 1:
        raise _err(cfg, "checkpoint.every", f"expected >= 1, got {cfg.checkpoint.every}")
    if cfg.checkpoint.keep < 2:
        raise _err(
            cfg,
            "checkpoint.keep",
            f"expected >= 2 (a half-written newest checkpoint must leave one), got {cfg.checkpoint.keep}",
        )
    if cfg.eval.k < 1:
        raise _err(cfg, "eval.k", f"expected >= 1, got {cfg.eval.k}")
    if cfg.eval.batch_prompts < 1:
        raise _err(cfg, "eval.batch_prompts", f"expected >= 1, got {cfg.eval.batch_prompts}")
    if cfg.data.heldout is not None:
        unknown = sorted(set(cfg.data.heldout) - {"dataset", "source", "options", "id_field"})
        if unknown:
            raise _err(cfg, f"data.heldout.{unknown[0]}", "unknown key; known: dataset, id_field, options, source")
        for key in ("dataset", "source", "id_field"):
            v = cfg.data.heldout.get(key)
            if key in cfg.data.heldout and (not isinstance(v, str) or not v):
                raise _err(cfg, f"data.heldout.{key}", f"expected a non-empty string, got {v!r}")
        if not isinstance(cfg.data.heldout.get("options", {}), dict):
            raise _err(cfg, "data.heldout.options", "expected a mapping")
    if tr.bf16_weights and cfg.model.dtype != "bf16":
        raise _err(cfg, "train.bf16_weights", f"needs model.dtype bf16, got {cfg.model.dtype!r}")
    if tr.bf16_weights and cfg.model.lora:
        raise _err(cfg, "train.bf16_weights", "applies to a full fine-tune; set it false with model.lora")
    if cfg.model.lora is not None and not isinstance(cfg.model.lora, dict):
        raise _err(cfg, "model.lora", "expected a mapping of peft LoraConfig fields or null")


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

    return probe()[0]


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
    if n > 1 and per_step % (cfg.train.micro_batch_size * n):
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
