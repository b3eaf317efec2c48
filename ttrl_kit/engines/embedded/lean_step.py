"""A lean GRPO update inside TRL's ``GRPOTrainer`` (the loss, clipping, advantages and
optimiser stay TRL's; only how the per-token log-probabilities are computed changes).

Why a subclass: on a CPU, TRL 1.16 cannot be configured to skip work nobody uses.

* Its fused LM head (``trl.trainer.utils.add_fused_lm_head``) scores only the completion
  positions where Triton runs; everywhere else it projects EVERY position of the padded
  batch (prompt and padding included) through the 49,152-wide vocabulary and upcasts the
  head's backward GEMMs to fp32.  On the demo's batch that is ~7,100 scored positions where
  ~2,500 are needed; the head's forward + backward was most of TRL's update time
  (``shared/notes/engine-speed.md``).  There is no option to force the compact path.
* TRL shuffles the generation batch before cutting it into micro-batches, so every
  micro-batch is padded to the longest completion of the whole batch.  Cutting a
  length-sorted batch instead keeps short completions together.  For the token-summed
  losses (``dapo``, ``dr_grpo``) and the per-sequence ``grpo`` loss the gradient does not
  depend on how the batch is cut; for ``bnpo`` (normalised per micro-batch) any cut is one
  of the random cuts TRL would make anyway.

What :meth:`LeanGRPOTrainer._get_per_token_logps_and_entropies` does instead, per
micro-batch: drop the columns that are padding in every row, run the backbone once (with
the same absolute position ids TRL's forward would use, so the result does not depend on
RoPE being relative), apply the LM head in the autocast dtype to the completion positions
only, and take the log-softmax in fp32.  The entropy that TRL logs is computed from the same
compact logits without a graph (it is a metric here; with ``entropy_coef > 0`` it keeps its
graph).  Anything this path does not cover (images, an MoE aux loss, a model without a
backbone attribute or output embeddings) goes to TRL's own implementation unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from trl import GRPOConfig, GRPOTrainer
from trl.trainer.utils import split_tensor_dict


def _backbone_and_head(model: Any) -> tuple[Any, Any] | None:
    """The decoder stack and output projection of a causal LM (PEFT-wrapped or not)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone = getattr(base, getattr(base, "base_model_prefix", "") or "model", None)
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    if backbone is None or head is None:
        return None
    return backbone, head


def sort_by_length(batch: dict[str, Any]) -> dict[str, Any]:
    """The generation batch reordered by real (prompt + completion) length, every per-sample
    field permuted in unison (TRL's ``shuffle_sequence_dict`` with a sort instead of a shuffle)."""
    lengths = batch["prompt_mask"].sum(1) + batch["completion_mask"].sum(1)
    order = torch.argsort(lengths, stable=True)

    def permute(v: Any) -> Any:
        if v is None or (isinstance(v, torch.Tensor) and v.ndim == 0):
            return v
        if isinstance(v, torch.Tensor):
            return v[order.to(v.device)]
        if isinstance(v, (list, tuple)):
            return [v[i] for i in order.tolist()]
        return v

    return {k: permute(v) for k, v in batch.items()}


