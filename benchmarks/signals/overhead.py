"""Overhead of per-token signals in the embedded engine's generation, side by side.

Three ways to sample the demo's generation batch (8 add1 prompts x 8 samples, T=0.8, up to
64 new tokens, SmolLM2-135M-Instruct, bf16 autocast as in training), same seed each, so
all three produce the same tokens:

* ``none``: plain ``generate.sample`` (what an answers-only estimator costs);
* ``hook``: the same call under ``SignalCapture`` (logprob, entropy, self_certainty reduced
  from the logits generate already computes; what ttrl-kit does);
* ``hook+topk``: as ``hook`` plus the top-20 log-probs;
* ``second_forward``: plain sampling, then one teacher-forced forward over prompt +
  completion to compute the same three signals (the alternative we avoided).

Repetitions alternate the variants so machine load hits them alike.  Prints a markdown table.

    .venv/bin/python benchmarks/signals/overhead.py --reps 3
"""

from __future__ import annotations

import argparse
import math
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args()

    import torch

    from ttrl_kit.core.plugins import get_registry
    from ttrl_kit.engines.embedded.generate import sample
    from ttrl_kit.engines.embedded.models import load_model
    from ttrl_kit.engines.embedded.signals import SignalCapture

    reg = get_registry()
    task = reg.task("math", suffix="")
    rows = reg.dataset_loader("arithmetic")("add1", n=args.prompts, seed=0, style="boxed")
    prompts = [task.build_prompt(r) for r in rows]
    loaded = load_model(args.model, seed=0)
    model, tok = loaded.model, loaded.tokenizer
    model.eval()
    kw = dict(temperature=0.8, top_p=1.0, top_k=0, max_new_tokens=args.max_new_tokens, dtype="bf16")

    def plain():
        torch.manual_seed(0)
        return sample(model, tok, prompts, args.n, **kw)

    def hook(names):
        cap = SignalCapture(names)
        torch.manual_seed(0)
        with cap.on(model):
            texts, lens = sample(model, tok, prompts, args.n, **kw)
        cap.for_lengths([x for per in lens for x in per])
        return texts, lens

    def second_forward():
        texts, lens = plain()
        # re-tokenise prompt + completion (left-padded, so completions end every row) and run
        # one teacher-forced forward; reduce the last L positions, L = the longest completion,
        # which is what generate's steps cover too (finished rows keep stepping until all end)
        chats = [tok.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
        full = [c + t for c, per in zip(chats, texts) for t in per]
        tok.padding_side = "left"
        enc = tok(full, return_tensors="pt", padding=True, add_special_tokens=False)
        steps = max(x for per in lens for x in per)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(**enc).logits[:, -steps - 1 : -1]
        logp = torch.log_softmax(logits.float(), -1)
        ent = -(logp.exp() * logp).sum(-1)
        sc = -math.log(logp.shape[-1]) - logp.mean(-1)
        lp = logp.gather(-1, enc["input_ids"][:, -steps:, None]).squeeze(-1)
        return ent.shape, sc.shape, lp.shape

    variants = {
        "none": plain,
        "hook": lambda: hook(("logprob", "entropy", "self_certainty")),
        "hook+topk": lambda: hook(("logprob", "entropy", "self_certainty", "topk_logprobs")),
        "second_forward": second_forward,
    }
    import datetime
    import os
    import platform

    print(
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"load average before {os.getloadavg()[0]:.1f}"
    )
    print(f"batch: {args.prompts} add1 prompts x {args.n} samples, <= {args.max_new_tokens} new tokens, {args.model}")
    plain()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in variants}
    for rep in range(args.reps):
        order = list(variants) if rep % 2 == 0 else list(reversed(variants))
        for name in order:
            t0 = time.perf_counter()
            variants[name]()
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["none"])
    print(f"| variant | median s ({args.reps} reps) | all reps s | overhead vs none |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.2f} | {', '.join(f'{t:.2f}' for t in ts)} | {100 * (med / base - 1):+.1f} % |")
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
