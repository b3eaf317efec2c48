"""avg@k / maj@k / pass@k of a model on prepared questions (gold labels required).

Used for the before/after summary of ``train`` and by ``ttrl-kit eval``.  Sampling is the
engine's one loop (generate.py: text and image-text models) with the same chat template and
sampling settings as training, so the numbers describe the policy that was trained.  Answers are read and grouped by the same
:class:`GroupScorer` that voted during training: maj@k here is exactly the vote TTRL used.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ttrl_kit.core.records import GroupResult
from ttrl_kit.core.scoring import GroupScorer, group_gold, summarise
from ttrl_kit.engines.embedded.data import PreparedRow
from ttrl_kit.engines.embedded.generate import sample


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
        from ttrl_kit.engines.embedded.models import independent_copy

        model = independent_copy(model).to(torch.bfloat16)  # not copy.deepcopy (see independent_copy)
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
