"""``python -m ttrl_multimodal.sample``: sample n answers per visual question into a groups file.

The output is the input format of ``ttrl-kit vote`` (``{"id", "responses", "gold"}`` per line),
so a vision-language model's votes can be inspected before any training::

    python -m ttrl_multimodal.sample --model ~/models/Qwen2.5-VL-3B-Instruct \\
        --dataset visual_synth --source mixed --limit 32 --n 8 --out groups.jsonl
    ttrl-kit vote --task multimodal --input groups.jsonl

``--model tiny:qwen2-vl`` / ``tiny:qwen2.5-vl`` uses a randomly initialised model (plumbing
checks only: its answers are noise).  Gold answers are written for reporting; voting never
reads them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ttrl_kit import TTRLError, get_registry
from ttrl_kit.core.io import load_mapping, parse_options
from ttrl_multimodal.task import VisualQATask


def load_model(
    name: str, *, dtype: str = "float32", min_pixels: int | None = None, max_pixels: int | None = None
) -> tuple[Any, Any]:
    """``(model, processor)`` for a local Qwen-VL folder or ``tiny:<family>``."""
    from ttrl_multimodal import vlm

    if name.startswith("tiny:"):
        return vlm.tiny_model(name.split(":", 1)[1])
    import torch
    from transformers import AutoModelForImageTextToText

    path = Path(name).expanduser()
    if not path.is_dir():
        raise TTRLError(f"model {name!r}: not a local folder (nothing is downloaded at run time)")
    proc = vlm.load_processor(path, min_pixels=min_pixels, max_pixels=max_pixels)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=getattr(torch, dtype))
    return model.eval(), proc


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ttrl_multimodal.sample", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model", required=True, help="local Qwen2-VL/Qwen2.5-VL folder, or tiny:qwen2-vl / tiny:qwen2.5-vl"
    )
    p.add_argument("--dataset", default="visual_synth", help="dataset loader name (default visual_synth)")
    p.add_argument("--source", default="mixed", help="loader source: a family or a file (default mixed)")
    p.add_argument("--dataset-option", action="append", default=[], metavar="K=V")
    p.add_argument("--task-option", action="append", default=[], metavar="K=V")
    p.add_argument("--task-config", help="YAML/JSON task options")
    p.add_argument("--limit", type=int, default=16, help="number of questions")
    p.add_argument("--n", type=int, default=8, help="samples per question")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--batch-prompts", type=int, default=2)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="groups JSONL to write")
    a = p.parse_args(argv)
    try:
        import torch
        from tqdm import tqdm

        from ttrl_multimodal import vlm

        torch.manual_seed(a.seed)
        reg = get_registry()
        opts = dict(load_mapping(a.task_config)) if a.task_config else {}
        opts.update(parse_options(a.task_option, "--task-option"))
        task = reg.task("multimodal", **opts)
        if not isinstance(task, VisualQATask):  # another plugin registered the name first
            raise TTRLError(f"task 'multimodal' is {type(task).__name__}, not this plugin's VisualQATask")
        rows = reg.dataset_loader(a.dataset)(a.source, **parse_options(a.dataset_option, "--dataset-option"))
        rows = rows[: a.limit]
        model, proc = load_model(a.model, dtype=a.dtype, min_pixels=task.min_pixels, max_pixels=task.max_pixels)
        out = Path(a.out)
        tmp = out.with_name(out.name + ".partial")
        t0 = time.perf_counter()
        with tmp.open("w", encoding="utf-8") as fh, tqdm(total=len(rows), desc="sampling", unit="q") as bar:
            for start in range(0, len(rows), a.batch_prompts):
                chunk = rows[start : start + a.batch_prompts]
                groups = vlm.sample_groups(
                    model,
                    proc,
                    [task.build_prompt(r) for r in chunk],
                    n=a.n,
                    max_new_tokens=a.max_new_tokens,
                    temperature=a.temperature,
                    top_p=a.top_p,
                    batch_prompts=a.batch_prompts,
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
