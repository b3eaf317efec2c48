"""Install the TTRL group hook into OpenRLHF 0.11's ``SamplesGenerator`` class.

Where: ``openrlhf/trainer/ppo_utils/samples_generator.py``.  ``SamplesGenerator._generate_vllm``
is the one place in OpenRLHF 0.11 where all n responses of a prompt exist together (one Ray
object ref per prompt, each ``ray.get(ref)`` returns the prompt's n response dicts), BEFORE
they become ``Experience`` objects and before dynamic filtering looks at their scores.

What changes, only for TRAINING rollouts (``generate_samples``):
  * each prompt is dispatched with ``n_votes`` samples instead of
    ``--rollout.n_samples_per_prompt`` (= ``n_train``);
  * the whole group goes through ONE estimator call; the first ``n_train`` responses are
    kept, with the TTRL reward as ``reward`` and ``scores`` and the estimator's stats (plus
    gold-label metrics when ``--data.label_key`` is set) as ``extra_logs``;
  * so every prompt still contributes exactly ``n_train`` experiences and OpenRLHF's own
    ``rewards.reshape(-1, n_samples_per_prompt)`` groups them correctly.
Evaluation (``generate_eval_samples``) runs the original, untouched method: its rewards come
from the per-sample reward file with the gold label, as in plain OpenRLHF.

The class is patched in place (not subclassed) so that every holder of the class, i.e. the
synchronous ``PPOTrainer`` and the asynchronous ``GenerateSamplesActor``, gets the hook no
matter which Ray process imports it.  ``install`` is idempotent.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import hashlib
import inspect
import logging
import math
import os
import textwrap
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.engines.openrlhf.config import TTRLConfig
from ttrl_kit.engines.openrlhf.group_hook import (
    GroupRewarder,
    append_health_line,
    check_correction_level,
    health_metrics,
    label_metrics,
    logprobs_to_request,
    response_length,
)

log = logging.getLogger("ttrl_kit.openrlhf")

TARGET_MODULE = "openrlhf.trainer.ppo_utils.samples_generator"
TRAINER_MODULE = "openrlhf.trainer.ppo_trainer"
"""Where ``BasePPOTrainer`` lives: the eval-at-start hook (:func:`install_eval_at_start`) goes there."""
CHECKED_VERSION = "0.11.2"
"""The one OpenRLHF release whose ``_generate_vllm`` our loop was written from and tested against."""
OVERRIDE_ENV = "TTRL_KIT_OPENRLHF_VERSION_OVERRIDE"
"""Set to the installed OpenRLHF version to run the hook on it anyway (an explicit, per-version choice)."""
GENERATE_VLLM_FINGERPRINT = "148960118a0424fd30d021a507779afb5939b962d61ae34a9f79553d3022074b"
"""sha256 of the AST of OpenRLHF 0.11.2's ``SamplesGenerator._generate_vllm`` (see :func:`source_fingerprint`).
Our ``_generate_group_scored`` is a restructured copy of that loop: if the original changes (an
upstream PR adds a filter inside it, say), the copy would silently skip the change, so the hook
refuses instead.  tests/openrlhf/test_version_pin.py recomputes it from the installed source."""
_MARK = "_ttrl_kit_hook"
_EVAL_MARK = "_ttrl_kit_eval_at_start"
_STATE_MARK = "_ttrl_kit_estimator_state"
_REQUIRED = ("generate_samples", "_generate_vllm", "_dispatch_prompts_to_vllm", "_process_response_into_experience")


class OpenRLHFVersionError(ConfigError):
    """The installed OpenRLHF is not the one the hook was checked against (or lacks the private
    methods it relies on).  One line naming both versions and the override."""


def source_fingerprint(func: Callable[..., Any]) -> str:
    """sha256 of a function's AST (``ast.dump``: no line numbers, comments, formatting or docstring), so
    only a change of the code itself changes it."""
    node = ast.parse(textwrap.dedent(inspect.getsource(func))).body[0]
    return _ast_sha256(node)


def file_fingerprint(path: str, class_name: str = "SamplesGenerator", method: str = "_generate_vllm") -> str:
    """The same fingerprint read from a source file without importing it (no Ray, no vLLM needed)."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == method:
                    return _ast_sha256(item)
    raise LookupError(f"{path}: no {class_name}.{method}")


