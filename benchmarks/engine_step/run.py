"""The embedded engine's step against the hardware, on ONE batch in ONE process.

    .venv/bin/python benchmarks/engine_step/run.py [--threads 2] [--reps 2] [--out FILE.md]

What it measures, all on the demo's shape (configs/demo/ttrl_add1.yaml: 8 prompts x 8
samples of SmolLM2-135M, up to 64 new tokens) and side by side:

* generation of the step's 64 samples: plain HF ``generate`` as the engine used to call it
  (fp32 weights under autocast, ``torch.multinomial``), a bf16 copy with ``multinomial``,
  a bf16 copy with inverse-CDF sampling (``fast_generate``, the engine's default), and the
  same with a static KV cache;
* the update of the batch sampled by the default generator (advantages from the engine's own
  majority vote): TRL's ``GRPOTrainer`` as the engine configured it before (``train.update:
  trl``, SDPA attention), the engine now (``train.update: lean``, eager attention), and a
  lean plain-torch GRPO/DAPO update (bf16 weights with an fp32 master copy, eager attention,
  LM head on completion positions only, length-sorted micro-batches, AdamW);
* a bf16 matmul probe, the physical reference.

Tokens/s counts real (non-padding) prompt + completion tokens of the batch; TFLOP/s is the
useful work (6 x non-embedding parameters per real token + 6 x LM-head size per completion
token) divided by the time, so every update variant is scored on the same work.
Prints a Markdown table; ``--out`` also writes it.  Never run it from tests: timings.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ttrl_kit.engines.embedded import models  # noqa: E402
from ttrl_kit.engines.embedded.engine import prepare_run  # noqa: E402
from ttrl_kit.engines.embedded.fast_generate import GenerationCopy, InverseCdfSampler, generate_ids  # noqa: E402
from ttrl_kit.engines.embedded.lean_step import compact_logps, sort_by_length  # noqa: E402
from ttrl_kit.engines.embedded.trainer import set_attention  # noqa: E402

DEMO = REPO / "configs" / "demo" / "ttrl_add1.yaml"
LEAN_LOOP = "lean plain-torch update (bf16 weights + fp32 master, eager, compact head, sorted micro-batches)"


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def first_eos_cut(gen: torch.Tensor, eos: int) -> list[list[int]]:
    rows = []
    for r in gen.tolist():
        rows.append(r[: r.index(eos) + 1] if eos in r else r)
    return rows


def cut_to_mean(rows: list[list[int]], mean: float) -> list[list[int]]:
    """The same completions, each cut to at most ``c`` tokens, ``c`` chosen so that the mean
    length comes closest to ``mean``: a batch of the same prompts and samples with the
    completion length of a later training step (issue 15's check reads each step's mean
    ``completion_length``; from step 2 the demo's answers are about half as long)."""
    longest = max((len(r) for r in rows), default=0)
    best = min(range(1, longest + 1), key=lambda c: abs(sum(min(len(r), c) for r in rows) / len(rows) - mean))
    return [r[:best] for r in rows]


# ---------------------------------------------------------------- generation

def bench_generation(model: Any, tok: Any, enc: dict[str, torch.Tensor], n: int, g: Any, reps: int,
                     static: bool = False) -> tuple[list[dict], list[list[int]]]:
    eos, pad = tok.eos_token_id, tok.pad_token_id
    bf16 = GenerationCopy("bf16").get(model, 0)
    results = []
    kept: list[list[int]] = []

    def hf(m: Any, autocast: bool) -> torch.Tensor:
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else torch.autocast("cpu", enabled=False)
        with torch.no_grad(), ctx:
            out = m.generate(**enc, do_sample=True, temperature=g.temperature, top_p=g.top_p, top_k=None,
                             max_new_tokens=g.max_completion_length, num_return_sequences=n,
                             pad_token_id=pad, eos_token_id=eos)
        return out[:, enc["input_ids"].shape[1]:]

    def fast(static: bool) -> torch.Tensor:
        return generate_ids(bf16, enc["input_ids"], enc["attention_mask"], n=n, temperature=g.temperature,
                            top_p=g.top_p, top_k=g.top_k, max_new_tokens=g.max_completion_length,
                            pad_token_id=pad, eos_token_id=eos, static_cache=static)

    variants = [
        ("HF generate, fp32 weights + autocast, multinomial (engine before)", lambda: hf(model, True)),
        ("HF generate, bf16 copy, multinomial", lambda: hf(bf16, False)),
        ("bf16 copy + inverse-CDF sampling (engine now)", lambda: fast(False)),
    ]
    if static:  # not yet measured to completion here, see results/engine_step.md
        variants.append(("bf16 copy + inverse-CDF + static KV cache", lambda: fast(True)))
    for name, fn in variants:
        torch.manual_seed(0)
        sec, gen = timed(fn, reps)
        rows = first_eos_cut(gen, eos)
        toks = sum(len(r) for r in rows)
        results.append({"variant": name, "s": sec, "tokens": toks, "steps": gen.shape[1],
                        "tok_s": toks / sec, "ms_step": 1000 * sec / max(gen.shape[1], 1)})
        print(f"# generation: {name}: {sec:.2f} s, {toks} tokens", flush=True)
        if name.endswith("(engine now)"):
            kept = rows
    return results, kept


def decode_variants(model: Any, tok: Any, enc: dict[str, torch.Tensor], n: int, g: Any, reps: int,
                    compile_forward: bool) -> list[dict]:
    """The engine's sampler (bf16 copy, inverse-CDF) with a dynamic KV cache (the engine now),
    a static KV cache, and a static cache with the decode forward compiled (HF's
    ``CompileConfig``; on a CPU it must be asked for), repetitions interleaved A B C A B C.
    The compiled variant's first call (which compiles) is timed apart.  Correctness: the share
    of rows identical to the engine's with the same seed (bf16 kernels may round differently)."""
    from transformers import GenerationConfig, LogitsProcessorList
    from transformers.generation.configuration_utils import CompileConfig

    eos, pad = tok.eos_token_id, tok.pad_token_id
    bf16 = GenerationCopy("bf16").get(model, 0)
    ids = enc["input_ids"].repeat_interleave(n, 0)
    am = enc["attention_mask"].repeat_interleave(n, 0)

    def run(static: bool, compiled: bool) -> torch.Tensor:
        gc = GenerationConfig(do_sample=False, max_new_tokens=g.max_completion_length, pad_token_id=pad,
                              eos_token_id=eos, num_beams=1, cache_implementation="static" if static else None,
                              disable_compile=not compiled)
        if compiled:
            gc.compile_config = CompileConfig(fullgraph=False, dynamic=False)
            gc.compile_config._compile_all_devices = True  # HF compiles on GPUs only unless told
        sampler = InverseCdfSampler(temperature=g.temperature, top_k=g.top_k, top_p=g.top_p)
        torch.manual_seed(0)
        with torch.no_grad():
            out = bf16.generate(input_ids=ids, attention_mask=am, generation_config=gc,
                                logits_processor=LogitsProcessorList([sampler]))
        return out[:, ids.shape[1]:]

    variants: list[tuple[str, Callable[[], torch.Tensor]]] = [
        ("bf16 copy + inverse-CDF, dynamic KV cache (engine now)", lambda: run(False, False)),
        ("same + static KV cache", lambda: run(True, False)),
    ]
    first: dict[str, float] = {}
    if compile_forward:
        variants.append(("same + static KV cache + compiled decode forward", lambda: run(True, True)))
        t0 = time.perf_counter()
        run(True, True)
        first[variants[-1][0]] = time.perf_counter() - t0
        print(f"# decode: compile + first call {first[variants[-1][0]]:.1f} s", flush=True)
    times: dict[str, list[float]] = {name: [] for name, _ in variants}
    outs: dict[str, torch.Tensor] = {}
    for _ in range(reps):
        for name, fn in variants:
            t0 = time.perf_counter()
            outs[name] = fn()
            times[name].append(time.perf_counter() - t0)
            print(f"# decode rep: {name}: {times[name][-1]:.2f} s", flush=True)
    ref = first_eos_cut(outs[variants[0][0]], eos)
    rows = []
    for name, _ in variants:
        cut = first_eos_cut(outs[name], eos)
        toks = sum(len(r) for r in cut)
        sec = statistics.median(times[name])
        rows.append({"variant": name, "s": sec, "reps": times[name], "tok_s": toks / sec,
                     "same_rows": sum(a == b for a, b in zip(cut, ref)) / len(ref), "first_s": first.get(name)})
    return rows


def multinomial_vs_inverse_cdf(rows: int, vocab: int, reps: int = 20) -> tuple[float, float]:
    scores = torch.randn(rows, vocab)
    s = InverseCdfSampler(temperature=0.8)

    def mult() -> Any:
        return torch.multinomial(torch.softmax(scores / 0.8, -1), 1)

    a, _ = timed(mult, reps)
    b, _ = timed(lambda: s(None, scores), reps)  # type: ignore[arg-type]
    return a * 1000, b * 1000


# ---------------------------------------------------------------- the batch

def build_batch(tok: Any, enc: dict[str, torch.Tensor], n: int, completions: list[list[int]], advantages: torch.Tensor) -> dict[str, Any]:
    pad = tok.pad_token_id
    prompt_ids = enc["input_ids"].repeat_interleave(n, 0)
    prompt_mask = enc["attention_mask"].repeat_interleave(n, 0)
    width = max(len(c) for c in completions)
    completion_ids = torch.full((len(completions), width), pad, dtype=torch.long)
    completion_mask = torch.zeros((len(completions), width), dtype=torch.long)
    for i, c in enumerate(completions):
        completion_ids[i, : len(c)] = torch.tensor(c)
        completion_mask[i, : len(c)] = 1
    return {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
            "completion_mask": completion_mask, "advantages": advantages,
            "num_items_in_batch": completion_mask.sum().float(), "old_per_token_logps": None}


def shuffled_split(batch: dict[str, Any], k: int, seed: int = 0) -> list[dict[str, Any]]:
    from trl.trainer.utils import shuffle_sequence_dict, split_tensor_dict

    torch.manual_seed(seed)
    return split_tensor_dict(shuffle_sequence_dict(batch), k)


def sorted_split(batch: dict[str, Any], k: int) -> list[dict[str, Any]]:
    from trl.trainer.utils import split_tensor_dict

    return split_tensor_dict(sort_by_length(batch), k)


# ---------------------------------------------------------------- updates

def engine_update(cfg: Any, loaded: Any, p: Any, batch: dict[str, Any], mode: str, attention: str, reps: int,
                  bf16_weights: bool = False) -> float:
    """Median seconds of :func:`make_engine_step`'s step over ``reps`` repetitions."""
    step, cleanup = make_engine_step(cfg, loaded, p, batch, mode, attention, bf16_weights)
    try:
        return timed(step, reps)[0]
    finally:
        cleanup()


def make_engine_step(cfg: Any, loaded: Any, p: Any, batch: dict[str, Any], mode: str, attention: str,
                     bf16_weights: bool = False, micro: int | None = None) -> tuple[Callable[[], None], Callable[[], None]]:
    """One optimizer step of the engine's TRL trainer on ``batch`` (its micro-batches, its
    compute_loss and backward, its optimizer), and a cleanup.  ``micro``: micro-batch size
    (None: ``train.micro_batch_size`` as the engine resolves it)."""
    from ttrl_kit.engines.embedded.data import to_trl_dataset
    from ttrl_kit.engines.embedded.trainer import build_trainer

    train = dataclasses.replace(cfg.train, update=mode, bf16_weights=bf16_weights)
    if micro is not None:
        train = dataclasses.replace(train, micro_batch_size=micro)
    c = dataclasses.replace(  # the run config is frozen
        cfg, train=train, model=dataclasses.replace(cfg.model, attention=attention)
    )
    model = copy.deepcopy(loaded.model)
    lm = models.LoadedModel(model=model, tokenizer=loaded.tokenizer, source=loaded.source)
    tmp = tempfile.TemporaryDirectory()
    trainer, _, _ = build_trainer(c, lm, to_trl_dataset(p.train_rows), p.scorer, Path(tmp.name) / "ckpt",
                                  Path(tmp.name) / "metrics.jsonl")
    trainer.create_optimizer_and_scheduler(num_training_steps=10)
    trainer.model.train()
    steps = trainer.args.steps_per_generation
    trainer.current_gradient_accumulation_steps = trainer.args.gradient_accumulation_steps
    mbs = sorted_split(batch, steps) if mode == "lean" else shuffled_split(batch, steps)

    def step() -> None:
        for mb in mbs:
            with trainer.compute_loss_context_manager():
                loss = trainer.compute_loss(trainer.model, mb)
            trainer.accelerator.backward(loss)
        torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), c.train.max_grad_norm)
        trainer.optimizer.step()
        trainer.optimizer.zero_grad(set_to_none=True)

    return step, tmp.cleanup


