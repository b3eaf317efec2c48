"""CPU costs of the vision-language plumbing with tiny random Qwen2-VL / Qwen2.5-VL models.

What it measures (each family, same run):
1. image preparation for one 224x224 synthetic image: our ``fit_image`` (smart_resize in
   PIL) + the PIL image processor, vs handing the raw image to the processor and letting it
   resize (the alternative: identical token counts are asserted, time compared), at the
   Qwen2-VL default budget and at MM-UPT's budget (min_pixels 262144 upsizes small images);
2. ``generate``: 2 prompts x 4 samples x 16 new tokens, images in the prompt;
3. TRL ``GRPOTrainer``: 2 optimizer steps, 2 prompts x 4 samples, 8 new tokens, vote reward.

The models are randomly initialised (0.19 M parameters, 263-token vocabulary): these are
plumbing costs, not what a real 3B/7B model costs.

    .venv/bin/python benchmarks/multimodal/bench_vlm_cpu.py --out benchmarks/multimodal/out
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="benchmarks/multimodal/out")
    a = p.parse_args(argv)
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from ttrl_kit import GroupScorer, get_registry, group_indices, split_images
    from ttrl_kit.engines.embedded import tiny_vlm, vision
    from ttrl_kit.engines.embedded.generate import sample
    from ttrl_multimodal.images import fit_image, open_image

    torch.set_num_threads(2)
    reg = get_registry()
    rows = reg.dataset_loader("visual_synth")("mixed", n=2, seed=0, inline=True)
    raw = open_image(rows[0]["images"][0])
    results: dict[str, dict] = {}
    for family in vision.FAMILIES:
        res: dict[str, object] = {}
        t0 = time.perf_counter()
        model, proc = tiny_vlm.tiny_model(family)
        res["build_s"] = time.perf_counter() - t0
        for budget, (lo, hi) in {"qwen-default": (3136, 12845056), "mm-upt": (262144, 1204224)}.items():
            improc = vision.image_processor(lo, hi)
            ours_s, ours = timed(lambda: improc(images=[fit_image(raw, min_pixels=lo, max_pixels=hi)], return_tensors="pt"))
            theirs_s, theirs = timed(lambda: improc(images=[raw], return_tensors="pt"))
            assert ours["image_grid_thw"].tolist() == theirs["image_grid_thw"].tolist()
            res[f"image_{budget}"] = {"tokens": int(ours["image_grid_thw"].prod()) // 4,
                                      "ours_ms": 1000 * ours_s, "processor_resize_ms": 1000 * theirs_s}
        task = reg.task("multimodal", prompt_style="short", max_pixels=64 * 784)
        prompts = [task.build_prompt(r) for r in rows]
        gen_s, _ = timed(lambda: sample(model, proc, prompts, 4, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=16,
                                        dtype="fp32"), repeat=3)
        res["generate_2x4x16_s"] = gen_s

        scorer = GroupScorer(task, reg.estimator("majority"))

        def reward(prompts, completions, id, **kw):
            out = [0.0] * len(completions)
            for gid, idx in group_indices([str(x) for x in id]).items():
                r = scorer.score([completions[i][-1]["content"] for i in idx], id=gid)
                for j, i in enumerate(idx):
                    out[i] = float(r.rewards[j])
            return out

        recs = []
        for r in rows:
            msgs, imgs = split_images(task.build_prompt(r))
            recs.append({"prompt": msgs, "images": imgs, "id": r["id"]})
        args = GRPOConfig(output_dir="/tmp/ttrl-mm-bench", per_device_train_batch_size=4, num_generations=4,
                          max_completion_length=8, max_steps=3, use_cpu=True, bf16=False, beta=0.0,
                          report_to=[], logging_steps=1, save_strategy="no", remove_unused_columns=False,
                          disable_tqdm=True, seed=0)
        trainer = GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=Dataset.from_list(recs),
                              processing_class=proc)
        trainer.train()
        steps = [h["step_time"] for h in trainer.state.log_history if "step_time" in h]
        res["grpo_step_s"] = steps
        results[family] = res
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vlm_cpu.json").write_text(json.dumps(results, indent=2))
    for family, res in results.items():
        print(f"[{family}] build {res['build_s']:.2f} s; generate 2x4x16 {res['generate_2x4x16_s']:.2f} s; "
              f"GRPO step times {', '.join(f'{s:.2f}' for s in res['grpo_step_s'])} s")
        for budget in ("qwen-default", "mm-upt"):
            im = res[f"image_{budget}"]
            print(f"   image 224x224 @ {budget}: {im['tokens']} tokens; fit+process {im['ours_ms']:.1f} ms, "
                  f"processor-resize {im['processor_resize_ms']:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