def _ast_sha256(node: ast.AST) -> str:
    """The docstring is left out: its indentation differs between a file and a dedented method."""
    body = getattr(node, "body", None)
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        node = copy.copy(node)
        node.body = body[1:]  # type: ignore[attr-defined]
    return hashlib.sha256(ast.dump(node).encode()).hexdigest()


def check_version(version: str | None, environ: Mapping[str, str] | None = None) -> bool:
    """Refuse an OpenRLHF other than :data:`CHECKED_VERSION` unless :data:`OVERRIDE_ENV` names it.
    Returns True when the override is in force (``None``: not installed, nothing to check)."""
    env = os.environ if environ is None else environ
    if version is None or version == CHECKED_VERSION:
        return False
    if env.get(OVERRIDE_ENV) == version:
        log.warning(
            "ttrl-kit: running the TTRL hook on openrlhf %s (checked against %s) because %s=%s",
            version,
            CHECKED_VERSION,
            OVERRIDE_ENV,
            version,
        )
        return True
    raise OpenRLHFVersionError(
        f"openrlhf {version} is installed but the TTRL group hook was checked against openrlhf {CHECKED_VERSION} "
        f"only (it replaces SamplesGenerator._generate_vllm); install openrlhf=={CHECKED_VERSION}, or set "
        f"{OVERRIDE_ENV}={version} to run it anyway"
    )


def check_source(
    original_generate_vllm: Callable[..., Any], version: str | None, environ: Mapping[str, str] | None = None
) -> None:
    """Refuse when the loop we replace is not the one we copied (same rules for the override)."""
    env = os.environ if environ is None else environ
    found = source_fingerprint(original_generate_vllm)
    if found == GENERATE_VLLM_FINGERPRINT:
        return
    shown = version or "unknown"
    if env.get(OVERRIDE_ENV) == shown:
        log.warning(
            "ttrl-kit: SamplesGenerator._generate_vllm differs from openrlhf %s's; running anyway (%s=%s)",
            CHECKED_VERSION,
            OVERRIDE_ENV,
            shown,
        )
        return
    raise OpenRLHFVersionError(
        f"openrlhf {shown}: SamplesGenerator._generate_vllm is not the code of openrlhf {CHECKED_VERSION} that the "
        f"TTRL hook replaces (fingerprint {found[:12]} != {GENERATE_VLLM_FINGERPRINT[:12]}); install "
        f"openrlhf=={CHECKED_VERSION}, or set {OVERRIDE_ENV}={shown} to run it anyway"
    )


