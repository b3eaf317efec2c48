"""``python -m ttrl_kit.engines.embedded.sample_groups``: sample n answers per question into a groups file.

The output is the input format of ``ttrl-kit vote`` (``{"id", "responses", "gold"}`` per line),
so a model's votes on any task can be inspected before any training (an image-text model on
the visual tasks included)::

    python -m ttrl_kit.engines.embedded.sample_groups --model ~/models/Qwen2.5-VL-3B-Instruct \\
        --task multimodal --dataset visual_synth --source mixed --limit 32 --n 8 --out groups.jsonl
    ttrl-kit vote --task multimodal --input groups.jsonl

``--model tiny:qwen2-vl`` / ``tiny:qwen2.5-vl`` uses a randomly initialised Qwen-VL (plumbing
checks only: its answers are noise); ``tiny-random`` / ``smollm2-135m`` / a local folder load as
in ``ttrl-kit train``.  Sampling is the engine's one loop (generate.py).  Gold answers are
written for reporting; voting never reads them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ttrl_kit.core.errors import TTRLError
from ttrl_kit.core.io import load_mapping, parse_options
from ttrl_kit.core.plugins import get_registry

_BUILT_IN = ("tiny-random", "smollm2-135m")


def load_model(
    name: str, *, dtype: str = "float32", min_pixels: int | None = None, max_pixels: int | None = None
) -> tuple[Any, Any]:
    """``(model, processing class)``: ``tiny:<family>``, a local folder (image-text models with
    their processor and the given pixel budget) or a built-in text model."""
    import torch

    from ttrl_kit.engines.embedded import tiny_vlm, vision

    if name.startswith("tiny:"):
        return tiny_vlm.tiny_model(name.split(":", 1)[1])
    path = Path(name).expanduser()
    if name not in _BUILT_IN and not path.is_dir():
        raise TTRLError(f"model {name!r}: not a local folder (nothing is downloaded at run time)")
    if path.is_dir() and vision.is_vlm_checkpoint(path):
        from transformers import AutoModelForImageTextToText

        proc = vision.load_processor(path, min_pixels=min_pixels, max_pixels=max_pixels)
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=getattr(torch, dtype))
        return model.eval(), proc
    from ttrl_kit.engines.embedded.models import load_model as load_text_model

    loaded = load_text_model(name)
    return loaded.model.to(getattr(torch, dtype)).eval(), loaded.tokenizer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ttrl_kit.engines.embedded.sample_groups", description=(__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--model", required=True, help="tiny:qwen2-vl / tiny:qwen2.5-vl, tiny-random, or a local folder")
    p.add_argument("--task", required=True, help="task name (see `ttrl-kit plugins`)")
    p.add_argument("--dataset", required=True, help="dataset loader name")
    p.add_argument("--source", required=True, help="loader source: a family or a file")
    p.add_argument("--dataset-option", action="append", default=[], metavar="K=V")
    p.add_argument("--task-option", action="append", default=[], metavar="K=V")
    p.add_argument("--task-config", help="YAML/JSON task options")
    p.add_argument("--limit", type=int, default=16, help="number of questions")
    p.add_argument("--n", type=int, default=8, help="samples per question")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0, help="0: no top-k filtering")
    p.add_argument("--batch-prompts", type=int, default=2)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="groups JSONL to write")
    a = p.parse_args(argv)
    try:
        import torch
        from tqdm import tqdm

        from ttrl_kit.engines.embedded.generate import sample

        torch.manual_seed(a.seed)
        reg = get_registry()
        opts = dict(load_mapping(a.task_config)) if a.task_config else {}
        opts.update(parse_options(a.task_option, "--task-option"))
        task = reg.task(a.task, **opts)
        rows = reg.dataset_loader(a.dataset)(a.source, **parse_options(a.dataset_option, "--dataset-option"))
        rows = rows[: a.limit]
        # a task that fits its images to a pixel budget gives the processor the same one
        budget = {k: getattr(task, k, None) for k in ("min_pixels", "max_pixels")}
        model, proc = load_model(a.model, dtype=a.dtype, **budget)
        out = Path(a.out)
        tmp = out.with_name(out.name + ".partial")
        t0 = time.perf_counter()
        with tmp.open("w", encoding="utf-8") as fh, tqdm(total=len(rows), desc="sampling", unit="q") as bar:
            for start in range(0, len(rows), a.batch_prompts):
                chunk = rows[start : start + a.batch_prompts]
                groups, _lengths = sample(
                    model,
                    proc,
                    [task.build_prompt(r) for r in chunk],
                    a.n,
                    temperature=a.temperature,
                    top_p=a.top_p,
                    top_k=a.top_k,
                    max_new_tokens=a.max_new_tokens,
                    dtype="fp32",  # the weights are in --dtype already
                )
                for row, responses in zip(chunk, groups):
                    line = {"id": row["id"], "responses": responses}
                    gold = task.gold_label(row)
                    if gold is not None:
                        line["gold"] = gold
                    fh.write(json.dumps(line, ensure_ascii=False) + "\n")
                bar.update(len(chunk))
        tmp.replace(out)
        print(f"wrote {len(rows)} groups x {a.n} samples to {out} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    except TTRLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
