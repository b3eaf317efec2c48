"""The multimodal run configs: the embedded-engine YAMLs validate statically, and the OpenRLHF
script's flags pass OpenRLHF 0.11.2's REAL parser and post-parse checks (its VLM constraints
included).  Neither is *run* here: both need GPUs and Qwen2.5-VL weights."""

import argparse
import os
import runpy
import subprocess
import sys
import types
from pathlib import Path
from unittest.mock import MagicMock

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


class _Reached(Exception):
    def __init__(self, args):
        super().__init__("train(args) reached")
        self.parsed = args


def test_openrlhf_script_flags_pass_the_real_parser(monkeypatch):
    pytest.importorskip("openrlhf")
    from ttrl_kit.engines.openrlhf import launcher

    env = dict(os.environ, TTRL_PRINT_ARGS="1")
    out = subprocess.run(["bash", str(CONFIGS / "openrlhf_mmupt_qwen25vl_7b.sh"), "/runs/out", "/models/vl7b"],
                         env=env, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[:2] == ["-m", "ttrl_kit.engines.openrlhf"]
    p = argparse.ArgumentParser()
    launcher.add_arguments(p)
    plan = launcher.build_plan(p.parse_args(out[2:]))
    assert plan.config.task == "multimodal" and plan.n_train == 10

    # What train_ppo_ray imports at module level that needs Ray / GPUs is stubbed; its parser,
    # hierarchize() and validation run for real, and get_strategy (train()'s first call) stops it.
    ray = types.ModuleType("ray")
    ray.is_initialized = lambda: True
    util = types.ModuleType("ray.util")
    util.__path__ = []
    pg = types.ModuleType("ray.util.placement_group")
    pg.placement_group = MagicMock()
    ray.util = util
    for name, mod in {"ray": ray, "ray.util": util, "ray.util.placement_group": pg}.items():
        monkeypatch.setitem(sys.modules, name, mod)
    ray_pkg = types.ModuleType("openrlhf.trainer.ray")
    ray_pkg.__path__ = []
    ray_pkg.create_vllm_engines = MagicMock()
    monkeypatch.setitem(sys.modules, "openrlhf.trainer.ray", ray_pkg)
    for name in ("launcher", "ppo_actor", "ppo_critic"):
        monkeypatch.setitem(sys.modules, f"openrlhf.trainer.ray.{name}", MagicMock())
    import openrlhf.utils

    def get_strategy(args):
        raise _Reached(args)

    monkeypatch.setattr(openrlhf.utils, "get_strategy", get_strategy)
    monkeypatch.setattr(sys, "argv", ["train_ppo_ray", *plan.openrlhf_argv])
    with pytest.raises(_Reached) as reached:
        runpy.run_module("openrlhf.cli.train_ppo_ray", run_name="__main__")
    args = reached.value.parsed
    assert args.data.max_images_per_prompt == 1 and args.data.image_key == "images"
    assert args.critic.model_name_or_path is None and not args.ds.packing_samples  # OpenRLHF's VLM rules
    assert args.rollout.n_samples_per_prompt == 10 and args.rollout.temperature == 0.7
    assert args.algo.kl.use_loss and args.algo.kl.init_coef == 0.01 and args.algo.kl.estimator == "k3"
    assert args.actor.adam.lr == 1e-6 and args.train.num_episodes == 15
