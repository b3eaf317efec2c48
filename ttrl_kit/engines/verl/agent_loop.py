"""Vote on ``n_votes``, train on ``rollout.n``: a verl ``AgentLoopManager`` subclass.

Why here: in verl 0.9 the trainer's reward step only reads ``rm_scores`` that the agent
loop produced (its reward loop scores one sample at a time and never sees a group), and
no trainer method between the reward step and the old/ref log-probs can drop rows.  The
agent-loop manager is verl's documented extension point that sees a whole step
(``actor_rollout_ref.rollout.agent.agent_loop_manager_class``).  For a training step this
class

1. expands the batch (``rollout.n`` rows per ``uid``) to ``ttrl.n_votes`` rows per ``uid``;
2. lets verl generate them (the parent's ``generate_sequences``: vLLM/SGLang, unchanged);
3. scores every ``uid`` group in one estimator call (:func:`score_batch`) and writes the
   TTRL reward at each response's last valid token (``rm_scores``);
4. returns only the first ``rollout.n`` rows per ``uid``, in the input layout, so everything
   verl does next (``balance_batch``, old/ref log-probs, GRPO advantages, the update) sees
   an ordinary batch with TTRL rewards.

Validation steps pass through untouched: their reward is verl's per-sample reward loop
with :class:`~ttrl_kit.engines.verl.reward_manager.TTRLGoldRewardManager` (gold, avg@k).
"""

from __future__ import annotations

from typing import Any

from verl.experimental.agent_loop import AgentLoopManager
from verl.protocol import DataProto
from verl.utils.ray_utils import auto_await

from ttrl_kit.engines.verl.group_reward import score_batch, vote_layout
from ttrl_kit.engines.verl.settings import build_scorer, n_votes_for, settings_from_config

FQN = "ttrl_kit.engines.verl.agent_loop.TTRLAgentLoopManager"
"""Value for ``actor_rollout_ref.rollout.agent.agent_loop_manager_class``."""


class TTRLAgentLoopManager(AgentLoopManager):
    """verl's agent-loop manager with TTRL voting around training generations."""

    def __init__(self, config: Any, *args: Any, tokenizer: Any = None, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.ttrl = settings_from_config(config)
        self.n_train = int(config.actor_rollout_ref.rollout.n)
        self.n_votes = n_votes_for(self.ttrl, self.n_train)
        self.scorer = build_scorer(self.ttrl)
        self._tokenizer = tokenizer
        self._metrics: dict[str, float] = {}

    @property
    def tokenizer(self) -> Any:
        """The policy's tokenizer (decodes responses for the task), loaded once on first use."""
        if self._tokenizer is None:
            from verl.utils import hf_tokenizer
            from verl.utils.fs import copy_to_local

            path = self.model_config.get("tokenizer_path") or self.model_config.path
            self._tokenizer = hf_tokenizer(copy_to_local(path), trust_remote_code=True)
        return self._tokenizer

    def pop_metrics(self) -> dict[str, float]:
        """TTRL metrics of the last training step (the trainer adds them to verl's metrics)."""
        out, self._metrics = self._metrics, {}
        return out

    @auto_await
    async def generate_sequences(self, prompts: DataProto) -> DataProto:
        if prompts.meta_info.get("validate", False):
            return await super().generate_sequences(prompts)
        uids = list(prompts.non_tensor_batch["uid"])
        rows, back = vote_layout(uids, self.n_votes)
        votes = prompts.select_idxs(rows)
        votes.meta_info = dict(prompts.meta_info)
        if "priority" in votes.non_tensor_batch:  # verl assigns one per row when absent
            del votes.non_tensor_batch["priority"]
        output = await super().generate_sequences(votes)
        view = DataProto(
            batch=output.batch,
            non_tensor_batch={
                "uid": votes.non_tensor_batch["uid"],
                **(
                    {"reward_model": votes.non_tensor_batch["reward_model"]}
                    if "reward_model" in votes.non_tensor_batch
                    else {}
                ),
            },
        )
        scored = score_batch(self.scorer, view, self.tokenizer, n_train=self.n_train)
        if sorted(back) != list(scored.trained):  # the voting layout puts each group's own rows first
            raise RuntimeError("ttrl-kit: trained rows do not match the input rows; verl changed the row layout")
        kept = output.select_idxs(back)
        kept.meta_info = dict(output.meta_info)
        kept.batch["rm_scores"] = scored.rm_scores[back]
        self._metrics = {**scored.metrics, "ttrl/n_votes": float(self.n_votes), "ttrl/n_train": float(self.n_train)}
        return kept
