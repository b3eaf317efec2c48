"""Chat messages for Qwen2-VL / Qwen2.5-VL from a dataset row with images.

Messages follow the convention shared by ``qwen-vl-utils``, the Hugging Face processors and
TRL's ``GRPOTrainer``: a user turn whose ``content`` is a list of parts,
``{"type": "image", "image": <PIL.Image>}`` and ``{"type": "text", "text": ...}``.  An engine can
pass them to ``processor.apply_chat_template`` as they are, or pull the images out into a
separate ``images`` column and leave ``{"type": "image"}`` placeholders (TRL's dataset form).

Where the images go: datasets in the EasyR1 / Geometry3K layout mark image positions with
``<image>`` in the question; those markers are replaced by image parts in order.  Without
markers the images come first, then the text (how Qwen's own examples put them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ttrl_kit import InputError
from ttrl_multimodal.images import fit_image, open_image

#: Instructions appended to the question, by prompt style.
SUFFIXES = {
    # MM-UPT / EasyR1's math prompt (notes 1.1): the final answer goes into \boxed{}.
    "boxed": "Please reason step by step, and put your final answer within \\boxed{}.",
    # Short-answer VQA.
    "short": "Answer the question using a single word or number.",
    # TTRV's multiple-choice wording (notes 1.2).
    "letter": "Respond with only the corresponding option letter.",
    # R1-V's format: reasoning in <think>, the answer in <answer>.
    "r1v": "Output the thinking process in <think> </think> and the final answer in <answer> </answer> tags.",
    "none": "",
}

IMAGE_MARKER = "<image>"
_MARKER = re.compile(re.escape(IMAGE_MARKER))
QUESTION_FIELDS = ("question", "problem", "prompt", "query")
IMAGE_FIELDS = ("images", "image")
OPTION_LETTERS = "ABCDEFGHIJ"


def row_name(row: Mapping[str, Any]) -> str:
    """How errors refer to a row: its id, and its file:line when the loader recorded it."""
    where = row.get("_where")
    rid = row.get("id")
    if where and rid is not None:
        return f"{where} (id {rid!r})"
    if where:
        return str(where)
    return f"row id {rid!r}" if rid is not None else "row"


def row_question(row: Mapping[str, Any]) -> str:
    for field in QUESTION_FIELDS:
        value = row.get(field)
        if isinstance(value, str) and value.strip():
            return value
    raise InputError(f"{row_name(row)}: missing field 'question' (or one of {', '.join(QUESTION_FIELDS[1:])})")


def row_images(row: Mapping[str, Any]) -> list[Any]:
    """The raw image values of a row (``images`` list, or a single ``image``)."""
    for field in IMAGE_FIELDS:
        if field not in row or row[field] is None:
            continue
        value = row[field]
        if isinstance(value, (list, tuple)):
            return list(value)
        return [value]
    return []


def row_choices(row: Mapping[str, Any]) -> list[str]:
    for field in ("choices", "options"):
        value = row.get(field)
        if value is None:
            continue
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{row_name(row)}: field {field!r}: expected a list of strings")
        if len(value) > len(OPTION_LETTERS):
            raise InputError(f"{row_name(row)}: field {field!r}: at most {len(OPTION_LETTERS)} options")
        return list(value)
    return []


def format_choices(choices: Sequence[str]) -> str:
    return "Options: " + " ".join(f"{OPTION_LETTERS[i]}. {c}" for i, c in enumerate(choices))


def load_row_images(row: Mapping[str, Any], *, min_pixels: int, max_pixels: int, max_images: int) -> list[Any]:
    specs = row_images(row)
    if len(specs) > max_images:
        raise InputError(f"{row_name(row)}: {len(specs)} images, more than max_images={max_images}")
    out = []
    for i, spec in enumerate(specs):
        where = f"{row_name(row)}: field 'images'[{i}]"
        out.append(
            fit_image(
                open_image(spec, base_dir=row.get("_base_dir"), where=where),
                min_pixels=min_pixels,
                max_pixels=max_pixels,
                where=where,
            )
        )
    return out


def build_messages(
    question: str, images: Sequence[Any], *, suffix: str = "", system: str | None = None, where: str = "row"
) -> list[dict[str, Any]]:
    """One user turn (after an optional system turn) interleaving images and text."""
    text = question.strip()
    if suffix:
        text = f"{text}\n{suffix}"
    n_markers = len(_MARKER.findall(text))
    parts: list[dict[str, Any]] = []
    if n_markers:
        if n_markers != len(images):
            raise InputError(
                f"{where}: the question has {n_markers} '<image>' markers but the row has {len(images)} images"
            )
        pieces = _MARKER.split(text)
        for i, piece in enumerate(pieces):
            if piece.strip():
                parts.append({"type": "text", "text": piece.strip()})
            if i < len(images):
                parts.append({"type": "image", "image": images[i]})
    else:
        parts.extend({"type": "image", "image": img} for img in images)
        parts.append({"type": "text", "text": text})
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": parts})
    return messages
