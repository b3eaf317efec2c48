"""The multimodal run configs: the embedded-engine YAMLs validate statically, and the OpenRLHF
script's flags are checked against OpenRLHF 0.11.2's REAL parser in tests/openrlhf/test_launch_flags.py
(with the other launch scripts).  Neither is *run* here: both need GPUs and Qwen2.5-VL weights."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs" / "multimodal"


@pytest.mark.parametrize("name", ["qwen25vl_3b_geometry3k.yaml", "qwen25vl_7b_geometry3k.yaml"])
def test_gpu_configs_validate_and_build_the_task(name):
    config = pytest.importorskip("ttrl_kit.engines.embedded.config")
    from ttrl_kit import get_registry

    cfg = config.load_config(CONFIGS / name)
    assert cfg.task.name == "multimodal" and cfg.ttrl.n_votes == 10 and cfg.generation.temperature == 0.7
    assert cfg.train.learning_rate == 1e-6 and cfg.train.beta == 0.01
    task = get_registry().task(cfg.task.name, **cfg.task.options)
    assert (task.min_pixels, task.max_pixels) == (262144, 1204224)
    text = (CONFIGS / name).read_text()
    assert text.startswith("# NOT RUN HERE")


def test_cpu_smoke_config_validates():
    config = pytest.importorskip("ttrl_kit.engines.embedded.config")
    cfg = config.load_config(CONFIGS / "smoke_tiny_vlm.yaml")
    assert cfg.task.name == "multimodal" and cfg.data.dataset == "visual_synth" and cfg.train.max_steps == 2
