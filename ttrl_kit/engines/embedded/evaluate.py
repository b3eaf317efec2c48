"""avg@k / maj@k / pass@k of a model on prepared questions (gold labels required).

Used for the before/after summary of ``train`` and by ``ttrl-kit eval``.  Sampling uses
HF ``generate`` with the same chat template and sampling settings as training, so the
numbers describe the policy that was trained.  Answers are read and grouped by the same
:class:`GroupScorer` that voted during training: maj@k here is exactly the vote TTRL used.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ttrl_kit.core.records import GroupResult
from ttrl_kit.core.scoring import GroupScorer, group_gold, summarise
from ttrl_kit.engines.embedded import vision
from ttrl_kit.engines.embedded.data import PreparedRow


@dataclass
class QuestionResult:
    id: str
    gold: str | None
    answers: list[str | None]
    correct: list[bool]
    majority: str | None
    maj_correct: bool
    mean_length: float


@dataclass
class EvalResult:
    k: int
    n_questions: int
    avg_at_k: float
    maj_at_k: float
    pass_at_k: float
    mean_length: float
    seconds: float
    questions: list[QuestionResult] = field(default_factory=list)

    def headline(self) -> dict[str, float]:
        return {
            "pass@1 (avg@k)": self.avg_at_k,
            f"maj@{self.k}": self.maj_at_k,
            f"pass@{self.k}": self.pass_at_k,
        }

    def to_dict(self, with_questions: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not with_questions:
            d.pop("questions")
        return d


def _autocast(dtype: str) -> Any:
    import torch

    if dtype == "bf16":  # fp32 weights, bf16 compute ("bf16-weights": the model is already bf16)
        return torch.autocast("cpu" if not torch.cuda.is_available() else "cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def sample(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[list[dict[str, Any]]],
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

    ``fast``: inverse-CDF sampling through :func:`fast_generate.generate_ids` (same
    distribution, far cheaper per decode step than ``torch.multinomial`` on a CPU)."""
    import torch

    if vision.is_processor(tokenizer):  # image-text model: images go through the processor (vision.py)
        return vision.sample(
            model,
            tokenizer,
            prompts,
            n,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            max_new_tokens=max_new_tokens,
            dtype=dtype,
        )

    texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    device = next(model.parameters()).device
    enc = {k: v.to(device) for k, v in enc.items()}
    was_training = model.training
    model.eval()
    try:
        if fast:
            from ttrl_kit.engines.embedded.fast_generate import generate_ids

            with _autocast(dtype):
                gen = generate_ids(
                    model,
                    enc["input_ids"],
                    enc["attention_mask"],
                    n=n,
                    temperature=temperature,
                    top_p=top_p,
                    top_k=top_k,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                )
        else:
            with torch.no_grad(), _autocast(dtype):
                out = model.generate(
                    **enc,
                    do_sample=True,
                    temperature=temperature,
                    top_p=top_p,
                    top_k=top_k if top_k > 0 else None,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=n,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                )
            gen = out[:, enc["input_ids"].shape[1] :]
    finally:
        if was_training:
            model.train()
    eos = tokenizer.eos_token_id
    lengths = []
    for row in gen.tolist():
        # pad == eos for SmolLM2: the completion ends at the FIRST eos, not at the last non-pad.
        lengths.append(row.index(eos) + 1 if eos in row else len(row))
    decoded = tokenizer.batch_decode(gen, skip_special_tokens=True)
    texts_out = [decoded[i * n : (i + 1) * n] for i in range(len(prompts))]
    lens_out = [lengths[i * n : (i + 1) * n] for i in range(len(prompts))]
    return texts_out, lens_out


def evaluate(
    model: Any,
    tokenizer: Any,
    scorer: GroupScorer,
    rows: Sequence[PreparedRow],
    *,
    k: int = 16,
    temperature: float = 0.8,
    top_p: float = 1.0,
    top_k: int = 0,
    max_new_tokens: int = 64,
    batch_prompts: int = 8,
    dtype: str = "bf16",
    fast: bool = True,
    seed: int = 1234,
    desc: str = "eval",
    progress: bool = True,
) -> EvalResult:
    """Sample k answers per question and score them; only rows with a gold label count."""
    import torch
    from tqdm.auto import tqdm

    rows = [r for r in rows if r.gold is not None]
    if dtype == "bf16":
        # A bf16 copy generates faster than autocast over fp32 weights (which re-casts every
        # weight at every decode step); evaluation never needs the fp32 master weights.
        import copy

        model = copy.deepcopy(model).to(torch.bfloat16)
        dtype = "bf16-weights"
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    questions: list[QuestionResult] = []
    results: list[GroupResult] = []
    bar = tqdm(total=len(rows), desc=desc, unit="q", disable=not progress)
    for start in range(0, len(rows), batch_prompts):
        chunk = rows[start : start + batch_prompts]
        texts, lens = sample(
            model,
            tokenizer,
            [r.prompt for r in chunk],
            k,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            max_new_tokens=max_new_tokens,
            dtype=dtype,
            fast=fast,
        )
        for r, resp, ln in zip(chunk, texts, lens):
            res = scorer.score(resp, gold=r.gold, id=r.id)
            results.append(res)
            gold = group_gold(res)
            assert gold is not None and res.sample_correct is not None  # rows without gold were dropped above
            maj = gold.majority_class
            questions.append(
                QuestionResult(
                    id=r.id,
                    gold=r.gold,
                    answers=list(res.answers),
                    correct=list(res.sample_correct),
                    majority=None if maj is None else res.classes.representatives[maj],
                    maj_correct=bool(gold.maj_at_k),
                    mean_length=sum(ln) / len(ln),
                )
            )
        bar.update(len(chunk))
    bar.close()
    n = len(questions)
    summary = summarise(results)  # the same avg@k / maj@k / pass@k as training, the bench and `vote`
    mlen = sum(q.mean_length for q in questions) / n if n else 0.0
    return EvalResult(
        k=k,
        n_questions=n,
        avg_at_k=summary.get("avg_at_k", 0.0),
        maj_at_k=summary.get("maj_at_k", 0.0),
        pass_at_k=summary.get("pass_at_k", 0.0),
        mean_length=mlen,
        seconds=time.perf_counter() - t0,
        questions=questions,
    )
