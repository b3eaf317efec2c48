"""Keep the top-k log-probabilities that vLLM returns and OpenRLHF 0.11.2's agent executors drop.

Why here: with ``SamplingParams(logprobs=k)`` vLLM returns, per generated token, a dictionary
of the k most likely tokens (plus the sampled one) with their log-probabilities.  OpenRLHF's
``SingleTurnAgentExecutor.execute`` (and ``MultiTurnAgentExecutor.execute``) in
``openrlhf/utils/agent.py`` read only the sampled token's entry into ``rollout_log_probs``
and return the response dict without the rest, so the group hook (in another Ray process)
never sees the top k.  The narrowest place to keep them is the executor's call of
``llm_engine.generate``: :func:`install` wraps ``execute`` so that it receives a recording
proxy of its ``llm_engine``; the proxy forwards every call unchanged and keeps, per
generated token, the k largest log-probabilities of the ``RequestOutput`` it returns.  After
``execute`` returned, they are added to the response dict under :data:`TOPK_KEY`, aligned with
the concatenated ``action_ranges`` like ``rollout_log_probs``.  OpenRLHF's own code runs
unchanged (no copy of it, so no source pin is needed); the group hook reads the key and
removes it before the responses become experiences.

Only requests that ask for ``logprobs >= 2`` are recorded: OpenRLHF itself asks for 1 (its
importance-sampling correction) or none, and the TTRL hook asks for
:data:`~ttrl_kit.core.topk.DEFAULT_TOPK` only when the estimator needs a top-k signal, so
evaluation and answers-only runs carry nothing extra.  The patch runs in the vLLM actors,
where ``openrlhf.utils.agent`` is imported (the Ray worker setup hook installs it on import).
A custom ``--train.agent_func_path`` executor that subclasses one of the two gets it too;
one that overrides ``execute`` without calling ``llm_engine.generate`` once per action range
leaves the key out or misaligned, and the group hook then stops with a clear error.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("ttrl_kit.openrlhf")

AGENT_MODULE = "openrlhf.utils.agent"
EXECUTORS = ("SingleTurnAgentExecutor", "MultiTurnAgentExecutor")
TOPK_KEY = "ttrl_topk_logprobs"
"""Response-dict key: per generated token (inside ``action_ranges``, in order) the tuple of
the k largest log-probabilities, largest first; None when they could not be aligned."""
_MARK = "_ttrl_kit_topk"
EXECUTE_PARAMS = ("self", "prompt", "label", "sampling_params", "max_length", "hf_tokenizer", "llm_engine", "images")
"""``AgentExecutorBase.execute``'s parameters in OpenRLHF 0.11.2, which the wrapper passes on."""


def requested_topk(sampling_params: Any) -> int | None:
    """k when the request asks vLLM for a top-k of at least 2 log-probabilities, else None."""
    k = getattr(sampling_params, "logprobs", None)
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        return None
    return k


def top_values(position: Any, k: int) -> tuple[float, ...]:
    """The k largest log-probabilities of one position's ``{token_id: Logprob}`` dictionary
    (vLLM adds the sampled token when it is not among the top k: it is then the smallest)."""
    values = sorted((float(v.logprob) for v in position.values()), reverse=True)
    return tuple(values[:k])


class RecordingEngine:
    """Proxy of a ``RolloutRayActor`` (the ``llm_engine`` an executor receives) that records
    the top k of every ``generate`` result and forwards everything else."""

    def __init__(self, engine: Any, k: int) -> None:
        self._engine = engine
        self._k = k
        self.rows: list[tuple[float, ...]] = []
        self.complete = True

    async def generate(self, *args: Any, **kwargs: Any) -> Any:
        out = await self._engine.generate(*args, **kwargs)
        logprobs = out.outputs[0].logprobs if out is not None and out.outputs else None
        if logprobs is None:
            self.complete = False
        else:
            self.rows.extend(top_values(p, self._k) for p in logprobs)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def action_length(response: dict) -> int:
    return sum(end - start for start, end in response.get("action_ranges") or [])


def _wrap(original: Any) -> Any:
    @functools.wraps(original)
    async def execute(
        self, prompt, label, sampling_params, max_length: int, hf_tokenizer, llm_engine, images=None
    ):  # OpenRLHF 0.11.2's AgentExecutorBase.execute signature
        k = requested_topk(sampling_params)
        if k is None:
            return await original(self, prompt, label, sampling_params, max_length, hf_tokenizer, llm_engine, images)
        recorder = RecordingEngine(llm_engine, k)
        out = await original(self, prompt, label, sampling_params, max_length, hf_tokenizer, recorder, images)
        if isinstance(out, dict):
            aligned = recorder.complete and len(recorder.rows) == action_length(out)
            out[TOPK_KEY] = recorder.rows if aligned else None
        return out

    return execute


def install(module: Any) -> bool:
    """Wrap ``execute`` of the agent executors in ``module`` (``openrlhf.utils.agent``).
    Returns False when already installed."""
    if getattr(module, _MARK, False):
        return False
    for name in EXECUTORS:
        cls = getattr(module, name, None)
        execute = getattr(cls, "execute", None)
        if cls is None or not callable(execute) or tuple(inspect.signature(execute).parameters) != EXECUTE_PARAMS:
            # another OpenRLHF: leave it alone; an estimator needing the top k then stops in the hook
            log.warning(
                "ttrl-kit: %s.%s.execute is not OpenRLHF 0.11.2's; top-k log-probs are not kept", module.__name__, name
            )
            continue
        cls.execute = _wrap(execute)
    setattr(module, _MARK, True)
    return True


def response_topk(response: dict) -> Sequence[tuple[float, ...]] | None:
    """The top-k rows :func:`install` attached to one response dict (None when absent)."""
    return response.get(TOPK_KEY)
