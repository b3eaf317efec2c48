"""Hostile input through every reading command: one line naming file:line and the field, exit 2,
nothing on stdout and no output file; plugins that call ``sys.exit`` are isolated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ttrl_kit import PluginRegistry
from ttrl_kit.cli.main import main
from ttrl_kit.core.errors import InputError
from ttrl_kit.core.io import check_value, parse_json_line

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "ttrl_kit.cli.main"]

# (raw line as bytes, text the error must contain); each is the SECOND line of the file,
# after a good one, so "no partial output" is tested too.
HOSTILE_LINES = {
    "lone surrogate": (b'{"id": 1, "responses": ["\\ud800"], "pred": "\\ud800", "gold": "1"}', ":2: field "),
    "surrogate in a key": (b'{"id": 1, "responses": ["1"], "pred": "1", "gold": "1", "\\udc00": 1}', ":2: "),
    "nested 200k deep": (b'{"id": 1, "responses": ["1"], "pred": "1", "gold": "1", "x": ' + b"[" * 200_000
                         + b"]" * 200_000 + b"}", ":2: field 'x': nested more than"),
    "nested 150 deep": (b'{"id": 1, "responses": ["1"], "pred": "1", "gold": "1", "x": ' + b"[" * 150
                        + b"]" * 150 + b"}", ":2: field 'x': nested more than"),
    "5000-digit int": (b'{"id": ' + b"9" * 5000 + b', "responses": ["1"], "pred": "1", "gold": "1"}',
                       ":2: field 'id': an integer with 5000 digits"),
    "binary": (bytes(b for b in range(256) if b != 10) * 4, ":2: not valid UTF-8"),
    "invalid UTF-8": (b'{"id": 1, "responses": ["\xff\xfe"], "pred": "1", "gold": "1"}', ":2: not valid UTF-8"),
    "raw NUL": (b'{"id": 1, "responses": ["a\x00b"], "pred": "a\x00b", "gold": "1"}', ":2: invalid JSON"),
    "truncated": (b'{"id": 1, "responses": ["1"', ":2: invalid JSON"),
    "not an object": (b"[1, 2, 3]", ":2: expected a JSON object"),
}


def _write(path: Path, second: bytes) -> Path:
    good = json.dumps({"id": 0, "responses": ["1", "1"], "pred": "1", "gold": "1"}).encode()
    path.write_bytes(good + b"\n" + second + b"\n")
    return path


def _one_clean_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err[:2000]
    return lines[0]


@pytest.mark.parametrize("command", ["vote", "grade"])
@pytest.mark.parametrize("case", sorted(HOSTILE_LINES))
def test_hostile_line_is_one_error_and_nothing_is_written(tmp_path, capsys, command, case):
    raw, expected = HOSTILE_LINES[case]
    bad = _write(tmp_path / "in.jsonl", raw)
    out = tmp_path / "out.jsonl"
    # to stdout: nothing printed
    assert main([command, "--task", "math", "--input", str(bad)]) == 2
    cap = capsys.readouterr()
    line = _one_clean_line(cap.err)
    assert f"{bad}{expected}" in line, line
    assert cap.out == ""
    # to a file: no file, no leftover temporary
    assert main([command, "--task", "math", "--input", str(bad), "--output", str(out)]) == 2
    capsys.readouterr()
    assert not out.exists() and not list(tmp_path.glob("out.jsonl*"))


def test_surrogate_through_grade_and_vote_in_a_real_process(tmp_path):
    """The acceptance case, as a user runs it: no traceback, stdout empty, exit 2."""
    bad = tmp_path / "s.jsonl"
    bad.write_text('{"pred": "1", "gold": "1"}\n{"pred": "\\ud800", "gold": "1"}\n')
    groups = tmp_path / "g.jsonl"
    groups.write_text('{"id": 0, "responses": ["1"]}\n{"id": 1, "responses": ["\\ud800", "1"], "gold": "1"}\n')
    for args in (["grade", "--task", "math", "--input", str(bad)], ["vote", "--task", "math", "--input", str(groups)]):
        r = subprocess.run(CLI + args, capture_output=True, text=True, cwd=REPO, timeout=300)
        assert r.returncode == 2 and r.stdout == "", (r.stdout, r.stderr)
        assert ":2: field " in _one_clean_line(r.stderr) and "surrogate" in r.stderr


def test_vote_error_found_while_scoring_leaves_stdout_empty(tmp_path, capsys):
    groups = tmp_path / "g.jsonl"
    groups.write_text('{"id": 0, "responses": ["1", "1", "2", "1"]}\n{"id": 1, "responses": ["1"]}\n')
    assert main(["vote", "--task", "math", "--input", str(groups), "--option", "n_train=3"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and f"{groups}:2:" in _one_clean_line(cap.err)


def test_output_pointing_at_a_directory_is_one_error(tmp_path, capsys):
    groups = tmp_path / "g.jsonl"
    groups.write_text('{"id": 0, "responses": ["1"]}\n')
    assert main(["vote", "--task", "math", "--input", str(groups), "--output", str(tmp_path)]) == 2
    assert "is a directory" in _one_clean_line(capsys.readouterr().err)


def test_check_value_names_nested_fields():
    with pytest.raises(InputError, match=r"w: field 'a'\[1\]\['b'\]: not valid Unicode"):
        check_value({"a": [1, {"b": "x\udfffy"}]}, "w")
    assert parse_json_line('{"a": [1, {"b": "caf\\u00e9"}]}', "w") == {"a": [1, {"b": "café"}]}
    with pytest.raises(InputError, match="more than"):
        shared: list = list(range(100))
        check_value([[shared] * 2000] * 20, "w")  # a YAML alias bomb shape: small file, huge tree


def test_non_utf8_and_hostile_configs_are_one_line(tmp_path, capsys):
    groups = tmp_path / "g.jsonl"
    groups.write_text('{"id": 0, "responses": ["1"]}\n')
    cases = {
        "latin1.yaml": "suffix: caf\xe9\n".encode("latin-1"),
        "deep.json": b'{"suffix": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "bigint.yaml": b"suffix: " + b"9" * 5000 + b"\n",
        "deep.yaml": b"suffix: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    }
    for name, raw in cases.items():
        cfg = tmp_path / name
        cfg.write_bytes(raw)
        rc = main(["vote", "--task", "math", "--input", str(groups), "--task-config", str(cfg)])
        cap = capsys.readouterr()
        assert rc == 2 and cap.out == "", name
        assert str(cfg) in _one_clean_line(cap.err), (name, cap.err)


# --------------------------------------------------------------------------- plugins

def _make_dist(root: Path, dist: str, module: str, source: str) -> None:
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ttrl_kit]\n{module} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


EXIT_ON_IMPORT = "raise SystemExit(3)\n"
EXIT_IN_HOOK = """
from ttrl_kit import hookimpl

