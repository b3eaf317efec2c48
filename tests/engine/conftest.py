"""Fixtures for the embedded engine tests: a test-only plugin (numeric task + file dataset)
and the smoke config, all offline."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from ttrl_kit import KeyedTask, hookimpl
from ttrl_kit.core import plugins as core_plugins

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke" / "tiny.yaml"
_NUM = re.compile(r"-?\d+")


class NumTask(KeyedTask):
    """Last integer in the text; prompt = the row's prompt as one user message."""

    name = "testnum"

    def build_prompt(self, row):
        return [{"role": "user", "content": row["prompt"]}]

    def gold_label(self, row):
        return row.get("answer")

    def extract_answer(self, response):
        nums = _NUM.findall(response)
        return nums[-1] if nums else None

    def canonical_key(self, answer):
        return int(answer) if _NUM.fullmatch(answer.strip()) else None


def load_testfile(source, **options):
    rows = []
    with open(source, encoding="utf-8") as fh:  # FileNotFoundError on purpose
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _plugin_module():
    mod = types.ModuleType("ttrl_engine_test_plugin")

    @hookimpl
    def register_tasks(register):
        register("testnum", NumTask, "test numeric task")

    @hookimpl
    def register_datasets(register):
        register("testfile", load_testfile, "test JSONL loader")

    mod.register_tasks = register_tasks
    mod.register_datasets = register_datasets
    return mod


@pytest.fixture
def test_registry(monkeypatch):
    """The real registry plus the test plugin, installed as the process-wide registry."""
    reg = core_plugins.PluginRegistry(extra_plugins=[("engine-test", _plugin_module())])
    monkeypatch.setattr(core_plugins, "_REGISTRY", reg)
    return reg


@pytest.fixture
def smoke_dict():
    return yaml.safe_load(SMOKE.read_text())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TTRL_KIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def cli_env(tmp_path: Path) -> dict:
    import os

    env = dict(os.environ)
    env["TTRL_KIT_CACHE"] = str(tmp_path / "cache")
    env.pop("WORLD_SIZE", None)
    return env


PY = sys.executable
