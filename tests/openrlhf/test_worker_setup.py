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
    assert worker_setup.PatchOnImport().find_spec("openrlhf.utils.logging_utils") is None


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


@pytest.mark.parametrize("trainer_file", ["ppo_trainer.py", "ppo_trainer_async.py"])
def test_sync_and_async_trainers_build_the_patched_class(rollout_modules, monkeypatch, hook_cleanup, trainer_file):
    """Both holders of a SamplesGenerator in OpenRLHF 0.11.2 (PPOTrainer and the async
    GenerateSamplesActor) get the hook when their module is imported in a set-up worker."""
    import importlib.util
    import types
    from unittest.mock import MagicMock

    import openrlhf

    monkeypatch.delitem(sys.modules, SG)
    worker_setup.setup()
    util = types.ModuleType("ray.util")
    util.__path__ = []
    queue = types.ModuleType("ray.util.queue")
    queue.Queue = MagicMock()
    monkeypatch.setitem(sys.modules, "ray.util", util)
    monkeypatch.setitem(sys.modules, "ray.util.queue", queue)
    for name in ("openrlhf.trainer.ppo_utils.experience_maker", "openrlhf.trainer.ray.launcher",
                 "openrlhf.utils.deepspeed", "openrlhf.datasets", "openrlhf.datasets.utils"):
        monkeypatch.setitem(sys.modules, name, MagicMock())
    root = __import__("pathlib").Path(openrlhf.__file__).parent / "trainer"
    if trainer_file == "ppo_trainer_async.py":  # it imports helpers from the sync trainer module
        spec = importlib.util.spec_from_file_location("openrlhf.trainer.ppo_trainer", root / "ppo_trainer.py")
        sync = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, sync)
        spec.loader.exec_module(sync)
    spec = importlib.util.spec_from_file_location(f"_ttrl_{trainer_file[:-3]}", root / trainer_file)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)  # imports samples_generator for the first time -> patched
    assert module.SamplesGenerator is sys.modules[SG].SamplesGenerator
    assert module.SamplesGenerator._ttrl_kit_hook is True
    holder = "PPOTrainer" if trainer_file == "ppo_trainer.py" else "GenerateSamplesActor"
    assert "SamplesGenerator(" in __import__("inspect").getsource(getattr(module, holder).__init__)
