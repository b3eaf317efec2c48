"""Fixtures for the verl engine contract tests.

They run the REAL verl 0.9.1 code on CPU: ``DataProto``, the Hydra config and
``validate_config``, the reward-loop loader (``load_reward_manager``), the
``AgentLoopManager.generate_sequences`` our manager extends, and the trainer's
``_balance_batch``.  Only what needs a GPU is replaced: the agent-loop workers (vLLM
generation) answer with scripted texts, and the actor worker group returns fixed metrics.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version
from typing import Any, Callable, Sequence

import numpy as np
import pytest
import torch

try:
    from verl import DataProto
except ImportError:  # pragma: no cover - install.sh --dev installs it
    raise pytest.UsageError("tests/verl need the real verl 0.9.1 package: run scripts/install.sh --dev") from None

VERL_VERSION = version("verl")
PAD = 0
PROMPT_WIDTH = 3


class CharTokenizer:
    """Character-level stand-in for a HF tokenizer (token id = code point, 0 = pad/eos)."""

    pad_token_id = PAD
    eos_token_id = PAD
    eos_token = "\x00"

    def decode(self, ids: Any, skip_special_tokens: bool = False) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return "".join(chr(i) for i in ids if not (skip_special_tokens and i == PAD))


def make_rollout_batch(uids: Sequence[str], texts: Sequence[str], golds: dict[str, str] | None = None,
                  width: int | None = None) -> DataProto:
    """A post-generation verl batch: left-padded prompts, right-padded responses, masks,
    ``uid``, ``reward_model`` and a ``row`` id (to follow rows through a reorder)."""
    width = width or max(1, max(len(t) for t in texts))
    n = len(texts)
    responses = torch.zeros(n, width, dtype=torch.long)
    response_mask = torch.zeros(n, width, dtype=torch.long)
    for i, t in enumerate(texts):
        ids = [ord(c) for c in t][:width]
        responses[i, : len(ids)] = torch.tensor(ids, dtype=torch.long) if ids else responses[i, :0]
        response_mask[i, : len(ids)] = 1
    prompts = torch.full((n, PROMPT_WIDTH), ord("q"), dtype=torch.long)
    attention_mask = torch.cat([torch.ones(n, PROMPT_WIDTH, dtype=torch.long), response_mask], dim=1)
    input_ids = torch.cat([prompts, responses], dim=1)
    golds = golds or {}
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": responses,
            "response_mask": response_mask,
            "attention_mask": attention_mask,
            "input_ids": input_ids,
            "position_ids": torch.cumsum(attention_mask, dim=1) - 1,
        },
        non_tensors={
            "uid": np.array(list(uids), dtype=object),
            "reward_model": np.array([{"style": "rule", "ground_truth": golds.get(u, "")} for u in uids], dtype=object),
            "row": np.arange(n),
        },
    )


class ScriptedWorker:
    """Stands in for a Ray ``AgentLoopWorker`` (which drives vLLM): ``generate_sequences.remote``
    answers each row with ``answer(uid, k)``, k = how many rows of that uid it answered before."""

    def __init__(self, answer: Callable[[str, int], str], seen: dict[str, int], calls: list[int]) -> None:
        self.generate_sequences = self
        self._answer, self._seen, self._calls = answer, seen, calls

    def remote(self, chunk: DataProto) -> Any:
        texts = []
        for uid in chunk.non_tensor_batch["uid"]:
            k = self._seen.get(uid, 0)
            self._seen[uid] = k + 1
            texts.append(self._answer(uid, k))
        self._calls.append(len(chunk))
        out = make_rollout_batch(list(chunk.non_tensor_batch["uid"]), texts, width=12)
        out.non_tensor_batch = {"__num_turns__": np.full(len(chunk), 2, dtype=np.int32)}
        keys = ("generate_sequences", "tool_calls", "compute_score", "num_preempted")
        out.meta_info = {"metrics": [{k: 0.0 for k in keys} for _ in range(len(chunk))]}

        async def result() -> DataProto:
            return out

        return asyncio.ensure_future(result())


@pytest.fixture
def rollout_batch() -> Callable[..., DataProto]:
    return make_rollout_batch


@pytest.fixture
def scripted_worker() -> type[ScriptedWorker]:
    return ScriptedWorker


@pytest.fixture
def tokenizer() -> CharTokenizer:
    return CharTokenizer()


@pytest.fixture(scope="session")
def compose_verl() -> Callable[..., Any]:
    """verl's ``ppo_trainer`` config composed by Hydra from verl's own config directory."""
    from ttrl_kit.engines.verl import launcher

    def compose(overrides: Sequence[str] = ()) -> Any:
        return launcher.compose(launcher.with_wiring(list(overrides)))

    return compose
