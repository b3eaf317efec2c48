"""Hook implementations only: the multimodal plugin's whole contact surface with ttrl-kit."""

from __future__ import annotations

from ttrl_kit import hookimpl


def _task(**options):
    from ttrl_multimodal.task import VisualQATask

    return VisualQATask(**options)


def _visual_synth(source: str = "mixed", **options):
    from ttrl_multimodal.synthetic import load_visual_synth

    return load_visual_synth(source, **options)


def _visual_file(source: str, **options):
    from ttrl_multimodal.datasets import load_visual_file

    return load_visual_file(source, **options)


@hookimpl
def register_tasks(register):
    register(
        "multimodal",
        _task,
        "vision-language questions (Qwen2-VL/2.5-VL): counts, option letters, LaTeX values, short phrases",
    )


@hookimpl
def register_datasets(register):
    register(
        "visual_synth",
        _visual_synth,
        "seeded offline pillow images: count the shapes, which is larger, read the digit (labels for reporting)",
    )
    register(
        "visual_file",
        _visual_file,
        "local JSONL/JSON/parquet rows with image paths, data URIs or {bytes,path} records (Geometry3K layout)",
    )
