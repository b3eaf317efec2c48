"""OpenRLHF 0.11.2's vision-language rollout path, driven with REAL OpenRLHF code on CPU.

Pieces that run for real: our exporter's JSONL -> OpenRLHF's ``preprocess_data`` (chat template
with image placeholders) -> OpenRLHF's ``SingleTurnAgentExecutor.execute`` (its VLM branch:
``process_prompt_with_images`` expands ``<|image_pad|>`` and builds ``mm_train_inputs``) -> an
engine whose ``generate`` is a tiny Qwen2.5-VL reading the ``multi_modal_data`` images (vLLM's
contract, played by HF ``generate`` because vLLM needs a GPU) -> ttrl-kit's OpenRLHF group hook
voting over the whole group.  Not run: Ray, vLLM, DeepSpeed, the actor's training forward.
"""

import asyncio
import json
from types import SimpleNamespace

import pytest
import torch

openrlhf = pytest.importorskip("openrlhf")

from ttrl_kit import get_registry  # noqa: E402
from ttrl_kit.engines.embedded import tiny_vlm, vision  # noqa: E402
from ttrl_multimodal.export import export_rows  # noqa: E402


class TinyVLMEngine:
    """``llm_engine.generate(prompt_token_ids, sampling_params, multi_modal_data)`` like vLLM's."""

    def __init__(self, model, proc):
        self.model, self.proc, self.seen_images = model, proc, []

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        images = (multi_modal_data or {}).get("image") or []
        self.seen_images.append(len(images))
        ids = torch.tensor([prompt_token_ids])
        kw = {}
        if images:
            kw = dict(self.proc.image_processor(images=images, return_tensors="pt"))
            pad = self.proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
            kw["mm_token_type_ids"] = (ids == pad).to(torch.int32)
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                      max_new_tokens=sampling_params.max_tokens,
                                      suppress_tokens=vision.suppressed_tokens(self.proc), **kw)
        new = out[0, ids.shape[1]:].tolist()
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=new, finish_reason="length", logprobs=None)])


def test_vlm_rollouts_through_openrlhf_and_the_group_hook(tmp_path):
    from openrlhf.datasets.prompts_dataset import preprocess_data
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    from ttrl_kit.engines.openrlhf.config import TTRLConfig
    from ttrl_kit.engines.openrlhf.group_hook import GroupRewarder

    reg = get_registry()
    task = reg.task("multimodal", prompt_style="short", max_pixels=16 * 784)
    rows = reg.dataset_loader("visual_synth")("count", n=2, seed=0, inline=True, size=112)
    path = export_rows(task, rows, tmp_path / "orl", datasource="visual_synth")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["prompt"][0]["content"][0] == {"type": "image"} and lines[0]["answer"] == rows[0]["answer"]

    model, proc = tiny_vlm.tiny_model("qwen2.5-vl", seed=0)
    engine = TinyVLMEngine(model, proc)
    executor = SingleTurnAgentExecutor()  # no remote reward: the group hook scores
    rewarder = GroupRewarder(TTRLConfig(task="multimodal", task_options={"prompt_style": "short"}))
    pad = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for line in lines:
        prompt, label = preprocess_data(line, input_key="prompt", label_key="answer",
                                        apply_chat_template=proc.apply_chat_template)
        assert "<|vision_start|><|image_pad|><|vision_end|>" in prompt  # one placeholder before expansion
        params = SimpleNamespace(max_tokens=6, logprobs=None)

        async def group():
            return await asyncio.gather(*[executor.execute(prompt, label, params, 512, proc, engine,
                                                           images=line["images"]) for _ in range(4)])

        responses = asyncio.run(group())
        for r in responses:
            mm = r["mm_train_inputs"]
            assert set(mm) >= {"pixel_values", "image_grid_thw"}
            n_pad = r["observation_tokens"].count(pad)
            assert n_pad == int(mm["image_grid_thw"].prod()) // 4  # expanded to one token per merged patch
        scored = rewarder.score_group(responses, proc.tokenizer, n_train=4)
        assert len(scored.kept) == 4 and all(k["reward"] in (0.0, 1.0) for k in scored.kept)
        assert all(k["mm_train_inputs"] is r["mm_train_inputs"] for k, r in zip(scored.kept, responses))
        assert scored.result.gold == line["answer"]
    assert engine.seen_images == [1] * 8  # every rollout saw its image
