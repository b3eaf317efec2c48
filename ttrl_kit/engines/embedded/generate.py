"""Sampling outside TRL's trainer: the one generate loop of the embedded engine.

Evaluation (avg@k / maj@k / pass@k), the extra votes when ``n_votes > n_train``, the bench's
rollouts and ``python -m ttrl_kit.engines.embedded.sample_groups`` all sample here, so a text
model and an image-text model go through the same code:

* the prompts are chat messages; a text tokenizer renders them with its chat template, an
  image-text *processor* (vision.py) also expands every image into its ``<|image_pad|>`` run
  and adds ``pixel_values`` / ``image_grid_thw``;
* vision marker tokens are suppressed (sampling one would desynchronise image tokens and
  features), and the inverse-CDF sampler (fast_generate.py) is used for text models only,
  since it feeds ``input_ids`` alone;
* a completion's length counts up to its FIRST eos (pad == eos for SmolLM2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ttrl_kit.engines.embedded import vision


def autocast(dtype: str) -> Any:
    """bf16 compute over fp32 weights for ``bf16``; nothing for ``fp32`` or a model whose
    weights are bf16 already (``bf16-weights``)."""
    import torch

    if dtype == "bf16":
        return torch.autocast("cpu" if not torch.cuda.is_available() else "cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def sample(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Sequence[dict[str, Any]]],
    n: int,
    *,
    temperature: float,
    top_p: float,
    top_k: int,
    max_new_tokens: int,
    dtype: str = "bf16",
    fast: bool = True,
) -> tuple[list[list[str]], list[list[int]]]:
    """``n`` sampled completions (texts and token lengths) per chat prompt, one generate call.

    ``tokenizer`` is the model's processing class: a tokenizer, or an image-text processor
    (then the prompts' images go through it).  ``fast``: inverse-CDF sampling through
    :func:`fast_generate.generate_ids` (same distribution, far cheaper per decode step than
    ``torch.multinomial`` on a CPU); text models only."""
    import torch

    suppress: list[int] = []
    if vision.is_processor(tokenizer):
        enc = vision.encode(tokenizer, prompts)
        suppress = vision.suppressed_tokens(tokenizer)
        tok = tokenizer.tokenizer
        fast = False  # the fast sampler feeds input_ids only, not the images
    else:
        texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        tok = tokenizer
    device = next(model.parameters()).device
    enc = {k: v.to(device) if hasattr(v, "to") else v for k, v in enc.items()}
    was_training = model.training
    model.eval()
    try:
        if fast:
            from ttrl_kit.engines.embedded.fast_generate import generate_ids

            with autocast(dtype):
                gen = generate_ids(
                    model,
                    enc["input_ids"],
                    enc["attention_mask"],
                    n=n,
                    temperature=temperature,
                    top_p=top_p,
                    top_k=top_k,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tok.pad_token_id,
                    eos_token_id=tok.eos_token_id,
                )
        else:
            extra: dict[str, Any] = {"suppress_tokens": suppress} if suppress else {}
            with torch.no_grad(), autocast(dtype):
                out = model.generate(
                    **enc,
                    do_sample=True,
                    temperature=temperature,
                    top_p=top_p,
                    top_k=top_k if top_k > 0 else None,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=n,
                    pad_token_id=tok.pad_token_id,
                    eos_token_id=tok.eos_token_id,
                    **extra,
                )
            gen = out[:, enc["input_ids"].shape[1] :]
    finally:
        if was_training:
            model.train()
    eos = tok.eos_token_id
    lengths = [row.index(eos) + 1 if eos in row else len(row) for row in gen.tolist()]
    decoded = tok.batch_decode(gen, skip_special_tokens=True)
    return (
        [decoded[i * n : (i + 1) * n] for i in range(len(prompts))],
        [lengths[i * n : (i + 1) * n] for i in range(len(prompts))],
    )
