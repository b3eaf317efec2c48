"""Real Qwen2-VL / Qwen2.5-VL model code on CPU: tiny random weights, local tokenizer, no hub."""

import pytest
import torch

from ttrl_kit import GroupScorer, get_registry
from ttrl_kit.engines.embedded import tiny_vlm, vision
from ttrl_kit.engines.embedded.generate import sample
from ttrl_multimodal.images import image_tokens

FAMILIES = ["qwen2-vl", "qwen2.5-vl"]


@pytest.fixture(scope="module", params=FAMILIES)
def tiny(request):
    model, proc = tiny_vlm.tiny_model(request.param, seed=0)
    return request.param, model, proc


def test_no_torchvision_needed(tiny):
    family, model, proc = tiny
    assert type(proc).__name__.endswith("NoVideo") and proc.video_processor is None
    assert "Pil" in type(proc.image_processor).__name__ or "Qwen2VLImageProcessor" in type(proc.image_processor).__name__
    assert sum(p.numel() for p in model.parameters()) < 400_000


def test_prompt_tokens_match_the_fitted_images(tiny, synth_rows):
    family, model, proc = tiny
    task = get_registry().task("multimodal", max_pixels=64 * 784)
    msgs = [task.build_prompt(r) for r in synth_rows[:2]]
    texts = [proc.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in msgs]
    imgs = [m[0]["content"][0]["image"] for m in msgs]
    enc = proc(text=texts, images=imgs, return_tensors="pt", padding=True)
    pad_id = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    per_row = (enc["input_ids"] == pad_id).sum(dim=1).tolist()
    assert per_row == [image_tokens(i) for i in imgs]  # smart_resize already fixed the token count
    assert enc["pixel_values"].shape == (4 * sum(per_row), 3 * 2 * 14 * 14)
    assert texts[0].endswith("<|im_start|>assistant\n")


def test_image_text_generation_and_a_vote(tiny, synth_rows):
    family, model, proc = tiny
    task = get_registry().task("multimodal", prompt_style="short", max_pixels=16 * 784)
    rows = synth_rows[:2]
    torch.manual_seed(1)
    groups, lengths = sample(model, proc, [task.build_prompt(r) for r in rows], 4, temperature=1.0, top_p=1.0, top_k=0,
                            max_new_tokens=6, dtype="fp32")
    assert all(1 <= n <= 6 for g in lengths for n in g)
    assert [len(g) for g in groups] == [4, 4]
    assert all(isinstance(s, str) for g in groups for s in g)
    # a random model: the samples differ, and none contains a vision marker (they are suppressed)
    assert len({s for g in groups for s in g}) > 1
    scorer = GroupScorer(task, get_registry().estimator("majority"))
    for row, g in zip(rows, groups):
        r = scorer.score(g, gold=task.gold_label(row), id=row["id"])
        assert len(r.rewards) == 4 and r.gold == row["answer"]
        assert set(r.rewards) <= {0.0, 1.0}


def test_suppressed_vision_tokens_are_never_sampled(tiny, synth_rows):
    family, model, proc = tiny
    task = get_registry().task("multimodal", max_pixels=16 * 784)
    msgs = task.build_prompt(synth_rows[0])
    text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    enc = proc(text=[text], images=[msgs[0]["content"][0]["image"]], return_tensors="pt")
    # make the image-pad token the most likely one: it must still never be generated
    pad_id = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    with torch.no_grad():
        model.get_output_embeddings().weight[pad_id] *= 0
        model.get_output_embeddings().weight[pad_id] += 50 * model.get_output_embeddings().weight.mean(0)
    seqs = model.generate(**enc, do_sample=True, max_new_tokens=8, suppress_tokens=vision.suppressed_tokens(proc))
    new = seqs[0, enc["input_ids"].shape[1]:]
    assert not set(new.tolist()) & set(vision.suppressed_tokens(proc.tokenizer))


@pytest.mark.parametrize("family", FAMILIES)
def test_saved_tiny_checkpoint_reloads_offline(tmp_path, family):
    from transformers import AutoModelForImageTextToText

    path = tiny_vlm.save_tiny(tmp_path / family, family)
    proc = vision.load_processor(path, max_pixels=32 * 784)
    model = AutoModelForImageTextToText.from_pretrained(path)
    assert vision.family_of(path) == family and vision.family_of(model.config) == family
    assert proc.image_processor.size["longest_edge"] == 32 * 784
    proc.save_pretrained(tmp_path / "again")  # what Trainer checkpoints call
    again = vision.load_processor(tmp_path / "again")
    assert again.image_processor.size == proc.image_processor.size and again.chat_template == proc.chat_template
    msgs = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert proc.apply_chat_template(msgs, tokenize=False).endswith("<|im_start|>user\nhi<|im_end|>\n")
