"""Chat messages with images: the one place image parts are separated from the text.

A task's ``build_prompt`` may put images into the chat as ``{"type": "image", "image":
<PIL.Image>}`` parts (the convention of the HF processors, qwen-vl-utils and TRL).  The engines
(TRL's dataset columns, processor encoding) and a plugin's exporters (OpenRLHF's JSONL) both
need them split into placeholders plus the images in order; neither may import the other, so
the split lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def split_images(messages: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """``(messages with {"type": "image"} placeholders, the images in order)``."""
    out, images = [], []
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, list):
            parts: list[Any] = []
            for part in content:
                if isinstance(part, Mapping) and part.get("type") == "image":
                    if part.get("image") is not None:
                        images.append(part["image"])
                    parts.append({"type": "image"})
                elif isinstance(part, Mapping):
                    parts.append(dict(part))
                else:
                    parts.append(part)
            out.append({**msg, "content": parts})
        else:
            out.append(dict(msg))
    return out, images


def has_images(prompts: Sequence[Sequence[Mapping[str, Any]]]) -> bool:
    """Whether any of the chat prompts has an image part."""
    return any(
        isinstance(m.get("content"), list)
        and any(isinstance(p, Mapping) and p.get("type") == "image" for p in m["content"])
        for msgs in prompts
        for m in msgs
    )
