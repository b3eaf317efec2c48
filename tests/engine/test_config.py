"""Bad configs fail at once (before any model loads) with one line naming file and field."""

from __future__ import annotations

import copy
import subprocess

import pytest
import yaml

from ttrl_kit import ConfigError
from ttrl_kit.engines.embedded.config import from_mapping, load_config
from ttrl_kit.engines.embedded.engine import prepare_run

from .conftest import PY, REPO, cli_env, write_yaml


def _with(base, **dotted):
    d = copy.deepcopy(base)
    for key, value in dotted.items():
        node = d
        parts = key.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return d


def test_smoke_and_demo_configs_are_valid():
    for path in sorted((REPO / "configs").glob("*/*.yaml")):
        if path.parent.name in ("demo", "smoke"):
            cfg = load_config(path)
            assert cfg.ttrl.n_train <= cfg.ttrl.n_votes


@pytest.mark.parametrize(
    "change, field",
    [
        ({"train__lerning_rate": 1e-5}, "train.lerning_rate"),
        ({"bogus": 1}, "bogus"),
        ({"ttrl__n_train": 8, "ttrl__n_votes": 4}, "ttrl.n_train"),
        ({"ttrl__n_train": 1, "ttrl__n_votes": 1}, "ttrl.n_train"),
        ({"train__micro_batch_size": 3}, "train.micro_batch_size"),
        ({"train__max_steps": 0}, "train.max_steps"),
        ({"model__dtype": "fp8"}, "model.dtype"),
        ({"train__learning_rate": "fast"}, "train.learning_rate"),
        ({"generation__top_p": 1.5}, "generation.top_p"),
        ({"checkpoint__keep": 1}, "checkpoint.keep"),
        ({"train__threads": "many"}, "train.threads"),
        ({"train__threads": 0}, "train.threads"),
        ({"stop__window": 0}, "stop.window"),
        ({"stop__consensus": 1.5}, "stop.consensus"),
        ({"stop__zero_variance": 0}, "stop.zero_variance"),
        ({"stop__tolerance": -0.1}, "stop.tolerance"),
        ({"stop__min_steps": -1}, "stop.min_steps"),
        ({"stop__enabled": "yes"}, "stop.enabled"),
        ({"stop__patience": 3}, "stop.patience"),
        ({"eval__checkpoints": -1}, "eval.checkpoints"),
    ],
)
def test_static_errors_name_the_field(smoke_dict, change, field):
    with pytest.raises(ConfigError) as exc:
        from_mapping(_with(smoke_dict, **change), "my.yaml")
    msg = str(exc.value)
    assert msg.startswith("my.yaml: ") and repr(field) in msg and "\n" not in msg


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"task__name": "nosuchtask"}, "task", "unknown task"),
        ({"estimator__name": "nosuchest"}, "estimator", "unknown estimator"),
        ({"data__dataset": "nosuchdata"}, "data.dataset", "unknown dataset"),
        ({"data__dataset": "testfile", "data__source": "/nonexistent/q.jsonl", "data__options": {}}, "data.source", "not found"),
        ({"train__prompts_per_step": 50, "train__micro_batch_size": 4}, "train.prompts_per_step", "only 4 rows"),
        ({"data__heldout": {"options": {"n": 4, "seed": 0}}}, "data.heldout", "also training questions"),
    ],
)
def test_registry_errors_before_model_load(test_registry, smoke_dict, change, field, words):
    cfg = from_mapping(_with(smoke_dict, **change), "my.yaml")
    with pytest.raises(ConfigError) as exc:
        prepare_run(cfg)
    msg = str(exc.value)
    assert msg.startswith("my.yaml: "), msg
    assert repr(field) in msg and words in msg and "\n" not in msg