@hookimpl
def register_tasks(register):
    raise SystemExit(4)
"""
EXIT_IN_FACTORY_AND_METHODS = """
import sys
from ttrl_kit import KeyedTask, hookimpl

class ExitsInGrouping(KeyedTask):
    name = "exits_grouping"
    def group_answers(self, answers):
        sys.exit(5)

class ExitsInKey(KeyedTask):
    name = "exits_key"
    def canonical_key(self, answer):
        raise SystemExit(6)
    def extract_answer(self, response):
        if response == "boom":
            raise SystemExit(7)
        return response

def factory():
    raise SystemExit(8)

@hookimpl
def register_tasks(register):
    register("exits_grouping", ExitsInGrouping)
    register("exits_key", ExitsInKey)
    register("exits_factory", factory)
"""


@pytest.fixture
def exiting_site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    _make_dist(site, "exit-import", "tp_exit_import", EXIT_ON_IMPORT)
    _make_dist(site, "exit-hook", "tp_exit_hook", EXIT_IN_HOOK)
    _make_dist(site, "exit-methods", "tp_exit_methods", EXIT_IN_FACTORY_AND_METHODS)
    monkeypatch.syspath_prepend(str(site))
    for m in ("tp_exit_import", "tp_exit_hook", "tp_exit_methods"):
        sys.modules.pop(m, None)
    return site


def test_system_exit_in_plugins_is_isolated_in_process(exiting_site):
    reg = PluginRegistry()
    failures = {f.name: f for f in reg.failures}
    assert failures["tp_exit_import"].stage == "import" and "SystemExit: 3" in failures["tp_exit_import"].error
    assert failures["tp_exit_hook"].stage == "register_tasks" and "SystemExit: 4" in failures["tp_exit_hook"].error
    for name in ("math", "text_cls", "multimodal", "exits_grouping"):
        assert name in reg.tasks
    from ttrl_kit import ConfigError, GroupScorer
    from ttrl_kit.core.errors import PluginError

    with pytest.raises(ConfigError, match="exits_factory.*SystemExit"):
        reg.task("exits_factory")
    with pytest.raises(PluginError, match="group_answers raised SystemExit"):
        GroupScorer(reg.task("exits_grouping"), reg.estimator("majority")).score(["1", "1"])
    r = GroupScorer(reg.task("exits_key"), reg.estimator("majority")).score(["boom", "1", "1"])
    assert r.answers == (None, "1", "1") and r.classes.class_of == (None, None, None)  # every key abstains
    assert GroupScorer(reg.task("math"), reg.estimator("majority")).score(["1", "1", "2"]).label == "1"


def test_the_one_gold_grader_survives_a_plugin_that_exits(exiting_site, monkeypatch):
    """``core.task.grade`` is what ``ttrl-kit grade``, OpenRLHF's eval reward and verl's
    validation reward call: a plugin's SystemExit in extraction or comparison is a wrong
    answer there, never an exception inside an engine's reward loop."""
    from ttrl_kit.core.task import grade
    from ttrl_kit.engines.openrlhf import ttrl_reward_func

    task = PluginRegistry().task("exits_key")
    task.is_correct = lambda answer, gold: sys.exit(9)  # type: ignore[method-assign]
    assert grade(task, "boom", "1") is False  # extract_answer exits
    assert grade(task, "1", "1") is False  # is_correct exits
    monkeypatch.setattr(ttrl_reward_func, "_task", task)
    assert ttrl_reward_func.gold_reward("q boom", "q ", "1") == 0.0
    assert ttrl_reward_func.gold_reward("q 1", "q ", "1") == 0.0
    from ttrl_kit.core.plugins import get_registry

    math = get_registry().task("math")
    monkeypatch.setattr(ttrl_reward_func, "_task", math)
    assert ttrl_reward_func.gold_reward(r"q \boxed{4}", "q ", "4") == 1.0


def test_plugins_command_lists_a_plugin_that_exits_on_import(exiting_site, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(exiting_site), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run(CLI + ["plugins"], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Failed to load:" in r.stdout and "tp_exit_import" in r.stdout and "SystemExit: 3" in r.stdout
    assert "tp_exit_hook" in r.stdout and "Traceback" not in r.stderr
    for name in ("math", "text_cls", "multimodal", "majority"):
        assert name in r.stdout
    groups = tmp_path / "g.jsonl"
    groups.write_text('{"id": 0, "responses": ["1", "1", "2"]}\n')
    ok = subprocess.run(CLI + ["vote", "--task", "math", "--input", str(groups)], capture_output=True, text=True,
                        cwd=REPO, env=env, timeout=300)
    assert ok.returncode == 0 and json.loads(ok.stdout)["label"] == "1"
    bad = subprocess.run(CLI + ["vote", "--task", "exits_grouping", "--input", str(groups)], capture_output=True,
                         text=True, cwd=REPO, env=env, timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "SystemExit" in _one_clean_line(bad.stderr)
