"""Write vision-language rows as an OpenRLHF 0.11 prompt dataset (JSONL + resized PNGs).

Why a separate exporter: OpenRLHF's generic data preparation writes the task's chat messages
as JSON, but our messages hold PIL images.  OpenRLHF 0.11.2 reads images from a separate column
(``--data.image_key``, default ``images``: paths, base64 or bytes) and the chat from
``--data.input_key`` with ``{"type": "image"}`` placeholders, then runs its own processor.  So
each line here is::

    {"prompt": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": ...}]}],
     "images": ["/abs/path/00000-0.png"], "answer": "3", "id": "...", "datasource": "visual_synth"}

The PNGs are already smart-resized with the task's pixel budget, so the token count per image
is fixed before training and identical to what the embedded engine uses.  Read it with::

    --data.prompt_dataset OUT.jsonl --data.input_key prompt --data.apply_chat_template
    --data.image_key images --data.max_images_per_prompt 1 [--data.label_key answer]

(``answer`` is for metrics only; TTRL rewards never read it.)

    python -m ttrl_multimodal.export --dataset visual_synth --source mixed --limit 512 --out data/mm
    python -m ttrl_multimodal.export --dataset visual_file --source geometry3k/train.parquet --out data/geo3k
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ttrl_kit import TTRLError, get_registry, split_images
from ttrl_kit.core.io import load_mapping, parse_options


def export_rows(task: Any, rows: Iterable[dict[str, Any]], out_dir: str | Path, *, datasource: str) -> Path:
    """Write ``out_dir/data.jsonl`` and ``out_dir/images/``; returns the JSONL path."""
    from tqdm import tqdm

    out = Path(out_dir)
    img_dir = out / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    target = out / "data.jsonl"
    tmp = target.with_name(target.name + ".partial")
    rows = list(rows)
    with tmp.open("w", encoding="utf-8") as fh:
        for i, row in enumerate(tqdm(rows, desc=f"export {datasource}", unit="row")):
            messages, images = split_images(task.build_prompt(row))
            paths = []
            for j, img in enumerate(images):
                p = img_dir / f"{i:06d}-{j}.png"
                img.save(p, format="PNG")
                paths.append(str(p.resolve()))
            gold = task.gold_label(row)
            line = {
                "prompt": messages,
                "images": paths,
                "answer": "" if gold is None else str(gold),
                "id": str(row.get("id", i)),
                "datasource": datasource,
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m ttrl_multimodal.export",
        description="Write an OpenRLHF 0.11 VLM prompt dataset from a ttrl-kit dataset.",
    )
    p.add_argument("--dataset", default="visual_synth", help="dataset loader (visual_synth, visual_file)")
    p.add_argument("--source", default="mixed", help="loader source: family or file")
    p.add_argument("--dataset-option", action="append", default=[], metavar="K=V")
    p.add_argument("--task-option", action="append", default=[], metavar="K=V")
    p.add_argument("--task-config", help="YAML/JSON task options (or a run config with a task section)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--datasource", default=None, help="name used in OpenRLHF's eval metrics (default: the dataset)")
    p.add_argument("--out", required=True, help="output folder")
    a = p.parse_args(argv)
    try:
        reg = get_registry()
        opts: dict[str, Any] = {}
        if a.task_config:
            data = load_mapping(a.task_config)
            section = data.get("task") if isinstance(data.get("task"), dict) else None
            opts.update((section or {}).get("options") or {} if section is not None else data)
        opts.update(parse_options(a.task_option, "--task-option"))
        task = reg.task("multimodal", **opts)
        rows = reg.dataset_loader(a.dataset)(a.source, **parse_options(a.dataset_option, "--dataset-option"))
        if a.limit is not None:
            rows = rows[: a.limit]
        path = export_rows(task, rows, a.out, datasource=a.datasource or a.dataset)
    except TTRLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} rows to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
