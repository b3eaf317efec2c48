"""Bench config parsing: defaults, ids, one-line errors naming file and field; the
shipped configs parse and name only registered tasks/datasets/estimators."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ttrl_kit.bench.config import check_names, from_mapping, load_bench_config
from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.plugins import get_registry

REPO = Path(__file__).resolve().parents[2]

TASK = {"id": "add1", "task": "math", "dataset": "arithmetic", "source": "add1"}


def cfg(**over):
    data = {"models": ["smollm2-135m"], "tasks": [TASK], "estimators": ["majority"]}
    data.update(over)
    return data


def test_defaults_and_short_forms():
    c = from_mapping(cfg(), "b.yaml")
    assert c.name == "b" and c.output == "runs/bench/b" and c.modes == ("estimate",)
    assert c.models[0].id == "smollm2-135m" and c.models[0].dtype == "bf16"
    assert c.estimators[0].id == "majority" and c.estimators[0].n_votes is None
    assert c.tasks[0].sampling.n == 8
    assert c.train.tasks == ("add1",) and c.train.estimators == ("majority",)


def test_hub_ids_and_paths_get_file_safe_ids():
    c = from_mapping(cfg(models=["Qwen/Qwen2.5-0.5B-Instruct", "./models/my model/"]), "b.yaml")
    assert [m.id for m in c.models] == ["Qwen_Qwen2.5-0.5B-Instruct", "models_my_model"]


def test_per_task_sampling_overrides_the_grid_default():
    c = from_mapping(cfg(sampling={"n": 6, "max_new_tokens": 32},
                         tasks=[TASK, {**TASK, "id": "b", "sampling": {"max_new_tokens": 9}}]), "b.yaml")
    assert (c.tasks[0].sampling.n, c.tasks[0].sampling.max_new_tokens) == (6, 32)
    assert (c.tasks[1].sampling.n, c.tasks[1].sampling.max_new_tokens) == (6, 9)


@pytest.mark.parametrize(
    "over, message",
    [
        ({"modelz": []}, "b.yaml: field 'modelz': unknown key"),
        ({"models": []}, "field 'models': expected a non-empty list"),
        ({"models": [{"name": "x", "dtype": "fp16"}]}, "field 'models[0].dtype': expected bf16 or fp32"),
        ({"tasks": [{**TASK, "limit": 0}]}, "field 'tasks[0].limit': expected >= 1"),
        ({"tasks": [{**TASK, "sampling": {"temperature": 0}}]}, "field 'tasks[0].sampling.temperature'"),
        ({"tasks": [{**TASK, "sampling": {"nn": 3}}]}, "field 'tasks[0].sampling.nn': unknown key"),
        ({"tasks": [TASK, TASK]}, "field 'tasks[1].id': duplicate id 'add1'"),
        ({"estimators": [{"name": "majority", "n_votes": 9}]}, "field 'estimators[0].n_votes': 9 > sampling.n=8"),
        ({"estimators": [{"id": "a b", "name": "majority"}]}, "field 'estimators[0].id'"),
        ({"modes": ["fit"]}, "field 'modes'"),
        ({"train": {"tasks": ["nope"]}}, "field 'train.tasks[0]': unknown id 'nope'"),
        ({"tasks": [{**TASK, "task_config": "missing.yaml"}]}, "field 'tasks[0].task_config': file not found"),
    ],
)
def test_errors_name_the_file_and_field(over, message):
    with pytest.raises(ConfigError) as exc:
        from_mapping(cfg(**over), "b.yaml")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_task_config_reads_the_task_section_of_a_run_config(tmp_path):
    (tmp_path / "run.yaml").write_text("task:\n  name: math\n  options: {x: 1}\n")
    c = from_mapping(cfg(tasks=[{**TASK, "task_config": str(tmp_path / "run.yaml"), "task_options": {"y": 2}}]), "b.yaml")
    assert dict(c.tasks[0].task_options) == {"x": 1, "y": 2}
    (tmp_path / "other.yaml").write_text("task:\n  name: text_cls\n")
    with pytest.raises(ConfigError, match="task.name is 'text_cls'"):
        from_mapping(cfg(tasks=[{**TASK, "task_config": str(tmp_path / "other.yaml")}]), "b.yaml")


@pytest.mark.parametrize(
    "over, message",
    [
        ({"estimators": ["majorty"]}, "field 'estimators[0]': unknown estimator 'majorty' (did you mean 'majority'?)"),
        ({"estimators": [{"name": "majority", "options": {"min_consensus": 2}}]}, "min_consensus"),
        ({"estimators": [{"name": "majority", "options": {"n_train": 9}}]}, "options.n_train': 9 > 8 votes"),
        ({"tasks": [{**TASK, "task": "maths"}]}, "field 'tasks[0].task': unknown task 'maths'"),
        ({"tasks": [{**TASK, "dataset": "arith"}]}, "field 'tasks[0].dataset': unknown dataset 'arith'"),
    ],
)
def test_registry_names_are_checked_before_any_model_loads(over, message):
    c = from_mapping(cfg(**over), "b.yaml")
    with pytest.raises(ConfigError) as exc:
        check_names(c, get_registry())
    assert message in str(exc.value)


@pytest.mark.parametrize("name", ["cpu_smoke.yaml", "cpu_full.yaml", "cpu_signal_train.yaml"])
def test_shipped_configs_parse_and_resolve(name, monkeypatch):
    monkeypatch.chdir(REPO)
    path = REPO / "configs" / "bench" / name
    if not path.exists():
        pytest.skip(f"{name} not written yet")
    c = load_bench_config(path)
    check_names(c, get_registry())
    assert "majority" in {e.name for e in c.estimators}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_bench_never_imports_a_plugin():
    plugins = {p.name for p in (REPO / "plugins").glob("*/ttrl_*") if p.is_dir()}
    files = list((REPO / "ttrl_kit" / "bench").rglob("*.py")) + [REPO / "ttrl_kit" / "cli" / "cmd_bench.py"]
    bad = [f"{f.name}: {m}" for f in files for m in _imports(f) if m.split(".")[0] in plugins]
    assert bad == []


def test_train_cells_pick_any_estimator_of_the_grid():
    c = from_mapping(cfg(estimators=["majority", "soft"], train={"estimators": ["soft"], "engine": {"train": {"max_steps": 2}}}),
                     "b.yaml")
    assert c.train.estimators == ("soft",) and c.train.engine["train"]["max_steps"] == 2
    with pytest.raises(ConfigError, match="field 'train.estimators\\[0\\]': unknown id 'entropy'"):
        from_mapping(cfg(train={"estimators": ["entropy"]}), "b.yaml")