def lean_torch_update(loaded: Any, batch: dict[str, Any], micro: int, temperature: float, lr: float, reps: int) -> float:
    return timed(make_lean_torch_step(loaded, batch, micro, temperature, lr), reps)[0]


def make_lean_torch_step(loaded: Any, batch: dict[str, Any], micro: int, temperature: float,
                         lr: float) -> Callable[[], None]:
    """The lean plain-torch GRPO/DAPO update: bf16 weights for forward/backward, fp32 master
    weights in AdamW, eager attention, LM head on completion tokens only, sorted micro-batches."""
    master = copy.deepcopy(loaded.model).float()
    work = copy.deepcopy(loaded.model).to(torch.bfloat16)
    work.set_attn_implementation("eager")
    work.train()
    opt = torch.optim.AdamW(master.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=0.0)
    mbs = sorted_split(batch, batch["prompt_ids"].shape[0] // micro)
    total = batch["completion_mask"].sum().clamp(min=1)
    m_params, w_params = list(master.parameters()), list(work.parameters())

    def step() -> None:
        for mb in mbs:
            ids = torch.cat([mb["prompt_ids"], mb["completion_ids"]], 1)
            am = torch.cat([mb["prompt_mask"], mb["completion_mask"]], 1)
            lp, _ = compact_logps(work.model, work.lm_head, ids, am, mb["completion_ids"].shape[1],
                                  temperature=temperature)
            # one update per batch: ratio 1, the clipped DAPO loss is -A * logp summed over tokens / all tokens
            loss = -(lp * mb["advantages"].unsqueeze(1) * mb["completion_mask"]).sum() / total
            loss.backward()
        for m, w in zip(m_params, w_params):
            m.grad = None if w.grad is None else w.grad.float()
            w.grad = None
        torch.nn.utils.clip_grad_norm_(m_params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for m, w in zip(m_params, w_params):
                w.copy_(m)

    return step


def interleaved(runs: list[tuple[str, Callable[[], Any]]], reps: int) -> list[tuple[str, float]]:
    """Median seconds per run, repetitions interleaved A B C A B C so a load change hits each alike."""
    times: dict[str, list[float]] = {name: [] for name, _ in runs}
    for _ in range(reps):
        for name, fn in runs:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            print(f"# rep: {name}: {times[name][-1]:.2f} s", flush=True)
    return [(name, statistics.median(times[name])) for name, _ in runs]


def matmul_probe(reps: int = 5) -> list[dict]:
    out = []
    for m, k, n in ((2048, 576, 1536), (1024, 1024, 1024), (640, 576, 49152)):
        a = torch.randn(m, k, dtype=torch.bfloat16)
        b = torch.randn(k, n, dtype=torch.bfloat16)
        torch.mm(a, b)
        inner = 10

        def run() -> None:
            for _ in range(inner):
                torch.mm(a, b)

        sec, _ = timed(run, reps)
        out.append({"shape": f"{m}x{k} @ {k}x{n}", "tflops": 2 * m * k * n * inner / sec / 1e12})
    return out


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--skip-generation", action="store_true")
    ap.add_argument("--skip-trl", action="store_true", help="skip the slow stock-TRL update")
    ap.add_argument("--static-cache", action="store_true", help="also time a static KV cache (slow on CPU here)")
    ap.add_argument("--interleave", action="store_true",
                    help="only the engine (bf16 weights, demo config, SDPA) and the lean loop, repetitions "
                         "interleaved A B C A B C so a change in load hits each alike")
    ap.add_argument("--micro-batches", default="",
                    help="comma-separated micro-batch sizes: time the engine's update (demo config) at each, "
                         "interleaved (e.g. 8,16,64); only these updates and the lean loop are timed")
    ap.add_argument("--decode", action="store_true",
                    help="only generation: the engine's sampler with a dynamic vs a static KV cache, interleaved")
    ap.add_argument("--compile", action="store_true", help="with --decode: also a compiled decode forward")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a field of the demo config, as `ttrl-kit train --set` (a small test)")
    ap.add_argument("--completion-mean", type=float, default=None,
                    help="cut the sampled completions to this mean length (a later step's shape; see cut_to_mean)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--json", type=Path, help="also write the numbers as JSON (idle_check.sh reads it)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()

    from ttrl_kit.cli.cmd_train import apply_overrides
    from ttrl_kit.core.io import load_mapping
    from ttrl_kit.engines.embedded.config import from_mapping

    cfg = from_mapping(apply_overrides(load_mapping(DEMO), args.set, str(DEMO)), str(DEMO))
    p = prepare_run(cfg)
    loaded = models.load_model(cfg.model.name, seed=cfg.train.seed)
    set_attention(loaded.model, cfg.model.attention)  # what the engine samples with
    tok, g, n = loaded.tokenizer, cfg.generation, cfg.ttrl.n_train
    rows = p.train_rows[: cfg.train.prompts_per_step]
    texts = [tok.apply_chat_template(r.prompt, add_generation_prompt=True, tokenize=False) for r in rows]
    enc = dict(tok(texts, return_tensors="pt", padding=True, add_special_tokens=False))

    lines = []
    gen_rows: list[dict] = []
    if args.decode:
        dec = decode_variants(loaded.model, tok, enc, n, g, args.reps, args.compile)
        load_end = os.getloadavg()
        lines.append(f"Date: {started:%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
                     f"torch {torch.__version__}, {args.threads} torch threads. Load average (1 min) at start "
                     f"{load_start[0]:.2f}, at end {load_end[0]:.2f}. Medians of {args.reps} interleaved repetitions.")
        sets = "".join(f" --set {kv}" for kv in args.set)
        lines += ["", f"Command: `.venv/bin/python benchmarks/engine_step/run.py --decode --threads {args.threads} "
                  f"--reps {args.reps}{' --compile' if args.compile else ''}{sets}`", "",
                  f"{len(rows)} prompts x {n} samples, up to {g.max_completion_length} new tokens, seed 0.", "",
                  "| generation of the step's samples | median s | repetitions s | completion tok/s "
                  "| rows identical to the engine's | compile + first call s |", "|---|---|---|---|---|---|"]
        for r in dec:
            first = "" if r["first_s"] is None else f"{r['first_s']:.1f}"
            reps_s = " / ".join(f"{x:.1f}" for x in r["reps"])
            lines.append(f"| {r['variant']} | {r['s']:.2f} | {reps_s} | {r['tok_s']:.0f} | {r['same_rows']:.2f} | {first} |")
        text = "\n".join(lines) + "\n"
        print(text)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        return
    if not args.skip_generation and not args.micro_batches:
        gen_rows, completions = bench_generation(loaded.model, tok, enc, n, g, args.reps, args.static_cache)
    else:
        torch.manual_seed(0)
        bf16 = GenerationCopy("bf16").get(loaded.model, 0)
        gen = generate_ids(bf16, enc["input_ids"], enc["attention_mask"], n=n, temperature=g.temperature,
                           max_new_tokens=g.max_completion_length, pad_token_id=tok.pad_token_id,
                           eos_token_id=tok.eos_token_id)
        completions = first_eos_cut(gen, tok.eos_token_id)
    if args.completion_mean is not None:
        completions = cut_to_mean(completions, args.completion_mean)
    mult_ms, icdf_ms = multinomial_vs_inverse_cdf(len(completions), len(tok))

    # advantages from the engine's own vote (label-free), per group of n
    texts_out = tok.batch_decode([c for c in completions], skip_special_tokens=True)
    adv = []
    for i, r in enumerate(rows):
        res = p.scorer.score(texts_out[i * n:(i + 1) * n], id=r.id)
        rew = torch.tensor([float(x) for x in res.estimate.rewards])
        adv.append((rew - rew.mean()) / (rew.std() + 1e-4))
    batch = build_batch(tok, enc, n, completions, torch.cat(adv))

    real = int(batch["prompt_mask"].sum() + batch["completion_mask"].sum())
    comp = int(batch["completion_mask"].sum())
    cfgm = loaded.model.config
    emb = cfgm.vocab_size * cfgm.hidden_size
    body = sum(x.numel() for x in loaded.model.parameters()) - emb
    flops = 6 * body * real + 6 * emb * comp
    from ttrl_kit.engines.embedded.memory import resolve_micro_batch

    from ttrl_kit.engines.embedded.data import check_prompt_lengths

    longest = check_prompt_lengths(p.train_rows, tok, cfg.generation.max_prompt_length, str(DEMO))
    micro_choice = resolve_micro_batch(cfg, loaded.model, longest)
    micro = micro_choice.size  # what the engine would use now
    print(f"# micro-batch: {micro_choice.describe()}", flush=True)
    micro_is_auto = micro_choice.auto
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, micro_batch_size=micro))  # every variant

    upd: list[tuple[str, float]] = []

    def add(item: tuple[str, float]) -> None:
        upd.append(item)
        print(f"# update: {item[0]}: {item[1]:.2f} s", flush=True)

    print(f"# batch: {len(completions)} samples, {real} real tokens, {comp} completion tokens", flush=True)
    if args.micro_batches:
        sizes = [micro if x.strip() == "auto" else int(x) for x in args.micro_batches.split(",") if x.strip()]
        sizes = list(dict.fromkeys(sizes))  # auto may equal a size also asked for
        runs = [(LEAN_LOOP, make_lean_torch_step(loaded, batch, micro, g.temperature, cfg.train.learning_rate))]
        for m in sizes:
            tag = " = auto here" if m == micro and micro_is_auto else ""
            runs.append((f"engine (demo config), micro-batch {m}{tag} ({len(completions) // m} passes)",
                         make_engine_step(cfg, loaded, p, batch, "lean", cfg.model.attention, False, m)[0]))
        for item in interleaved(runs, args.reps):
            add(item)
    elif args.interleave:
        runs = [
            ("engine: update lean, eager attention, bf16 weights + fp32 master",
             make_engine_step(cfg, loaded, p, batch, "lean", "eager", True)[0]),
            (LEAN_LOOP, make_lean_torch_step(loaded, batch, micro, g.temperature, cfg.train.learning_rate)),
            ("engine: update lean, eager attention, fp32 weights + bf16 autocast (demo config)",
             make_engine_step(cfg, loaded, p, batch, "lean", "eager", False)[0]),
            ("engine: update lean, SDPA attention, bf16 weights + fp32 master",
             make_engine_step(cfg, loaded, p, batch, "lean", "sdpa", True)[0]),
        ]
        for item in interleaved(runs, args.reps):
            add(item)
    else:
        add(("engine: update lean, eager attention, bf16 weights + fp32 master",
             engine_update(cfg, loaded, p, batch, "lean", "eager", args.reps, bf16_weights=True)))
        add((LEAN_LOOP, lean_torch_update(loaded, batch, micro, g.temperature, cfg.train.learning_rate, args.reps)))
        add(("engine: update lean, eager attention, fp32 weights + bf16 autocast (demo config)",
             engine_update(cfg, loaded, p, batch, "lean", "eager", args.reps)))
        add(("engine: update lean, SDPA attention, fp32 weights + bf16 autocast",
             engine_update(cfg, loaded, p, batch, "lean", "sdpa", args.reps)))
        if not args.skip_trl:
            add(("TRL GRPOTrainer stock (update: trl, SDPA, fp32 weights + bf16 autocast: the engine before)",
                 engine_update(cfg, loaded, p, batch, "trl", "sdpa", args.reps)))
    probe = matmul_probe()
    load_end = os.getloadavg()

    lines.append(f"Date: {started:%Y-%m-%d %H:%M} UTC. Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
                 f"torch {torch.__version__}, {args.threads} torch threads. Load average (1 min) at start "
                 f"{load_start[0]:.2f}, at end {load_end[0]:.2f}. Medians of {args.reps} repetitions.")
    lines.append("")
    flags = " ".join(f for f, on in (("--skip-generation", args.skip_generation), ("--skip-trl", args.skip_trl),
                                      ("--interleave", args.interleave),
                                      (f"--completion-mean {args.completion_mean}", args.completion_mean is not None),
                                      (f"--micro-batches {args.micro_batches}", bool(args.micro_batches))) if on)
    flags += "".join(f" --set {kv}" for kv in args.set)
    lines.append(f"Command: `.venv/bin/python benchmarks/engine_step/run.py --threads {args.threads} "
                 f"--reps {args.reps} {flags}`")
    lines.append("")
    lines.append(f"Batch: {len(completions)} samples ({len(rows)} prompts x {n}), {real} real tokens "
                 f"({comp} completion tokens, mean completion {comp / len(completions):.1f}), "
                 f"micro-batch {micro_choice.describe()}; useful work {flops / 1e12:.2f} TFLOP per update.")
    lines.append("")
    if gen_rows:
        lines += ["| generation of the step's samples | s | completion tok/s | decode steps | ms / step |",
                  "|---|---|---|---|---|"]
        for r in gen_rows:
            lines.append(f"| {r['variant']} | {r['s']:.2f} | {r['tok_s']:.0f} | {r['steps']} | {r['ms_step']:.0f} |")
        lines.append("")
    lines.append(f"Sampling one token for {len(completions)} rows over {len(tok)} logits: torch.multinomial "
                 f"{mult_ms:.1f} ms, inverse-CDF {icdf_ms:.1f} ms.")
    lines.append("")
    lean_s = dict(upd)[LEAN_LOOP]
    lines += ["| update of the same batch | s | tokens/s | ms / completion token | TFLOP/s (useful) | x lean loop |",
              "|---|---|---|---|---|---|"]
    for name, sec in upd:
        lines.append(f"| {name} | {sec:.2f} | {real / sec:.0f} | {1000 * sec / comp:.1f} | {flops / sec / 1e12:.3f} "
                     f"| {sec / lean_s:.2f} |")
    for pr in probe:
        lines.append(f"| bf16 matmul probe {pr['shape']} | | | | {pr['tflops']:.3f} | |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.json:
        import json

        args.json.write_text(json.dumps({
            "threads": args.threads, "load_start": load_start[0], "load_end": load_end[0],
            "samples": len(completions), "real_tokens": real, "completion_tokens": comp, "micro_batch": micro,
            "lean_loop_s": lean_s, "lean_loop_ms_per_completion_token": 1000 * lean_s / comp,
            "updates_s": dict(upd), "probe_tflops": {pr["shape"]: pr["tflops"] for pr in probe},
        }, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
