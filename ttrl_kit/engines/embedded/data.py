"""Rows from a registered dataset loader -> prompts the trainer can sample.

The engine never imports a plugin: the dataset loader and the task come from the registry
by the names in the config.  Each prepared row keeps its prompt id (groups are keyed by it)
and its gold label (reporting only; the reward function never reads it for rewards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ttrl_kit.core.errors import ConfigError, TTRLError
from ttrl_kit.core.plugins import get_registry
from ttrl_kit.core.task import Task
from ttrl_kit.engines.embedded import vision

ID_COLUMN = "ttrl_id"
GOLD_COLUMN = "ttrl_gold"
#: True on rows whose group is rewarded against gold (ttrl.labeled_fraction / labeled_column);
#: the column exists only when some row is labelled.
LABELLED_COLUMN = "ttrl_labelled"


@dataclass(frozen=True)
class PreparedRow:
    id: str
    prompt: list[dict[str, Any]]
    gold: str | None
    images: Any = None
    #: Rewarded against gold (a few labels, ttrl.labeled_fraction / labeled_column).
    labelled: bool = False


def load_rows(dataset: str, source: str, options: Mapping[str, Any], where: str, field_prefix: str) -> list[dict]:
    """Call the registered loader with one-line errors naming the config field."""
    reg = get_registry()
    try:
        loader = reg.dataset_loader(dataset)
    except TTRLError as exc:
        raise ConfigError(f"{where}: field {field_prefix + 'dataset'!r}: {exc}") from None
    try:
        rows = loader(source, **dict(options or {}))
    except TTRLError as exc:
        raise ConfigError(f"{where}: field {field_prefix + 'source'!r}: {exc}") from None
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ConfigError(f"{where}: field {field_prefix + 'source'!r}: file not found: {exc.filename}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: field {field_prefix + 'options'!r}: {exc}") from None
    rows = list(rows)
    if not rows:
        raise ConfigError(f"{where}: field {field_prefix + 'source'!r}: dataset {dataset!r} returned no rows")
    return rows


def prepare(rows: list[dict], task: Task, id_field: str, where: str, field_prefix: str) -> list[PreparedRow]:
    """Build prompts with the task; refuse rows without an id or with duplicate ids (a
    duplicate id would merge two prompts' samples into one vote)."""
    out: list[PreparedRow] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if id_field not in row or row[id_field] is None:
            raise ConfigError(f"{where}: field {field_prefix + 'id_field'!r}: row {i} has no {id_field!r} column")
        pid = str(row[id_field])
        if pid in seen:
            raise ConfigError(f"{where}: field {field_prefix + 'id_field'!r}: duplicate prompt id {pid!r} (row {i})")
        seen.add(pid)
        messages = task.build_prompt(row)
        gold = task.gold_label(row)
        out.append(PreparedRow(id=pid, prompt=list(messages), gold=gold, images=row.get("images")))
    return out


def mark_labelled(
    rows: list[PreparedRow],
    raw: list[dict],
    fraction: float,
    column: str | None,
    seed: int,
    where: str,
) -> list[PreparedRow]:
    """Mark the questions whose groups are rewarded against gold: ``round(fraction * N)``
    of them chosen by a ``random.Random(seed)`` sample of the row positions (the same rows
    for the same data and seed, on every machine), plus rows whose ``column`` is true.
    A marked row without a gold answer is a config error."""
    import random

    chosen = set(random.Random(seed).sample(range(len(rows)), round(fraction * len(rows)))) if fraction > 0 else set()
    truthy = {True, "1", "true", "True", "yes", "y"}  # 1 == True
    out = []
    for i, (row, r) in enumerate(zip(rows, raw)):
        flagged = column is not None and r.get(column) in truthy
        if i in chosen or flagged:
            if row.gold is None:
                field_name = "ttrl.labeled_column" if flagged else "ttrl.labeled_fraction"
                raise ConfigError(
                    f"{where}: field {field_name!r}: question {row.id!r} is labelled but has no gold answer"
                )
            row = PreparedRow(id=row.id, prompt=row.prompt, gold=row.gold, images=row.images, labelled=True)
        out.append(row)
    return out


def to_trl_dataset(rows: list[PreparedRow]) -> Any:
    """A ``datasets.Dataset`` with the columns TRL passes through to reward functions."""
    from datasets import Dataset

    cols: dict[str, list] = {
        "prompt": [r.prompt for r in rows],
        ID_COLUMN: [r.id for r in rows],
        GOLD_COLUMN: [r.gold if r.gold is not None else "" for r in rows],
    }
    if any(r.labelled for r in rows):
        cols[LABELLED_COLUMN] = [r.labelled for r in rows]
    if any(r.images is not None for r in rows):
        cols["images"] = [r.images for r in rows]
    if vision.has_images(cols["prompt"]):  # images inside the chat -> TRL's placeholders + images column (vision.py)
        cols.update(vision.trl_columns(cols["prompt"]))
    return Dataset.from_dict(cols)


def check_prompt_lengths(rows: list[PreparedRow], tokenizer: Any, max_len: int, where: str) -> int:
    """Refuse prompts longer than ``generation.max_prompt_length`` (TRL does not truncate
    prompts, and a silently cut prompt asks a different question).  Returns the longest."""
    longest = 0
    for r in rows:
        ids: Any
        if vision.is_processor(tokenizer):  # image tokens expanded (vision.py)
            ids = vision.prompt_ids(tokenizer, r.prompt)
        else:
            ids = tokenizer.apply_chat_template(r.prompt, add_generation_prompt=True, tokenize=True)
        if isinstance(ids, Mapping):
            ids = ids["input_ids"]
        longest = max(longest, len(ids))
        if len(ids) > max_len:
            raise ConfigError(
                f"{where}: field 'generation.max_prompt_length': prompt {r.id!r} has {len(ids)} tokens > {max_len}"
            )
    return longest
