"""The Ray worker_process_setup_hook: patch-on-import of the REAL samples_generator module."""

from __future__ import annotations

import importlib
import sys

import pytest

from ttrl_kit.engines.openrlhf import patch, worker_setup

SG = patch.TARGET_MODULE


@pytest.fixture
def hook_cleanup():
    yield
    worker_setup.teardown()


def test_setup_patches_samples_generator_when_a_worker_imports_it(rollout_modules, monkeypatch, hook_cleanup):
    assert not getattr(rollout_modules.sg.SamplesGenerator, "_ttrl_kit_hook", False)
    monkeypatch.delitem(sys.modules, SG)
    worker_setup.setup()  # what Ray runs first in each worker
    worker_setup.setup()  # idempotent: one finder only
    assert sum(isinstance(f, worker_setup.PatchOnImport) for f in sys.meta_path) == 1
    fresh = importlib.import_module(SG)  # e.g. PPOTrainer's module importing it later
    assert fresh is not rollout_modules.sg
    assert fresh.SamplesGenerator._ttrl_kit_hook is True
    assert fresh.SamplesGenerator._generate_vllm.__wrapped__ is not None
    assert fresh.__spec__.origin.endswith("openrlhf/trainer/ppo_utils/samples_generator.py")
    # Nothing else is touched: other modules import normally.
    assert worker_setup.PatchOnImport().find_spec("openrlhf.utils.agent") is None


def test_setup_patches_an_already_imported_module(rollout_modules, hook_cleanup):
    worker_setup.setup()
    assert rollout_modules.sg.SamplesGenerator._ttrl_kit_hook is True


def test_setup_hook_string_resolves_like_rays_loader():
    # Ray loads a string hook as "<module path>.<attribute>" and calls it without arguments.
    module, _, attr = worker_setup.SETUP_HOOK.rpartition(".")
    assert getattr(importlib.import_module(module), attr) is worker_setup.setup


def test_setup_itself_imports_neither_openrlhf_nor_vllm():
    import subprocess

    code = ("import sys; from ttrl_kit.engines.openrlhf import worker_setup; worker_setup.setup(); "
            "print(any(m.startswith(('openrlhf', 'vllm', 'ray')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
