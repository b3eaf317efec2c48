"""The bench grid with a fake sampler: caching, resume, metrics, report files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ttrl_kit.bench import run_bench
from ttrl_kit.bench.config import from_mapping
from ttrl_kit.bench.rollouts import load_cached, rollout_key
from ttrl_kit.core import metrics
from ttrl_kit.core.scoring import GroupScorer

from .helpers import Factory, never

ESTIMATORS = [
    "majority",
    "soft",
    {"name": "entropy", "options": {"weight": 0.75}},
    {"id": "majority-mc0.5", "name": "majority", "options": {"min_consensus": 0.5}},
    {"id": "majority-v4", "name": "majority", "n_votes": 4},
    {"id": "majority-t4", "name": "majority", "options": {"n_train": 4}},
]


def make_cfg(**over):
    data = {
        "name": "t",
        "seed": 0,
        "sampling": {"n": 8, "prompts_per_batch": 3},
        "models": [{"id": "fake", "name": "fake-model"}],
        "tasks": [
            {"id": "add1", "task": "math", "dataset": "arithmetic", "source": "add1",
             "dataset_options": {"n": 10, "seed": 0, "style": "boxed"}},
            {"id": "mul1", "task": "math", "dataset": "arithmetic", "source": "mul1",
             "dataset_options": {"n": 7, "seed": 1}},
        ],
        "estimators": ESTIMATORS,
    }
    data.update(over)
    return from_mapping(data, "bench.yaml")


def rows_by(res):
    return {(r["model"], r["task"], r["estimator"]): r for r in res.rows}


def test_grid_samples_once_per_model_task_and_scores_every_estimator(tmp_path):
    cfg = make_cfg()
    f = Factory()
    res = run_bench(cfg, out_dir=tmp_path, sampler_factory=f, progress=False)
    assert f.loaded == ["fake"]  # one model load for the whole grid
    # 10 prompts in chunks of 3 -> 4 calls; 7 prompts -> 3 calls; never once per estimator
    assert [c[0] for c in f.samplers[0].calls] == [3, 3, 3, 1, 3, 3, 1]
    assert res.computed == 12 and res.cached == 0 and res.sampled_groups == 17
    assert len(res.rows) == 12 and all(r["status"] == "ok" for r in res.rows)
    for name in ("results.csv", "results.jsonl", "results.md", "reward_accuracy_vs_majority_ratio.png",
                 "estimator_accuracy.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    with open(tmp_path / "results.csv") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert len(csv_rows) == 12
    assert {"label_accuracy", "reward_accuracy", "majority_ratio", "avg_at_k", "maj_at_k", "pass_at_k",
            "estimate_us_per_group"} <= set(csv_rows[0])
    md = (tmp_path / "results.md").read_text()
    assert "| fake | add1 | majority-mc0.5 |" in md


def test_metrics_match_a_direct_computation_on_the_cached_rollouts(tmp_path):
    cfg = make_cfg()
    res = run_bench(cfg, out_dir=tmp_path, sampler_factory=Factory(), progress=False)
    rollouts = load_cached(tmp_path, "fake", "add1", rollout_key(cfg, cfg.model("fake"), cfg.task("add1")))
    assert rollouts is not None and len(rollouts.groups) == 10
    scorer = GroupScorer.from_names("math", "majority")
    label, racc, avg, maj, mr = [], [], [], [], []
    for g in rollouts.groups:
        r = scorer.score(g.responses, gold=g.gold)
        label.append(r.label_correct)
        racc.append(r.reward_accuracy)
        avg.append(metrics.avg_at_k(r.sample_correct))
        mr.append(r.estimate.majority_ratio)
        cc = [any(ok for c2, ok in zip(r.classes.class_of, r.sample_correct) if c2 == c)
              for c in range(len(r.classes.representatives))]
        maj.append(metrics.maj_at_k(r.classes.class_of, cc))
    row = rows_by(res)[("fake", "add1", "majority")]
    assert row["label_accuracy"] == pytest.approx(sum(label) / 10)
    assert row["reward_accuracy"] == pytest.approx(sum(racc) / 10)
    assert row["avg_at_k"] == pytest.approx(sum(avg) / 10)
    assert row["maj_at_k"] == pytest.approx(sum(maj) / 10)
    assert row["majority_ratio"] == pytest.approx(sum(mr) / 10)
    assert 0 < row["avg_at_k"] < 1 and row["n_votes"] == 8 and row["n_train"] == 8


def test_estimator_variants_differ_where_they_should(tmp_path):
    res = run_bench(make_cfg(), out_dir=tmp_path, sampler_factory=Factory(p_correct=0.45), progress=False)
    rows = rows_by(res)
    base = rows[("fake", "add1", "majority")]
    # soft/entropy share the vote (same label) but not the rewards
    for eid in ("soft", "entropy"):
        assert rows[("fake", "add1", eid)]["label_accuracy"] == base["label_accuracy"]
    assert rows[("fake", "add1", "entropy")]["reward_mean"] < rows[("fake", "add1", "soft")]["reward_mean"]
    # n_votes=4 votes with the first 4 samples only
    assert rows[("fake", "add1", "majority-v4")]["n_votes"] == 4
    # n_train=4: rewards for 4 samples, 8 votes
    t4 = rows[("fake", "add1", "majority-t4")]
    assert t4["n_votes"] == 8 and t4["n_train"] == 4
    # min_consensus zeroes the rewards of thin majorities, never the label
    mc = rows[("fake", "add1", "majority-mc0.5")]
    assert mc["label_accuracy"] == base["label_accuracy"]
    assert mc["low_consensus_rate"] > 0
    assert mc["reward_mean"] < base["reward_mean"]


def test_rerun_of_a_finished_grid_loads_no_model_and_samples_nothing(tmp_path):
    cfg = make_cfg()
    first = run_bench(cfg, out_dir=tmp_path, sampler_factory=Factory(), progress=False)
    (tmp_path / "results.md").unlink()
    again = run_bench(cfg, out_dir=tmp_path, sampler_factory=never, progress=False)
    assert again.computed == 0 and again.cached == 12 and again.sampled_groups == 0
    assert (tmp_path / "results.md").is_file()  # the report is rebuilt from the cells
    assert [r["label_accuracy"] for r in again.rows] == [r["label_accuracy"] for r in first.rows]


def test_adding_an_estimator_reuses_the_rollouts(tmp_path):
    run_bench(make_cfg(), out_dir=tmp_path, sampler_factory=Factory(), progress=False)
    cfg = make_cfg(estimators=ESTIMATORS + [{"id": "soft-mc0.3", "name": "soft", "options": {"min_consensus": 0.3}}])
    f = Factory()
    res = run_bench(cfg, out_dir=tmp_path, sampler_factory=f, progress=False)
    assert res.computed == 2 and res.cached == 12
    assert f.calls == 0  # the factory may be built lazily, but nothing is sampled


def test_changed_sampling_invalidates_the_rollout_cache(tmp_path):
    run_bench(make_cfg(), out_dir=tmp_path, sampler_factory=Factory(), progress=False)
    cfg = make_cfg(sampling={"n": 8, "prompts_per_batch": 3, "temperature": 0.5})
    f = Factory()
    res = run_bench(cfg, out_dir=tmp_path, sampler_factory=f, progress=False)
    assert res.computed == 12 and res.sampled_groups == 17


def test_interrupted_sampling_resumes_with_identical_rollouts(tmp_path):
    cfg = make_cfg()
    ref = tmp_path / "ref"
    run_bench(cfg, out_dir=ref, sampler_factory=Factory(), progress=False)
    out = tmp_path / "crash"
    with pytest.raises(KeyboardInterrupt):
        run_bench(cfg, out_dir=out, sampler_factory=Factory(fail_after=2), progress=False)
    data = out / "rollouts" / "fake" / "add1.jsonl"
    assert len(data.read_text().splitlines()) == 6  # two finished chunks kept
    with data.open("a") as fh:  # a torn line, as after kill -9 mid-write
        fh.write('{"id": "add1-0-6", "respo')
    f = Factory()
    res = run_bench(cfg, out_dir=out, sampler_factory=f, progress=False)
    assert res.sampled_groups == 17 - 6
    for task in ("add1", "mul1"):
        a = (ref / "rollouts" / "fake" / f"{task}.jsonl").read_text()
        b = (out / "rollouts" / "fake" / f"{task}.jsonl").read_text()
        assert a == b
    assert [r["reward_accuracy"] for r in res.rows] == [
        r["reward_accuracy"] for r in run_bench(cfg, out_dir=ref, sampler_factory=never, progress=False).rows
    ]


def test_prompts_the_model_cannot_take_make_skipped_cells(tmp_path):
    cfg = make_cfg(tasks=[
        {"id": "add1", "task": "math", "dataset": "arithmetic", "source": "add1", "dataset_options": {"n": 3}},
        {"id": "visual", "task": "multimodal", "dataset": "visual_synth", "source": "count",
         "dataset_options": {"n": 2, "seed": 0, "image_dir": str(tmp_path / "img")}},
    ])
    res = run_bench(cfg, out_dir=tmp_path / "out", sampler_factory=Factory(), progress=False)
    vis = [r for r in res.rows if r["task"] == "visual"]
    assert vis and all(r["status"] == "skipped" and "text-only" in r["reason"] for r in vis)
    assert all(r["status"] == "ok" for r in res.rows if r["task"] == "add1")
    assert "skipped for 6 estimator(s): fake model is text-only" in (tmp_path / "out" / "results.md").read_text()
    again = run_bench(cfg, out_dir=tmp_path / "out", sampler_factory=never, progress=False)
    assert again.computed == 0


def test_results_jsonl_is_typed_and_complete(tmp_path):
    res = run_bench(make_cfg(), out_dir=tmp_path, sampler_factory=Factory(), progress=False, plots=False)
    lines = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert lines == res.rows
    assert isinstance(lines[0]["label_accuracy"], float)
    assert not (tmp_path / "estimator_accuracy.png").exists()


def test_report_only_builds_a_partial_report_without_sampling(tmp_path):
    cfg = make_cfg()
    with pytest.raises(KeyboardInterrupt):  # stopped inside the second task
        run_bench(cfg, out_dir=tmp_path, sampler_factory=Factory(fail_after=5), progress=False)
    part = run_bench(cfg, out_dir=tmp_path, sampler_factory=never, progress=False, report_only=True)
    assert part.computed == 0 and part.cached == 6 and part.missing == 6
    assert {r["task"] for r in part.rows} == {"add1"}
    assert "6 NOT RUN YET (partial report)" in (tmp_path / "results.md").read_text()
    full = run_bench(cfg, out_dir=tmp_path, sampler_factory=Factory(), progress=False)
    assert full.computed == 6 and full.cached == 6 and full.missing == 0


def test_unlabelled_groups_get_label_free_numbers_only():
    from ttrl_kit.bench.config import EstimatorSpec
    from ttrl_kit.bench.rollouts import Group, RolloutSet
    from ttrl_kit.bench.scoring import score_cell
    from ttrl_kit.core.plugins import get_registry

    rs = RolloutSet("m", "t", "k", "complete", [
        Group(id="a", gold=None, responses=["7", "7", "8", "no idea"]),
        Group(id="b", gold=None, responses=["1", "2", "3", "4"]),
    ])
    s = score_cell(rs, "math", {}, EstimatorSpec(id="mc", name="majority", options={"min_consensus": 0.5}),
                   get_registry())
    m = s.metrics
    assert m["label_accuracy"] is None and m["reward_accuracy"] is None and m["avg_at_k"] is None
    assert m["majority_ratio"] == pytest.approx((0.5 + 0.25) / 2)
    assert m["low_consensus_rate"] == pytest.approx(0.5) and m["abstain_ratio"] == pytest.approx(0.125)
    assert [g["label"] for g in s.groups] == ["7", "1"]
