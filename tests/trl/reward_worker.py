"""Run by tests/trl/test_trl_reward.py under ``torch.distributed.run --nproc_per_node 2`` (gloo, CPU).

Each rank gets an uneven, interleaved slice of one fixed step (so groups straddle ranks),
calls the public reward function once, and writes its rewards and the group sizes its
estimator calls saw to OUT/rank<r>.json."""

import json
import os
import sys

import torch.distributed as dist

from ttrl_kit.trl import ttrl_reward

sys.path.insert(0, os.path.dirname(__file__))
from step_data import split_for  # noqa: E402


def main() -> None:
    out = sys.argv[1]
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    rows = split_for(rank, world)
    estimator = sys.argv[2] if len(sys.argv) > 2 else "majority"
    reward = ttrl_reward("math", estimator, gold_column="answer", num_generations=4)
    calls = []
    batch_calls = []
    inner = reward.scorer.score
    inner_batch = reward.scorer.score_batch

    def counting(responses, **kw):
        calls.append(len(responses))
        return inner(responses, **kw)

    def counting_batch(inputs):
        if reward.scorer.batch and inputs:  # a batch estimator: one estimate_batch call per non-empty batch
            batch_calls.append([len(g.responses) for g in inputs])
        return inner_batch(inputs)

    reward.scorer.score = counting
    reward.scorer.score_batch = counting_batch
    metrics = {}
    rewards = reward(prompts=[r["prompt"] for r in rows], completions=[r["completion"] for r in rows],
                     id=[r["id"] for r in rows], answer=[r["answer"] for r in rows],
                     log_metric=lambda k, v: metrics.__setitem__(k, v))
    with open(os.path.join(out, f"rank{rank}.json"), "w") as fh:
        json.dump({"rows": [r["i"] for r in rows], "rewards": rewards, "calls": calls, "batch_calls": batch_calls,
                   "metrics": metrics}, fh)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
