"""1 vs 2 (or N) torch threads for the engine's two phases, interleaved in one process.

    .venv/bin/python benchmarks/engine_step/threads.py [--threads 1 2] [--rounds 2]

Times, per thread count, the engine's sampling of the demo step's 64 samples (bf16 copy,
inverse-CDF) and its lean update of that batch, alternating the thread counts round by
round (A B A B) so a change in the machine's load hits every setting alike.  Prints the
medians and the load average, which is what ``train.threads: auto`` is decided from.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import run as step_bench  # noqa: E402

from ttrl_kit.engines.embedded import models  # noqa: E402
from ttrl_kit.engines.embedded.config import busy_cores, load_config  # noqa: E402
from ttrl_kit.engines.embedded.engine import prepare_run  # noqa: E402
from ttrl_kit.engines.embedded.fast_generate import GenerationCopy, generate_ids  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    busy = busy_cores(1.0)
    load0 = os.getloadavg()[0]
    cfg = load_config(step_bench.DEMO)
    p = prepare_run(cfg)
    loaded = models.load_model(cfg.model.name, seed=cfg.train.seed)
    tok, g, n = loaded.tokenizer, cfg.generation, cfg.ttrl.n_train
    rows = p.train_rows[: cfg.train.prompts_per_step]
    texts = [tok.apply_chat_template(r.prompt, add_generation_prompt=True, tokenize=False) for r in rows]
    enc = dict(tok(texts, return_tensors="pt", padding=True, add_special_tokens=False))
    bf16 = GenerationCopy("bf16").get(loaded.model, 0)

    def gen() -> torch.Tensor:
        torch.manual_seed(0)
        return generate_ids(bf16, enc["input_ids"], enc["attention_mask"], n=n, temperature=g.temperature,
                            max_new_tokens=g.max_completion_length, pad_token_id=tok.pad_token_id,
                            eos_token_id=tok.eos_token_id)

    completions = step_bench.first_eos_cut(gen(), tok.eos_token_id)
    batch = step_bench.build_batch(tok, enc, n, completions, torch.randn(len(completions)))
    times: dict[int, dict[str, list[float]]] = {t: {"generate": [], "update": []} for t in args.threads}
    for _ in range(args.rounds):
        for t in args.threads:
            torch.set_num_threads(t)
            t0 = time.perf_counter()
            gen()
            times[t]["generate"].append(time.perf_counter() - t0)
            times[t]["update"].append(step_bench.engine_update(cfg, loaded, p, batch, "lean", "eager", 1))
    load1 = os.getloadavg()[0]
    print(f"Date: {started:%Y-%m-%d %H:%M} UTC; busy cores before (other processes, /proc/stat over 1 s): "
          f"{busy if busy is None else round(busy, 2)}; load average {load0:.2f} at start, {load1:.2f} at end; "
          f"{os.cpu_count()} CPUs; {args.rounds} interleaved rounds, medians.\n")
    print("| torch threads | generate 64 samples (s) | lean update (s) |")
    print("|---|---|---|")
    for t in args.threads:
        print(f"| {t} | {statistics.median(times[t]['generate']):.2f} | {statistics.median(times[t]['update']):.2f} |")


if __name__ == "__main__":
    main()