def install(module: Any, rewarder_factory: Callable[[], GroupRewarder] | None = None) -> bool:
    """Patch ``module.SamplesGenerator`` (``module`` is the imported samples_generator module).

    Returns False when the class was already patched.  ``rewarder_factory`` builds the
    per-process :class:`GroupRewarder`; by default from :data:`~.config.ENV_VAR`.
    """
    cls = module.SamplesGenerator
    if getattr(cls, _MARK, False):
        return False
    version = _version()
    missing = [name for name in _REQUIRED if not callable(getattr(cls, name, None))]
    if missing or not callable(getattr(module, "_collect_prompt_batch", None)):
        raise OpenRLHFVersionError(
            f"openrlhf {version}: SamplesGenerator lacks {', '.join(missing) or '_collect_prompt_batch'}; "
            f"the TTRL hook was checked against openrlhf {CHECKED_VERSION}"
        )
    check_version(version)
    check_source(cls._generate_vllm, version)
    factory = rewarder_factory or (lambda: GroupRewarder(TTRLConfig.from_env()))

    original_generate_samples = cls.generate_samples
    original_generate_vllm = cls._generate_vllm

    @functools.wraps(original_generate_samples)
    def generate_samples(self, **generate_kwargs):
        # Only training rollouts pass through here; evaluation calls _generate_vllm via
        # generate_eval_samples and must keep OpenRLHF's own reward path.
        self._ttrl_training = True
        try:
            return original_generate_samples(self, **generate_kwargs)
        finally:
            self._ttrl_training = False

    @functools.wraps(original_generate_vllm)
    def _generate_vllm(self, dataloader_iter, num_prompts, dynamic_filtering, **generate_kwargs):
        if not getattr(self, "_ttrl_training", False):
            return original_generate_vllm(self, dataloader_iter, num_prompts, dynamic_filtering, **generate_kwargs)
        rewarder = getattr(self, "_ttrl_rewarder", None)
        if rewarder is None:
            rewarder = self._ttrl_rewarder = factory()
            record = getattr(self, "_ttrl_state", None)  # from a resumed checkpoint, see install_estimator_state
            if record is not None:
                rewarder.scorer.load_state_record(record, f"OpenRLHF checkpoint client state {STATE_KEY!r}")
        return _generate_group_scored(
            self, module, rewarder, dataloader_iter, num_prompts, dynamic_filtering, generate_kwargs
        )

    cls.generate_samples = generate_samples
    cls._generate_vllm = _generate_vllm
    setattr(cls, _MARK, True)
    log.info("ttrl-kit: TTRL group hook installed in %s.SamplesGenerator", module.__name__)
    return True


def install_eval_at_start(module: Any, config_factory: Callable[[], TTRLConfig] | None = None) -> bool:
    """Patch ``module.BasePPOTrainer`` (``module`` is ``openrlhf.trainer.ppo_trainer``) so that a
    fresh run evaluates once at global step 0, before any update.

    Why there: OpenRLHF 0.11.2's ``PPOTrainer.fit`` first calls
    ``restore_best_checkpoint_state(init_checkpoint_states())`` and then evaluates only after
    update steps (``global_step % eval.steps == 0``).  Wrapping that first call gives a baseline
    on the initial weights with OpenRLHF's own ``evaluate`` (same eval set, sampler, metrics
    and trackers, logged at step 0).  Not on a resumed run (``global_step > 0``), and not in the
    async trainer, whose ``TrainingActor`` has no eval data (its evaluation runs elsewhere).
    A no-op unless the TTRL config asks for it.  Returns False when already patched."""
    base = module.BasePPOTrainer
    if getattr(base, _EVAL_MARK, False):
        return False
    original = base.restore_best_checkpoint_state
    factory = config_factory or TTRLConfig.from_env

    @functools.wraps(original)
    def restore_best_checkpoint_state(self, checkpoint_states):
        out = original(self, checkpoint_states)
        if not factory().eval_at_start or (checkpoint_states or {}).get("global_step", 0):
            return out
        if getattr(self, "eval_dataloader", None) is None or not hasattr(self, "generate_kwargs"):
            log.warning(
                "ttrl-kit: eval at start skipped: this trainer (%s) has no eval data here "
                "(no --eval.dataset, or the async trainer)",
                type(self).__name__,
            )
            return out
        kwargs = dict(self.generate_kwargs)  # exactly what fit() passes to its periodic evaluations
        kwargs["temperature"] = self.args.eval.temperature
        kwargs["n_samples_per_prompt"] = self.args.eval.n_samples_per_prompt
        log.info("ttrl-kit: baseline evaluation at global step 0")
        self.evaluate(0, **kwargs)
        return out

    base.restore_best_checkpoint_state = restore_best_checkpoint_state
    setattr(base, _EVAL_MARK, True)
    return True


STATE_KEY = "ttrl_estimator_state"
"""Key of a stateful estimator's running state in OpenRLHF's checkpoint ``client_states``."""


