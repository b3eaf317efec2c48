"""The hook runs only on the OpenRLHF it was checked against: the installed version must be
0.11.2 and the loop it replaces must be 0.11.2's (AST fingerprint), unless the user names the
installed version in the override."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ttrl_kit.engines.openrlhf import patch

from .conftest import OPENRLHF_ROOT

SG_FILE = OPENRLHF_ROOT / "trainer" / "ppo_utils" / "samples_generator.py"


def test_installed_openrlhf_is_the_checked_one_and_its_loop_is_pinned():
    """Fails loudly in CI the day openrlhf is upgraded or its _generate_vllm changes."""
    assert patch._version() == patch.CHECKED_VERSION == "0.11.2"
    assert patch.file_fingerprint(str(SG_FILE)) == patch.GENERATE_VLLM_FINGERPRINT


def test_the_fingerprint_sees_a_new_filter_inside_the_loop(tmp_path):
    """What an upstream PR adding a filter inside _generate_vllm would do to the pin."""
    src = SG_FILE.read_text()
    anchor = "for ref in ready_refs:"
    assert anchor in src
    changed = src.replace(anchor, anchor + "\n                if getattr(self, '_new_filter', False):\n                    continue", 1)
    f = tmp_path / "samples_generator.py"
    f.write_text(changed)
    assert patch.file_fingerprint(str(f)) != patch.GENERATE_VLLM_FINGERPRINT
    # formatting and comments alone do not change it
    f.write_text(src.replace(anchor, anchor + "  # a comment", 1))
    assert patch.file_fingerprint(str(f)) == patch.GENERATE_VLLM_FINGERPRINT


def test_install_refuses_a_different_installed_version_in_one_line(rollout_modules, monkeypatch):
    monkeypatch.setattr(patch, "_version", lambda: "0.12.0")
    monkeypatch.delenv(patch.OVERRIDE_ENV, raising=False)
    with pytest.raises(patch.OpenRLHFVersionError) as exc:
        patch.install(rollout_modules.sg, rewarder_factory=lambda: None)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "openrlhf 0.12.0" in msg and "openrlhf 0.11.2" in msg and f"{patch.OVERRIDE_ENV}=0.12.0" in msg
    assert not getattr(rollout_modules.sg.SamplesGenerator, patch._MARK, False)


def test_the_override_must_name_the_installed_version(rollout_modules, monkeypatch, caplog):
    monkeypatch.setattr(patch, "_version", lambda: "0.12.0")
    monkeypatch.setenv(patch.OVERRIDE_ENV, "1")
    with pytest.raises(patch.OpenRLHFVersionError):
        patch.install(rollout_modules.sg, rewarder_factory=lambda: None)
    monkeypatch.setenv(patch.OVERRIDE_ENV, "0.12.0")
    assert patch.install(rollout_modules.sg, rewarder_factory=lambda: None) is True
    assert "0.12.0" in caplog.text and "checked against 0.11.2" in caplog.text


def test_install_refuses_a_changed_loop_under_the_same_version(rollout_modules, monkeypatch):
    cls = rollout_modules.sg.SamplesGenerator

    def _generate_vllm(self, dataloader_iter, num_prompts, dynamic_filtering, **generate_kwargs):
        return [], 0, True  # not 0.11.2's loop

    monkeypatch.setattr(cls, "_generate_vllm", _generate_vllm)
    monkeypatch.delenv(patch.OVERRIDE_ENV, raising=False)
    with pytest.raises(patch.OpenRLHFVersionError, match="is not the code of openrlhf 0.11.2"):
        patch.install(rollout_modules.sg, rewarder_factory=lambda: None)


def test_launcher_refuses_before_ray_starts_and_passes_the_override_to_workers(monkeypatch):
    from ttrl_kit.engines.openrlhf import launcher

    flags = ["--", "--actor.model_name_or_path", "m", "--rollout.n_samples_per_prompt", "4"]
    args = __import__("argparse").Namespace(task="math", task_option=[], task_config=None, estimator="majority",
                                            estimator_option=[], n_votes=None, dry_run=True, openrlhf_args=flags)
    monkeypatch.setattr(patch, "_version", lambda: "0.12.0")
    with pytest.raises(patch.OpenRLHFVersionError, match="TTRL_KIT_OPENRLHF_VERSION_OVERRIDE=0.12.0"):
        launcher.build_plan(args, environ={})
    plan = launcher.build_plan(args, environ={patch.OVERRIDE_ENV: "0.12.0"})
    assert plan.runtime_env["env_vars"][patch.OVERRIDE_ENV] == "0.12.0"


def test_cli_refusal_is_one_line_exit_2(tmp_path):
    """A different installed version, simulated with a sitecustomize that fakes the metadata."""
    (tmp_path / "sitecustomize.py").write_text(
        "import importlib.metadata as m\n_v = m.version\n"
        "m.version = lambda name: '0.12.0' if name == 'openrlhf' else _v(name)\n")
    env = dict(__import__("os").environ, PYTHONPATH=str(tmp_path))
    env.pop(patch.OVERRIDE_ENV, None)
    r = subprocess.run([sys.executable, "-m", "ttrl_kit.engines.openrlhf", "--task", "math", "--dry-run", "--",
                        "--actor.model_name_or_path", "m", "--rollout.n_samples_per_prompt", "4"],
                       capture_output=True, text=True, env=env, timeout=120, cwd=Path(__file__).parents[2])
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "openrlhf 0.12.0" in lines[0] and "0.11.2" in lines[0], r.stderr
