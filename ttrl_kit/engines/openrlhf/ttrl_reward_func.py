"""Per-sample reward file for ``--reward.remote_url`` (OpenRLHF 0.11 loads it by path inside
each vLLM actor and calls ``reward_func`` once per sample).

Why it exists: without ``--reward.remote_url`` OpenRLHF builds a reward-model actor group.
What it does:
  * training: its value is a placeholder, overwritten by the TTRL group hook (see ``patch``)
    before the experience is built;
  * evaluation (``--eval.dataset``): it IS the reward, so it grades the response against the
    gold label (``--data.label_key``) with the configured task: eval pass@k stays a
    gold-label metric, exactly OpenRLHF's own eval reward path;
  * no label: 0.0.
It never raises (OpenRLHF swallows exceptions here and then fails later with an unrelated
message), and it is thread-safe (OpenRLHF calls it from worker threads concurrently).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ttrl_kit.core.task import grade

log = logging.getLogger("ttrl_kit.openrlhf.reward_func")
_lock = threading.Lock()
_task: Any = None


def _get_task() -> Any:
    global _task
    if _task is None:
        with _lock:
            if _task is None:
                from ttrl_kit.core.plugins import get_registry
                from ttrl_kit.engines.openrlhf.config import TTRLConfig

                config = TTRLConfig.from_env()
                _task = get_registry().task(config.task, **dict(config.task_options))
    return _task


def response_of(query: str, prompt: str) -> str:
    """The generated part of ``query`` (OpenRLHF passes prompt + response, decoded)."""
    return query[len(prompt) :] if prompt and query.startswith(prompt) else query


def gold_reward(query: str, prompt: str, label: Any) -> float:
    """1.0 when the response's answer matches the gold label, else 0.0 (0.0 without label)."""
    if label is None or not str(label).strip():
        return 0.0
    try:
        task = _get_task()
    except Exception:  # never let OpenRLHF swallow it silently: log, then score 0
        log.exception("ttrl-kit reward_func: the task could not be built; reward 0.0")
        return 0.0
    return 1.0 if grade(task, response_of(query, prompt), str(label)) else 0.0  # grade never raises


def reward_func(queries: list[str], prompts: list[str], labels: list[str], **kwargs: Any) -> dict:
    rewards = [gold_reward(q, p, gold) for q, p, gold in zip(queries, prompts, labels)]
    if len(rewards) == 1:  # OpenRLHF 0.11 always sends one sample; a float gives rewards of shape (1,)
        return {"rewards": rewards[0], "scores": rewards[0], "extra_logs": {}}
    import torch

    value = torch.tensor(rewards, dtype=torch.float)
    return {"rewards": value, "scores": value, "extra_logs": {}}
