"""Plugin loading through real entry points (``*.dist-info/entry_points.txt`` on sys.path)."""

import sys
import textwrap

import pytest

from ttrl_kit import ConfigError, PluginRegistry, UnknownNameError


def make_dist(root, dist, version, entry_points, modules):
    """Write an installed distribution: package modules plus a dist-info with entry points."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = ["[ttrl_kit]"] + [f"{k} = {v}" for k, v in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


GOOD = """
from ttrl_kit import KeyedTask, hookimpl

class Upper(KeyedTask):
    name = "upper"
    def canonical_key(self, answer):
        return answer.strip().upper()

@hookimpl
def register_tasks(register):
    register("upper", Upper, "case-insensitive strings")
"""

BROKEN_IMPORT = """
raise ImportError("this plugin needs a library that is missing")
"""

RAISING_HOOK = """
from ttrl_kit import hookimpl

@hookimpl
def register_tasks(register):
    raise RuntimeError("hook exploded")

@hookimpl
def register_estimators(register):
    from ttrl_kit.core.estimators import MajorityVote
    register("still_works", MajorityVote)
"""

CLASH = """
from ttrl_kit import hookimpl
from ttrl_kit.core.estimators import SoftFrequency

@hookimpl
def register_estimators(register):
    register("majority", SoftFrequency)
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    make_dist(tmp_path, "good-plugin", "1.2.3", {"good": "tp_good"}, {"tp_good": GOOD})
    make_dist(tmp_path, "broken-plugin", "0.1", {"broken": "tp_broken"}, {"tp_broken": BROKEN_IMPORT})
    make_dist(tmp_path, "raising-plugin", "0.1", {"raising": "tp_raising"}, {"tp_raising": RAISING_HOOK})
    make_dist(tmp_path, "clash-plugin", "0.1", {"clash": "tp_clash"}, {"tp_clash": CLASH})
    monkeypatch.syspath_prepend(str(tmp_path))
    for m in ("tp_good", "tp_broken", "tp_raising", "tp_clash"):
        sys.modules.pop(m, None)
    return tmp_path


def test_entry_point_plugins_load_and_failures_are_isolated(site):
    reg = PluginRegistry()
    assert "upper" in reg.tasks and reg.tasks["upper"].plugin == "good"
    info = {p.name: p for p in reg.plugins()}
    assert info["good"].package == "good-plugin" and info["good"].version == "1.2.3"
    assert info["good"].tasks == ("upper",)
    failures = {f.name: f for f in reg.failures}
    assert failures["broken"].stage == "import" and "missing" in failures["broken"].error
    assert failures["raising"].stage == "register_tasks" and "hook exploded" in failures["raising"].error
    # the raising plugin's *other* hook still contributed
    assert "still_works" in reg.estimators
    # a name clash keeps the first registration (the core's) and reports the later one
    assert reg.estimators["majority"].plugin == "ttrl_kit.core"
    assert "already registered" in failures["clash"].error
    # everything else keeps working
    task = reg.task("upper")
    assert task.group_answers(["a", "A", "b"]).class_of == (0, 0, 1)


def test_unknown_names_list_what_exists():
    reg = PluginRegistry(load_entry_points=False)
    with pytest.raises(UnknownNameError, match=r"unknown estimator 'majorit'.*did you mean 'majority'.*available: aligned, certainty_vote, confidence, entropy, majority, neg_entropy, self_certainty, soft"):
        reg.estimator("majorit")
    with pytest.raises(UnknownNameError, match="unknown task"):
        reg.task("nope")


def test_factory_errors_become_config_errors():
    reg = PluginRegistry(load_entry_points=False)
    with pytest.raises(ConfigError, match="unknown option 'colour'"):
        reg.estimator("majority", colour="red")


def test_builtin_plugins_are_found_via_entry_points():
    reg = PluginRegistry()
    for task in ("math", "text_cls", "multimodal"):
        assert task in reg.tasks, reg.failures
    assert {reg.tasks[t].plugin for t in ("math", "text_cls", "multimodal")} == {"math", "text_cls", "multimodal"}
    assert {"majority", "soft", "entropy"} <= set(reg.estimators)
