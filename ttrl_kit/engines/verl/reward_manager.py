"""verl's per-sample reward manager for a ttrl-kit run: grades against the gold label.

verl 0.9 computes rewards in its reward loop, one sample at a time (``run_single``); a
group-level estimator cannot live there (see ``agent_loop``).  This manager is what that
loop runs when ``reward.reward_manager`` points at it, loaded through verl's own importlib
path (``reward.reward_manager.source=importlib``,
``module.path=pkg://ttrl_kit.engines.verl.reward_manager``, ``name=TTRLGoldRewardManager``) or,
once this module is imported, by its registered name (``source=register``, ``name=ttrl_gold``).

What its score is used for:
  * validation: it IS the reward, so ``val-core/<data_source>/acc/mean@k`` is avg@k
    against the gold label, graded by the configured ttrl-kit task;
  * training: nothing.  ``TTRLAgentLoopManager`` overwrites the training ``rm_scores`` with
    the label-free TTRL rewards; the per-sample ``acc`` stays a reported field only.
Model output is untrusted: extraction and comparison go through the task, whose failures
score 0 instead of raising inside verl's event loop.
"""

from __future__ import annotations

from typing import Any

from verl import DataProto
from verl.experimental.reward_loop.reward_manager import register
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from ttrl_kit.core.scoring import GroupScorer
from ttrl_kit.core.task import grade
from ttrl_kit.engines.verl.group_reward import decode_responses, gold_of
from ttrl_kit.engines.verl.settings import build_scorer, settings_from_config

NAME = "ttrl_gold"
"""Registered name (``reward.reward_manager.source=register``, after importing this module)."""


@register(NAME)
class TTRLGoldRewardManager(RewardManagerBase):
    """1.0 when a response's answer matches ``reward_model.ground_truth``, else 0.0."""

    def __init__(self, config: Any, tokenizer: Any, compute_score: Any = None, **kwargs: Any) -> None:
        super().__init__(config, tokenizer, compute_score)
        self.scorer: GroupScorer = build_scorer(settings_from_config(config))

    def grade(self, response: str, gold: str | None) -> float:
        if gold is None:
            return 0.0
        return 1.0 if grade(self.scorer.task, response, gold) else 0.0  # grade never raises

    async def run_single(self, data: DataProto) -> dict:
        data = data[-1:]  # multi-turn outputs: the last sequence carries the answer, as verl's managers do
        text = decode_responses(data, self.tokenizer)[0]
        gold = gold_of(data.non_tensor_batch["reward_model"][0]) if "reward_model" in data.non_tensor_batch else None
        score = await self.loop.run_in_executor(None, self.grade, text, gold)
        return {"reward_score": score, "reward_extra_info": {"acc": score}}