def install_estimator_state(module: Any) -> bool:
    """Patch ``module.BasePPOTrainer`` so a stateful estimator's running state survives a resume.

    The group hook's rewarder (and its estimator) lives on the trainer's ``samples_generator``,
    in the trainer's process.  OpenRLHF 0.11.2 saves ``client_states`` with each actor
    checkpoint (``save_logs_and_checkpoints``) and hands them back on resume to
    ``restore_best_checkpoint_state(init_checkpoint_states())``; the state rides along under
    :data:`STATE_KEY` and is loaded into the rewarder when it is built.  So a crash resumes
    the running average of the last checkpoint.  A no-op for stateless estimators.  Returns
    False when already patched."""
    base = module.BasePPOTrainer
    if getattr(base, _STATE_MARK, False):
        return False
    original_save = base.save_logs_and_checkpoints
    original_restore = base.restore_best_checkpoint_state

    @functools.wraps(original_save)
    def save_logs_and_checkpoints(self, global_step, logs_dict=None, client_states=None):
        rewarder = getattr(getattr(self, "samples_generator", None), "_ttrl_rewarder", None)
        record_of = getattr(getattr(rewarder, "scorer", None), "state_record", None)
        record = record_of() if callable(record_of) else None
        if record is not None:
            client_states = {**(client_states or {}), STATE_KEY: record}
        return original_save(self, global_step, logs_dict, client_states)

    @functools.wraps(original_restore)
    def restore_best_checkpoint_state(self, checkpoint_states):
        out = original_restore(self, checkpoint_states)
        record = (checkpoint_states or {}).get(STATE_KEY)
        generator = getattr(self, "samples_generator", None)
        if record is not None and generator is not None:
            generator._ttrl_state = record
        return out

    base.save_logs_and_checkpoints = save_logs_and_checkpoints
    base.restore_best_checkpoint_state = restore_best_checkpoint_state
    setattr(base, _STATE_MARK, True)
    return True


def install_trainer_hooks(module: Any) -> bool:
    """Everything patched into ``openrlhf.trainer.ppo_trainer``: eval at start and the
    estimator state in checkpoints.  Returns False when both were already patched."""
    a = install_eval_at_start(module)
    b = install_estimator_state(module)
    return a or b