def compact_logps(
    backbone: Any,
    head: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    logits_to_keep: int,
    *,
    temperature: float = 1.0,
    autocast: Callable[[], Any] | None = None,
    compute_entropy: bool = False,
    entropy_grad: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities (and entropies) of the last ``logits_to_keep`` tokens of each row,
    shaped ``(rows, logits_to_keep)`` with 0 where the attention mask is 0 -- the values TRL's
    fused head returns, computed only where a real completion token is predicted.
    ``autocast``: a factory of the context to run the model in (called once per use)."""
    rows, total = input_ids.shape
    first = total - logits_to_keep  # column of the first completion token
    live = attention_mask.bool().any(0).nonzero().flatten()
    lo, hi = int(live.min()), int(live.max()) + 1
    ids = input_ids[:, lo:hi]
    am = attention_mask[:, lo:hi]
    pos = torch.arange(lo, hi, device=ids.device).unsqueeze(0).expand(rows, -1)
    ctx = autocast if autocast is not None else contextlib.nullcontext
    with ctx():
        hidden = backbone(input_ids=ids, attention_mask=am, position_ids=pos, use_cache=False).last_hidden_state
    # hidden[:, c] predicts token column lo + c + 1; only completion columns (>= first) are scored.
    start = max(first - lo - 1, 0)
    hidden = hidden[:, start:-1]
    labels = ids[:, start + 1 :]
    mask = am[:, start + 1 :].bool()
    with ctx():
        logits = head(hidden[mask])
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    lse = torch.logsumexp(logits, dim=-1)
    lp = logits.gather(-1, labels[mask].unsqueeze(-1)).squeeze(-1) - lse
    ent = None
    if compute_entropy:
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            src = logits if entropy_grad else logits.detach()
            ent_flat = (lse if entropy_grad else lse.detach()) - (torch.softmax(src, -1) * src).sum(-1)
    left = max(lo + 1, first) - first  # output column of the first scored token
    right = logits_to_keep - left - labels.shape[1]

    def place(flat: torch.Tensor) -> torch.Tensor:
        full = flat.new_zeros(mask.shape).masked_scatter(mask, flat)
        return F.pad(full, (left, right))

    if compute_entropy:
        ent = place(ent_flat)
    return place(lp), ent


class LeanGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` whose per-token log-probabilities skip padding and prompt positions
    (see the module docstring for why this needs a subclass).  ``lean = False`` makes it
    TRL's stock trainer again, for side-by-side measurements and the gradient test."""

    lean: bool = True

    def _lean_applies(self, model: Any, compute_aux_loss: bool, extra: dict[str, Any]) -> tuple[Any, Any] | None:
        if not self.lean or compute_aux_loss or any(v is not None for v in extra.values()):
            return None
        return _backbone_and_head(self.accelerator.unwrap_model(model))

    def _get_per_token_logps_and_entropies(
        self,
        model,
        input_ids,
        attention_mask,
        logits_to_keep,
        batch_size=None,
        compute_entropy=False,
        compute_aux_loss=False,
        **extra,
    ):
        parts = self._lean_applies(model, compute_aux_loss, extra)
        if parts is None:
            return super()._get_per_token_logps_and_entropies(
                model,
                input_ids,
                attention_mask,
                logits_to_keep,
                batch_size=batch_size,
                compute_entropy=compute_entropy,
                compute_aux_loss=compute_aux_loss,
                **extra,
            )
        backbone, head = parts
        entropy_grad = float(getattr(self.args, "entropy_coef", 0.0) or 0.0) != 0.0
        batch_size = batch_size or input_ids.size(0)
        logps, ents = [], []
        for s in range(0, input_ids.size(0), batch_size):
            lp, ent = compact_logps(
                backbone,
                head,
                input_ids[s : s + batch_size],
                attention_mask[s : s + batch_size],
                logits_to_keep,
                temperature=self.temperature,
                autocast=self.accelerator.autocast,
                compute_entropy=compute_entropy,
                entropy_grad=entropy_grad,
            )
            logps.append(lp)
            if ent is not None:
                ents.append(ent)
        return torch.cat(logps, 0), (torch.cat(ents, 0) if compute_entropy else None), None

    def _prepare_inputs(self, generation_batch: Any) -> Any:
        """TRL's buffering of one generation batch into micro-batches, cut from a length-sorted
        batch instead of a shuffled one (text-only batches; anything else is TRL's path)."""
        if not (self.lean and self.model is not None and self.model.training):
            return super()._prepare_inputs(generation_batch)
        steps = int(cast("GRPOConfig", self.args).steps_per_generation or 1)  # GRPOConfig fills it in
        every = steps * self.num_iterations
        if self._step % every == 0 or self._buffered_inputs is None:
            batch = self._generate_and_score_completions(generation_batch)
            if batch.get("pixel_values") is not None:  # images: TRL's own order of operations
                from trl.trainer.grpo_trainer import split_pixel_values_by_grid, unsplit_pixel_values_by_grid
                from trl.trainer.utils import shuffle_sequence_dict

                shuffled: Any = shuffle_sequence_dict(cast(Any, split_pixel_values_by_grid(batch)))
                buffered: Any = [unsplit_pixel_values_by_grid(cast(Any, b)) for b in split_tensor_dict(shuffled, steps)]
            else:
                buffered = split_tensor_dict(sort_by_length(batch), steps)
            self._buffered_inputs = buffered
        return cast(Any, self._buffered_inputs)[self._step % steps]

    #: Sample with a bf16 copy of the policy and inverse-CDF sampling (fast_generate.py);
    #: False = TRL's ``generate`` call on the trained model itself.
    fast_generation: bool = False
    generation_dtype: str = "bf16"
    static_cache: bool = False
    _gen_copy: Any = None

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        """TRL's plain-transformers branch with :mod:`fast_generate` (text prompts only; vLLM,
        continuous batching, images and tools keep TRL's path)."""
        plain = not (self.use_vllm or getattr(self, "use_transformers_continuous_batching", False))
        if not (self.fast_generation and plain and images is None and not multimodal_fields):
            return super()._generate_single_turn(
                prompt_ids, images, multimodal_fields, num_generations, has_tool_images=has_tool_images
            )
        from trl.trainer.utils import pad

        from ttrl_kit.engines.embedded.fast_generate import GenerationCopy, generate_ids

        device = self.accelerator.device
        tensors = [torch.tensor(ids) for ids in prompt_ids]
        input_ids = pad(tensors, padding_value=self._tokenizer.pad_token_id, padding_side="left").to(device)
        attention_mask = pad([torch.ones_like(t) for t in tensors], padding_value=0, padding_side="left").to(device)
        if self._gen_copy is None:
            self._gen_copy = GenerationCopy(self.generation_dtype)
        policy = self.accelerator.unwrap_model(self.model)
        gen_model = self._gen_copy.get(policy, self.state.global_step)
        # per-token signals (signals.py) hook the policy's generate; sampling from a copy must be captured too
        capture = getattr(self, "signal_capture", None)
        with capture.on(gen_model) if capture is not None and gen_model is not policy else contextlib.nullcontext():
            out = generate_ids(
                gen_model,
                input_ids,
                attention_mask,
                temperature=self.temperature,
                top_p=self.top_p,
                top_k=self.top_k or 0,
                max_new_tokens=int(self.max_completion_length or 0),
                pad_token_id=self._tokenizer.pad_token_id,
                eos_token_id=self.eos_token_ids,
                static_cache=self.static_cache,
            )
        eos = torch.tensor(self.eos_token_ids, device=out.device)
        completion_ids = []
        for row in out.cpu():
            hits = torch.isin(row, eos.cpu()).nonzero()
            end = int(hits[0]) + 1 if len(hits) else row.numel()  # keep the first eos, as TRL does
            completion_ids.append(row[:end].tolist())
        return completion_ids, None