def test_duplicate_prompt_ids_refused(test_registry, smoke_dict, tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text('{"id": "a", "prompt": "1+1", "answer": "2"}\n{"id": "a", "prompt": "2+2", "answer": "4"}\n')
    d = _with(smoke_dict, data__dataset="testfile", data__source=str(f), data__options={}, task__name="testnum",
              task__options={}, train__prompts_per_step=1)
    with pytest.raises(ConfigError, match="duplicate prompt id 'a'"):
        prepare_run(from_mapping(d, "my.yaml"))


def test_several_processes_need_micro_batches_that_divide_each_ranks_share(test_registry, smoke_dict, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")  # 2 prompts x 4 samples = 8 per step, micro-batch 4 x 3 ranks
    with pytest.raises(ConfigError, match="'train.micro_batch_size': 4 x 3 processes does not divide"):
        prepare_run(from_mapping(smoke_dict, "my.yaml"))
    monkeypatch.setenv("WORLD_SIZE", "2")  # groups are gathered across ranks: no refusal any more
    prepare_run(from_mapping(smoke_dict, "my.yaml"))


def test_cli_bad_config_is_one_line_exit_2(tmp_path, smoke_dict):
    cfg = write_yaml(tmp_path / "bad.yaml", _with(smoke_dict, ttrl__n_votes=2, ttrl__n_train=4))
    r = subprocess.run([PY, "-m", "ttrl_kit.cli.main", "train", str(cfg), "--output", str(tmp_path / "run")],
                       capture_output=True, text=True, env=cli_env(tmp_path), timeout=120)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(cfg) in lines[0] and "'ttrl.n_train'" in lines[0]
    assert not (tmp_path / "run").exists()


def _fake_rounds(monkeypatch, rounds):
    """Make the probe's timer replay ``rounds`` = [(1-thread s, 2-thread s), ...] in order."""
    from ttrl_kit.engines.embedded import threads

    queue = {1: [r[0] for r in rounds], 2: [r[1] for r in rounds]}
    monkeypatch.setattr(threads, "_time_small_ops", lambda t, ops: queue[t].pop(0))
    return queue


def test_threads_auto_takes_the_faster_count_and_keeps_the_default_on_a_tie(monkeypatch):
    import os

    from ttrl_kit.engines.embedded import config, threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    _fake_rounds(monkeypatch, [(1.0, 0.6)] * 5)
    assert config.resolve_threads("auto") == 2  # idle cores: 2 threads faster
    _fake_rounds(monkeypatch, [(1.0, 1.1)] * 5)
    assert config.resolve_threads("auto") == 2  # within the margin: the default
    left = _fake_rounds(monkeypatch, [(1.0, 3.0)] * 5)
    result = threads.probe()
    assert result.choice == 1 and not result.noisy  # oversubscribed: barrier stalls, 1 thread wins
    assert len(result.seconds[1]) == 3 and len(left[1]) == 2  # 3 of 3 rounds agree: decided early
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert config.resolve_threads("auto") == 1
    assert config.resolve_threads(3) == 3


def test_threads_auto_is_not_fooled_by_one_lucky_round_of_every_core(monkeypatch):
    """The first probe kept each candidate's best round: one quiet moment for the all-cores
    timing outweighed its stalls.  The mean and the per-round votes see the stalls."""
    from ttrl_kit.engines.embedded import threads

    _fake_rounds(monkeypatch, [(0.20, 0.15), (0.20, 0.80), (0.20, 0.90), (0.20, 0.70), (0.20, 0.85)])
    result = threads.probe(ncpu=2)
    assert result.choice == 1 and result.noisy  # min() would have said 0.15 < 0.20: every core
    assert min(result.seconds[2]) < min(result.seconds[1])


def test_threads_auto_falls_back_to_every_core_when_the_rounds_disagree(monkeypatch):
    from ttrl_kit.engines.embedded import threads

    # the mean favours 1 thread (one long stall), the rounds do not: noise, keep the default
    _fake_rounds(monkeypatch, [(0.20, 0.18), (0.20, 2.00), (0.20, 0.19), (0.20, 0.30), (0.20, 0.30)])
    result = threads.probe(ncpu=2)
    assert result.mean(1) * threads.MARGIN < result.mean(2)
    assert result.choice == 2 and result.noisy
    assert len(result.seconds[2]) == 3  # two rounds against 1 thread: decided, no more rounds
    # 1 thread wins the rounds but not the mean by the margin: the default too
    _fake_rounds(monkeypatch, [(0.20, 0.24), (1.00, 0.30), (0.20, 0.24), (0.20, 0.24), (0.20, 0.24)])
    assert threads.probe(ncpu=2).choice == 2


def test_busy_cores_reads_proc_stat_deltas(tmp_path, monkeypatch):
    from ttrl_kit.engines.embedded import config

    stat = tmp_path / "stat"
    header = "cpu  {u} 0 {s} {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\ncpu1 1 0 0 1 0 0 0 0 0 0\nintr 5\n"
    stat.write_text(header.format(u=1000, s=100, idle=5000))
    # one core fully busy over the interval: 100 busy + 100 idle jiffies across 2 CPUs
    monkeypatch.setattr("time.sleep", lambda s: stat.write_text(header.format(u=1090, s=110, idle=5100)))
    assert config.busy_cores(stat_path=str(stat)) == pytest.approx(1.0)
    assert config.busy_cores(stat_path=str(tmp_path / "missing")) is None
    monkeypatch.undo()
    import os

    real = config.busy_cores(interval=0.1)
    if os.path.exists("/proc/stat"):
        assert real is not None and 0.0 <= real <= (os.cpu_count() or 1) + 0.5


def test_eval_targets_are_checked_field_by_field():
    from ttrl_kit.engines.embedded.config import from_mapping

    d = yaml.safe_load((REPO / "configs" / "demo" / "ttrl_add1.yaml").read_text())
    assert from_mapping(d, "demo.yaml").eval.targets == {"test": {"avg_at_k": 0.95}, "heldout": {"avg_at_k": 0.9}}
    for bad, message in [
        ({"tset": {}}, "field 'eval.targets.tset': unknown split; known: test, heldout"),
        ({"test": {"avg": 1}}, "field 'eval.targets.test.avg': unknown metric"),
        ({"test": {"avg_at_k": 2}}, "field 'eval.targets.test.avg_at_k': expected a number in [0, 1], got 2"),
        ({"test": {"avg_at_k": True}}, "expected a number in [0, 1], got True"),
        ([1], "field 'eval.targets': expected a mapping"),
    ]:
        d["eval"]["targets"] = bad
        with pytest.raises(ConfigError) as e:
            from_mapping(d, "demo.yaml")
        assert message in str(e.value) and "\n" not in str(e.value)


def test_target_checks_report_met_or_missed_by_how_much(tmp_path):
    from ttrl_kit.engines.embedded.config import from_mapping
    from ttrl_kit.engines.embedded.run_dir import RunDir
    from ttrl_kit.engines.embedded.summary import _targets_markdown, target_checks

    d = yaml.safe_load((REPO / "configs" / "demo" / "ttrl_add1.yaml").read_text())
    cfg = from_mapping(d, "demo.yaml")
    row = lambda step, avg, pas, none: {"step": step, "avg@k": avg, "maj@16": 0.9, "pass@16": pas,  # noqa: E731
                                        "no_correct": none, "n_questions": 24}
    checkpoints = {
        "test": {"base": row(0, 0.38, 0.958, 1), "last": row(11, 0.93, 0.917, 2), "pick": row(10, 0.91, 0.958, 1)},
        "heldout": {"base": row(0, 0.39, 1.0, 0), "last": row(11, 0.95, 1.0, 0), "pick": row(10, 0.92, 1.0, 0)},
    }
    t = target_checks(RunDir(tmp_path), cfg, checkpoints)
    assert t["result"] == "label-free pick" and t["step"] == 10  # the pick, not the (better) last
    by = {(c["split"], c["check"].split(" ")[0]): c for c in t["checks"]}
    assert by[("test", "avg@16")]["met"] is False and by[("test", "avg@16")]["missed_by"] == pytest.approx(0.04)
    assert by[("test", "pass@16")]["met"] is True  # equal to the base is not below it
    assert by[("test", "no")]["met"] is False and by[("test", "no")]["missed_by"] == 1
    assert all(c["met"] for c in t["checks"] if c["split"] == "heldout")
    md = "\n".join(_targets_markdown({"targets": t}))
    assert "| trained questions | avg@16 >= 0.95 | 0.910 | **missed** by 0.040 |" in md
    assert "**missed**: 1 question(s)" in md
