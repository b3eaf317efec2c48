"""Task options from a config file and K=V flags: one reader (core.io) for the CLI commands,
the OpenRLHF launcher and the bench."""

from __future__ import annotations

import pytest

from ttrl_kit import ConfigError
from ttrl_kit.bench.config import from_mapping as bench_config
from ttrl_kit.core.io import task_config_options, task_options


def test_bare_options_run_configs_and_flags_on_top(tmp_path):
    bare = tmp_path / "opts.yaml"
    bare.write_text("mode: strict\nsuffix: ''\n")
    run = tmp_path / "run.yaml"
    run.write_text("task:\n  name: math\n  options: {suffix: 'x'}\nmodel: {name: m}\n")
    assert task_config_options(bare, "math") == {"mode": "strict", "suffix": ""}
    assert task_config_options(run, "math") == {"suffix": "x"}
    assert task_options("math", str(run), ["suffix=y", "mode=lenient"]) == {"suffix": "y", "mode": "lenient"}
    assert task_options("math", None, None) == {}
    with pytest.raises(ConfigError, match="task.name is 'math' but the task is 'text_cls'"):
        task_options("text_cls", str(run), [])


def test_the_bench_reads_task_config_the_same_way_and_names_its_field(tmp_path):
    (tmp_path / "bad.yaml").write_text("task:\n  name: math\n  options: [1, 2]\n")
    data = {
        "models": [{"id": "m", "name": "tiny-random"}],
        "tasks": [{"task": "math", "dataset": "arithmetic", "source": "add1", "task_config": str(tmp_path / "bad.yaml")}],
        "estimators": ["majority"],
    }
    with pytest.raises(ConfigError, match=r"^b\.yaml: field 'tasks\[0\]\.task_config': .*task.options must be a mapping"):
        bench_config(data, "b.yaml")