def _generate_group_scored(
    self, module, rewarder: GroupRewarder, dataloader_iter, num_prompts, dynamic_filtering, generate_kwargs
):
    """OpenRLHF 0.11.2's ``_generate_vllm`` loop with the group hook between ``ray.get(ref)``
    and ``_process_response_into_experience``.  Same return value: (experiences,
    prompts_consumed, exhausted)."""
    ray = module.ray
    args = self.args
    n_train = int(generate_kwargs.get("n_samples_per_prompt", args.rollout.n_samples_per_prompt))
    n_votes = rewarder.n_votes(n_train)
    vote_kwargs = dict(generate_kwargs, n_samples_per_prompt=n_votes)
    with_labels = bool(getattr(args.data, "label_key", None))

    prompts, labels, images, exhausted = module._collect_prompt_batch(dataloader_iter, num_prompts)
    if not prompts:
        return [], 0, True
    prompts_consumed = len(prompts)
    n_logprobs = logprobs_to_request(rewarder.needs)
    # OpenRLHF asks vLLM for log-probs only for its importance-sampling correction; keep its
    # own setting for what it trains on and drop what we requested once we have read it.
    keep_rollout_lp = args.algo.advantage.is_correction_level != "off"
    if n_logprobs is not None and n_logprobs > 1:
        # the launcher refuses this before Ray starts; checked again for a hand-started job
        check_correction_level(rewarder.config.estimator, rewarder.needs, args.algo.advantage.is_correction_level)
        if rewarder.vocab_size is None:
            rewarder.vocab_size = model_vocab_size(args.actor.model_name_or_path)

    def dispatch(p, lab, imgs):
        if n_logprobs is None:
            return self._dispatch_prompts_to_vllm(p, lab, images=imgs, **vote_kwargs)
        with _sampling_logprobs(module, n_logprobs):
            return self._dispatch_prompts_to_vllm(p, lab, images=imgs, **vote_kwargs)

    pending = dispatch(prompts, labels, images)
    pbar = module.tqdm(range(len(prompts)), desc="Generate samples (TTRL vote)")

    accepted: list = []
    results = []
    lengths: list[int | None] = []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1, timeout=10.0)
        for ref in ready:
            group = rewarder.score_group(ray.get(ref), self.tokenizer, n_train)
            if n_logprobs is not None and not keep_rollout_lp:
                for r in group.kept:
                    r["rollout_log_probs"] = None
            results.append(group.result)
            lengths.extend(response_length(r) for r in group.kept)
            experiences = [self._process_response_into_experience(r, **generate_kwargs) for r in group.kept]
            if dynamic_filtering:
                scores = [e.scores[0].item() for e in experiences]
                low, high = args.algo.dynamic_filtering_range
                if not (low < sum(scores) / len(scores) < high):
                    log.info(
                        "ttrl-kit: filtered out a group, mean TTRL score %.2f not in (%.2f, %.2f)",
                        sum(scores) / len(scores),
                        low,
                        high,
                    )
                    experiences = []
            if experiences:
                accepted.extend(experiences)
                pbar.set_postfix({"prompts_consumed": prompts_consumed})
                pbar.update()
            elif dynamic_filtering:
                new_prompts, new_labels, new_images, exhausted = module._collect_prompt_batch(dataloader_iter, 1)
                prompts_consumed += len(new_prompts)
                if new_prompts:
                    pending.extend(dispatch(new_prompts, new_labels, new_images))

    # The label-free health of this batch (every scored group, filtered or not), with and
    # without labels; copied into every experience like the label metrics below.
    health = health_metrics(results, lengths)
    for e in accepted:
        for key, value in health.items():
            e.info[key] = _tensor(value)
    rewarder.batches += 1
    if rewarder.config.health_log and results:
        append_health_line(rewarder.config.health_log, rewarder.batches, health)
    if with_labels:
        # Batch-level values copied into every experience, so that OpenRLHF's per-sample
        # mean of info[...] equals the batch value and every sample carries the same keys.
        batch = label_metrics(results)
        for e in accepted:
            for key, value in batch.items():
                e.info[key] = _tensor(value)
        if results and all(math.isnan(v) for v in batch.values()):
            log.warning("ttrl-kit: --data.label_key is set but no prompt in this batch had a label")
    return accepted, prompts_consumed, exhausted


@contextlib.contextmanager
def _sampling_logprobs(module: Any, k: int = 1):
    """While dispatching, every ``SamplingParams`` the samples generator builds asks vLLM
    for ``k`` log-probabilities per token (1: only the sampled token's; more: the top k, which
    :mod:`.topk_capture` keeps in the vLLM actors)."""
    original = module.SamplingParams

    def sampling_params(*args: Any, **kwargs: Any) -> Any:
        kwargs["logprobs"] = max(int(kwargs.get("logprobs") or 0), k)
        return original(*args, **kwargs)

    module.SamplingParams = sampling_params
    try:
        yield
    finally:
        module.SamplingParams = original


def model_vocab_size(path: str) -> int:
    """The model's vocabulary size as its logits' width (``config.vocab_size``, or the text
    model's for a vision-language config): the ``V`` of the top-k approximations."""
    from transformers import AutoConfig  # an OpenRLHF dependency; loaded only when needed

    cfg = AutoConfig.from_pretrained(path, trust_remote_code=True)
    size = getattr(cfg, "vocab_size", None)
    if not size and hasattr(cfg, "get_text_config"):
        size = getattr(cfg.get_text_config(), "vocab_size", None)
    if not isinstance(size, int) or size < 2:
        raise ConfigError(f"{path}: the model config has no vocab_size (needed for entropy / self_certainty)")
    return size


def _tensor(value: float):
    """A 1-element tensor like the other ``info`` entries (OpenRLHF concatenates and averages them)."""
    import torch  # an OpenRLHF dependency; imported here so this module loads without it

    return torch.tensor([float(value)])


def _version() -> str | None:
    try:
        return metadata.version("openrlhf")
    except metadata.PackageNotFoundError:
        return None
