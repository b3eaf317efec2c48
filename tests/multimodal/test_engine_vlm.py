"""The embedded engine trains a vision-language model: >= 2 real GRPO steps with images.

A tiny random Qwen2-VL / Qwen2.5-VL checkpoint is written to disk (our local tokenizer and
processor, no hub) and named in an ordinary run config; the engine recognises it as an
image-text model (ttrl_kit/engines/embedded/vision.py), feeds the synthetic visual questions'
images through TRL's generation and log-prob passes, votes with the ``multimodal`` task,
evaluates before/after with the images, and saves a final model + processor that reload.
"""

import json

import pytest
import torch

vision = pytest.importorskip("ttrl_kit.engines.embedded.vision")

from ttrl_kit.engines.embedded.config import from_mapping  # noqa: E402
from ttrl_kit.engines.embedded.engine import evaluate_only, train  # noqa: E402
from ttrl_kit.engines.embedded import tiny_vlm  # noqa: E402


def _config(model_dir, out, **over):
    d = {
        "model": {"name": str(model_dir), "dtype": "fp32"},
        "data": {"dataset": "visual_synth", "source": "mixed", "options": {"n": 2, "seed": 0, "inline": True, "size": 112}},
        "task": {"name": "multimodal", "options": {"prompt_style": "short", "max_pixels": 16 * 784}},
        "estimator": {"name": "majority"},
        "ttrl": {"n_votes": 6, "n_train": 4},
        "generation": {"temperature": 1.0, "max_prompt_length": 256, "max_completion_length": 6},
        "train": {"learning_rate": 1.0e-2, "prompts_per_step": 2, "micro_batch_size": 4, "max_steps": 2, "seed": 0},
        "checkpoint": {"every": 1, "keep": 2, "save_final": True},
        "eval": {"k": 2, "batch_prompts": 2},
        "output": {"dir": str(out)},
    }
    d.update(over)
    return from_mapping(d, "mm.yaml")


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen2.5-vl"])
def test_engine_runs_grpo_on_a_tiny_vlm(tmp_path, family):
    from safetensors.torch import load_file

    model_dir = tiny_vlm.save_tiny(tmp_path / "tiny", family)
    assert vision.is_vlm_checkpoint(model_dir)
    run = tmp_path / "run"
    summary = train(_config(model_dir, run), run, log=lambda m: None)

    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["groups"] == 2 and r["grad_norm"] > 0 for r in rows)
    initial = load_file(str(model_dir / "model.safetensors"))
    trained = load_file(str(run / "final_model" / "model.safetensors"))
    changed = [k for k in trained if k in initial and not torch.equal(trained[k], initial[k])]
    assert any("visual" in k for k in changed), "vision weights unchanged: images never reached the loss"
    assert any("visual" not in k for k in changed)
    for when in ("before", "after"):
        assert summary["test"][when]["maj@2"] is not None
    # the saved processor (no torchvision, no video processor) reloads and evaluates the final model
    out = evaluate_only(_config(model_dir, run), model_name=str(run / "final_model"), out=tmp_path / "eval",
                        log=lambda m: None)
    assert out is not None


def test_prompt_lengths_count_image_tokens(tmp_path):
    from ttrl_kit import get_registry

    model, proc = vision.load_vlm(tiny_vlm.save_tiny(tmp_path / "tiny", "qwen2-vl"))
    task = get_registry().task("multimodal", max_pixels=16 * 784)
    row = get_registry().dataset_loader("visual_synth")("count", n=1, inline=True)[0]
    msgs = task.build_prompt(row)
    img = msgs[0]["content"][0]["image"]
    text_only = len(proc.tokenizer.apply_chat_template(vision.split_images(msgs)[0], add_generation_prompt=True,
                                                       tokenize=True, return_dict=False))
    n_img = (img.width // 28) * (img.height // 28)
    assert vision.prompt_tokens(proc, msgs) == text_only - 1 + n_img
