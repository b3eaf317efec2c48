"""Two real GRPO steps on a tiny Qwen-VL with TRL's GRPOTrainer and the ttrl-kit vote reward.

This drives TRL directly (images through generation and through the log-prob pass are TRL's
own VLM path) with a reward written only against the core's public API: group completions by
prompt id, score each whole group with GroupScorer.  The embedded engine's own VLM test lives
with the engine (tests/multimodal/test_engine_vlm.py) when the engine supports it.
"""

import pytest
import torch

from ttrl_kit import GroupScorer, get_registry, group_indices
from ttrl_kit import split_images
from ttrl_kit.engines.embedded import tiny_vlm


def _dataset(task, n_prompts):
    from datasets import Dataset

    rows = get_registry().dataset_loader("visual_synth")("mixed", n=n_prompts, seed=0, inline=True, size=112)
    recs = []
    for r in rows:
        msgs, imgs = split_images(task.build_prompt(r))
        recs.append({"prompt": msgs, "images": imgs, "id": r["id"], "answer": r["answer"]})
    return Dataset.from_list(recs)


def _vote_reward(scorer, seen):
    def ttrl_vote(prompts, completions, id, answer, **kw):
        out = [0.0] * len(completions)
        for gid, idx in group_indices([str(x) for x in id]).items():
            texts = [c if isinstance(c, str) else c[-1]["content"] for c in (completions[i] for i in idx)]
            res = scorer.score(texts, gold=answer[idx[0]], id=gid)
            seen.append(res)
            for j, i in enumerate(idx):
                out[i] = float(res.rewards[j])
        return out
    return ttrl_vote


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen2.5-vl"])
def test_two_grpo_steps_change_language_and_vision_weights(tmp_path, family):
    from trl import GRPOConfig, GRPOTrainer

    reg = get_registry()
    task = reg.task("multimodal", prompt_style="short", max_pixels=16 * 784, number_task="none", choice_task="none")
    scorer = GroupScorer(task, reg.estimator("majority"))
    seen = []
    model, proc = tiny_vlm.tiny_model(family, seed=0)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                      max_completion_length=6, max_steps=2, use_cpu=True, bf16=False, beta=0.0, report_to=[],
                      logging_steps=1, learning_rate=1e-2, save_strategy="no", remove_unused_columns=False,
                      dataloader_num_workers=0, seed=0, disable_tqdm=True)
    trainer = GRPOTrainer(model=model, reward_funcs=_vote_reward(scorer, seen), args=args,
                          train_dataset=_dataset(task, 2), processing_class=proc)
    trainer.train()

    steps = [h for h in trainer.state.log_history if "grad_norm" in h]
    assert len(steps) == 2 and all(h["grad_norm"] > 0 for h in steps)
    # every reward call saw whole groups of 4, keyed by prompt id
    assert len(seen) >= 2 and all(len(r.answers) == 4 for r in seen)
    changed = [k for k, v in model.named_parameters() if not torch.equal(before[k], v)]
    assert any("visual" in k for k in changed), "the vision tower got no update: images did not reach the loss"
    assert any("visual" not in k for k in changed)
