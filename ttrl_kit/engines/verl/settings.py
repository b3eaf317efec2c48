"""The TTRL settings of a verl run: the ``ttrl`` section of verl's own Hydra config.

Why inside verl's config: every process that needs them (the driver's agent-loop manager,
the reward-loop workers that grade validation answers) already receives verl's whole
config, and Hydra prints, saves and overrides it like any other section (``+ttrl.task=math``).
The values are the engine-neutral :class:`TTRLConfig` the OpenRLHF engine uses too.
Nothing here imports verl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.scoring import GroupScorer
from ttrl_kit.engines.openrlhf.config import TTRLConfig

SECTION = "ttrl"
"""Top-level key of verl's config that holds the TTRL settings."""


SIGNALS_AT_REWARD_TIME: frozenset[str] = frozenset()
"""Per-token signals the verl engine can hand an estimator at reward time: none.  The vote
runs in the agent-loop manager right after generation, before verl computes old log-probs
and entropies (its actor does that later, for the trained rows only).  verl's vLLM server can
return the sampled tokens' log-probs (``rollout.calculate_log_probs``) but never the top k,
and reading them is not wired yet; so an estimator that declares ``needs = (...)`` is refused
at start-up (:func:`check_signals`), like on any engine that lacks a signal."""


def _plain(value: Any) -> Any:
    """OmegaConf containers -> plain dicts/lists; anything else unchanged."""
    try:
        from omegaconf import Container, OmegaConf
    except ImportError:  # plain dicts in tests without verl's dependencies
        return value
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value


def settings_from_config(config: Mapping[str, Any]) -> TTRLConfig:
    """Read and validate the ``ttrl`` section of a composed verl config (one-line errors
    naming the config field)."""
    section = config.get(SECTION) if hasattr(config, "get") else None
    if section is None:
        raise ConfigError(f"verl config: no '{SECTION}' section: add +{SECTION}.task=NAME (e.g. +{SECTION}.task=math)")
    data = _plain(section)
    if not isinstance(data, dict):
        raise ConfigError(f"verl config: '{SECTION}' must be a mapping")
    if "eval_at_start" in data:
        raise ConfigError(
            f"verl config: field '{SECTION}.eval_at_start': OpenRLHF only; verl evaluates at step 0 with "
            "trainer.val_before_train=True"
        )
    for key in ("task_options", "estimator_options"):
        if data.get(key) is None:  # Hydra's null: the default
            data.pop(key, None)
    return TTRLConfig.from_mapping(data, "verl config", prefix=f"{SECTION}.")


def build_scorer(settings: TTRLConfig) -> GroupScorer:
    """Task and estimator from the plugin registry, by name; refuses estimators whose
    signals verl cannot supply."""
    scorer = GroupScorer.from_names(
        settings.task,
        settings.estimator,
        task_options=settings.task_options,
        estimator_options=settings.estimator_options,
    )
    check_signals(scorer, settings.estimator)
    return scorer


def check_signals(scorer: GroupScorer, name: str) -> None:
    """One-line refusal (the core's check: estimator, signal, engine) for an estimator that
    declares signals verl has no value for at reward time."""
    try:
        scorer.check_engine("verl", SIGNALS_AT_REWARD_TIME)
    except ConfigError as exc:
        raise ConfigError(
            f"{SECTION}.estimator={name!r}: {exc}; verl votes before it computes log-probs, "
            "so use this estimator with the embedded or the OpenRLHF engine"
        ) from None


def n_votes_for(settings: TTRLConfig, n_train: int) -> int:
    """Samples voted on per prompt; at least the ``rollout.n`` verl trains on."""
    n_votes = settings.n_votes if settings.n_votes is not None else n_train
    if n_votes < n_train:
        raise ConfigError(
            f"verl config: {SECTION}.n_votes={n_votes} is smaller than actor_rollout_ref.rollout.n={n_train}: "
            "TTRL votes over at least as many samples as it trains on"
        )
    return n_votes
