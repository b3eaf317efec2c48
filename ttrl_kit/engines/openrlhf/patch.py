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

import functools
import logging
import math
from importlib import metadata
from typing import Any, Callable

from ttrl_kit.engines.openrlhf.config import TTRLConfig
from ttrl_kit.engines.openrlhf.group_hook import GroupRewarder, label_metrics

log = logging.getLogger("ttrl_kit.openrlhf")

TARGET_MODULE = "openrlhf.trainer.ppo_utils.samples_generator"
SUPPORTED = "0.11."
_MARK = "_ttrl_kit_hook"
_REQUIRED = ("generate_samples", "_generate_vllm", "_dispatch_prompts_to_vllm", "_process_response_into_experience")


class OpenRLHFVersionError(RuntimeError):
    """The installed OpenRLHF does not have the private methods the hook relies on."""


def install(module: Any, rewarder_factory: Callable[[], GroupRewarder] | None = None) -> bool:
    """Patch ``module.SamplesGenerator`` (``module`` is the imported samples_generator module).

    Returns False when the class was already patched.  ``rewarder_factory`` builds the
    per-process :class:`GroupRewarder`; by default from :data:`~.config.ENV_VAR`.
    """
    cls = module.SamplesGenerator
    if getattr(cls, _MARK, False):
        return False
    missing = [name for name in _REQUIRED if not callable(getattr(cls, name, None))]
    if missing or not callable(getattr(module, "_collect_prompt_batch", None)):
        raise OpenRLHFVersionError(
            f"openrlhf {_version()}: SamplesGenerator lacks {', '.join(missing) or '_collect_prompt_batch'}; "
            f"the TTRL hook supports openrlhf {SUPPORTED}x"
        )
    version = _version()
    if version and not version.startswith(SUPPORTED):
        log.warning("ttrl-kit: TTRL hook written for openrlhf %sx, found %s", SUPPORTED, version)
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
        return _generate_group_scored(self, module, rewarder, dataloader_iter, num_prompts, dynamic_filtering,
                                      generate_kwargs)

    cls.generate_samples = generate_samples
    cls._generate_vllm = _generate_vllm
    setattr(cls, _MARK, True)
    log.info("ttrl-kit: TTRL group hook installed in %s.SamplesGenerator", module.__name__)
    return True


def _generate_group_scored(self, module, rewarder: GroupRewarder, dataloader_iter, num_prompts,
                           dynamic_filtering, generate_kwargs):
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
    pending = self._dispatch_prompts_to_vllm(prompts, labels, images=images, **vote_kwargs)
    pbar = module.tqdm(range(len(prompts)), desc="Generate samples (TTRL vote)")

    accepted: list = []
    results = []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1, timeout=10.0)
        for ref in ready:
            group = rewarder.score_group(ray.get(ref), self.tokenizer, n_train)
            results.append(group.result)
            experiences = [self._process_response_into_experience(r, **generate_kwargs) for r in group.kept]
            if dynamic_filtering:
                scores = [e.scores[0].item() for e in experiences]
                low, high = args.algo.dynamic_filtering_range
                if not (low < sum(scores) / len(scores) < high):
                    log.info("ttrl-kit: filtered out a group, mean TTRL score %.2f not in (%.2f, %.2f)",
                             sum(scores) / len(scores), low, high)
                    experiences = []
            if experiences:
                accepted.extend(experiences)
                pbar.set_postfix({"prompts_consumed": prompts_consumed})
                pbar.update()
            elif dynamic_filtering:
                new_prompts, new_labels, new_images, exhausted = module._collect_prompt_batch(dataloader_iter, 1)
                prompts_consumed += len(new_prompts)
                if new_prompts:
                    pending.extend(
                        self._dispatch_prompts_to_vllm(new_prompts, new_labels, images=new_images, **vote_kwargs)
                    )

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


def _tensor(value: float):
    """A 1-element tensor like the other ``info`` entries (OpenRLHF concatenates and averages them)."""
    import torch  # an OpenRLHF dependency; imported here so this module loads without it

    return torch.tensor([float(value)])


def _version() -> str | None:
    try:
        return metadata.version("openrlhf")
    except metadata.PackageNotFoundError:
        return None
