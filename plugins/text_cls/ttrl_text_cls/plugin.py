"""Hook implementations only: the text_cls plugin's whole contact surface with ttrl-kit."""

from __future__ import annotations

from ttrl_kit import hookimpl


@hookimpl
def register_tasks(register):
    from ttrl_text_cls.task import TextClassificationTask

    register(
        "text_cls",
        TextClassificationTask,
        "text classification by label voting (labels, verbalizers, option letters from task options)",
    )


@hookimpl
def register_datasets(register):
    from ttrl_text_cls import datasets

    register("text_cls", datasets.load_auto, "labelled/unlabelled text: JSONL, CSV/TSV or hf:NAME, by source")
    register("text_cls_jsonl", datasets.load_jsonl, "text rows from JSON Lines (id, text, label)")
    register("text_cls_csv", datasets.load_csv, "text rows from CSV/TSV with a header")
    register("text_cls_hub", datasets.load_hub, "text rows from a Hugging Face hub dataset (needs datasets)")
