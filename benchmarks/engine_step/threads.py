"""1 vs 2 torch threads for sampling and for matmuls, interleaved, under whatever load the
machine has now (the measurement behind ``train.threads: auto``, see threads.py in the engine).

    .venv/bin/python benchmarks/engine_step/threads.py [--rounds 2]

Samples 16 rows x 12 tokens from SmolLM2-135M (bf16, eager attention, inverse-CDF sampling,
no early stop) and runs 200 bf16 matmuls (256x576 @ 576x1536), alternating 1 and 2 threads
round by round so a change in load hits both alike; prints wall and CPU seconds, the load
average, and what the engine's probe would choose at that moment.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ttrl_kit.engines.embedded import models  # noqa: E402
from ttrl_kit.engines.embedded.fast_generate import generate_ids  # noqa: E402
from ttrl_kit.engines.embedded.threads import probe  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    loaded = models.load_model("smollm2-135m")
    tok = loaded.tokenizer
    model = loaded.model.to(torch.bfloat16)
    model.set_attn_implementation("eager")
    prompt = "<|im_start|>user\nWhat is 3 + 4?<|im_end|>\n<|im_start|>assistant\n"
    enc = tok([prompt] * 16, return_tensors="pt")
    x = torch.randn(256, 576, dtype=torch.bfloat16)
    w = torch.randn(576, 1536, dtype=torch.bfloat16)
    print(f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {os.cpu_count()} CPUs")
    print("| round | threads | sample 16x12 wall s | (CPU s) | 200 matmuls wall s | (CPU s) | load avg | probe picks |")
    print("|---|---|---|---|---|---|---|---|")
    for rnd in range(args.rounds):
        for t in (1, 2):
            torch.set_num_threads(t)
            c0, t0 = time.process_time(), time.perf_counter()
            generate_ids(model, enc["input_ids"], enc["attention_mask"], temperature=0.8, max_new_tokens=12,
                         pad_token_id=tok.pad_token_id, eos_token_id=-1)
            c1, t1 = time.process_time(), time.perf_counter()
            for _ in range(200):
                torch.mm(x, w)
            c2, t2 = time.process_time(), time.perf_counter()
            pick = probe().choice
            print(f"| {rnd + 1} | {t} | {t1 - t0:.2f} | {c1 - c0:.2f} | {t2 - t1:.2f} | {c2 - c1:.2f} | "
                  f"{os.getloadavg()[0]:.1f} | {pick} |", flush=True)


if __name__ == "__main__":
    main()
