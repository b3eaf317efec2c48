"""The label-free stop and checkpoint pick inside the embedded engine (tiny random model)."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from ttrl_kit.engines.embedded.config import from_mapping
from ttrl_kit.engines.embedded.engine import train

PROMPTS = ["What is 1 + 2?", "What is 4 + 4?", "What is 2 + 5?", "What is 3 + 3?"]
GOLD = ["3", "8", "7", "6"]


def _run(smoke_dict, tmp_path, name, golds, **stop):
    data = tmp_path / f"{name}.jsonl"
    data.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p, "answer": g}) + "\n"
                            for i, (p, g) in enumerate(zip(PROMPTS, golds))))
    d = copy.deepcopy(smoke_dict)
    d["data"] = {"dataset": "testfile", "source": str(data), "options": {}}
    d["task"] = {"name": "testnum", "options": {}}
    d["train"].update(max_steps=5, threads=1)  # "auto" may pick 1 or 2 threads by timing: other float sums
    d["stop"] = stop
    d["eval"].update(checkpoints=1)
    run = tmp_path / name
    summary = train(from_mapping(d, f"{name}.yaml"), run, log=lambda m: None)
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return run, summary, metrics


@pytest.mark.slow
def test_gold_never_moves_the_stop_or_the_pick(smoke_dict, tmp_path, cache, test_registry):
    """Two runs that differ only in their gold answers (the second has them permuted) stop at
    the same step and pick the same checkpoint; gold did reach both (their evaluations
    differ in the gold each question was graded against)."""
    # consensus 0.2: the tiny model's groups (majority ratio >= 0.25) count as collapsed, so
    # the rule fires after one window (4 questions / 2 per step = 2 steps), before max_steps 5
    a, sa, ma = _run(smoke_dict, tmp_path, "gold", GOLD, consensus=0.2)
    b, sb, mb = _run(smoke_dict, tmp_path, "permuted", GOLD[1:] + GOLD[:1], consensus=0.2)
    assert [m["health"] for m in ma] == [m["health"] for m in mb]
    ra, rb = (json.loads((r / "run.json").read_text()) for r in (a, b))
    assert ra["stopped_by_rule"] == rb["stopped_by_rule"]
    assert ra["stopped_by_rule"]["step"] == 2 == ra["global_step"]  # stopped itself, before max_steps
    assert ra["stopped_by_rule"]["reason"] == "collapsed"
    assert (sa["pick"]["pick"], sa["pick"]["scores"]) == (sb["pick"]["pick"], sb["pick"]["scores"])
    golds = [{json.loads(x)["gold"] for x in (r / "eval_after_questions.jsonl").read_text().splitlines()
              if json.loads(x)["id"] == "q0"} for r in (a, b)]
    assert golds == [{"3"}, {"8"}]

    # the summary's three rows, the pick kept as a model, the snapshots gone, the health plot
    rows = sa["checkpoints"]["test"]
    assert set(rows) == {"base", "last", "pick", "gold_best"}
    assert rows["last"]["step"] == 2 and rows["base"]["step"] == 0
    assert rows["gold_best"]["avg@k"] >= max(rows["last"]["avg@k"], rows["pick"]["avg@k"])
    sel = json.loads((a / "selection.json").read_text())
    assert sel["pick"]["step"] == sa["pick"]["pick"]["step"] in (1, 2)
    assert not (a / "snapshots").exists()
    kept = a / ("picked_model" if sel["pick"]["step"] != 2 else "final_model")
    assert (kept / "model.safetensors").is_file()
    assert (a / "plots" / "health.png").stat().st_size > 1000
    md = (a / "summary.md").read_text()
    assert "Training stopped itself after step 2 (collapsed" in md
    for title in ("last checkpoint", "label-free pick", "gold-best checkpoint (reporting only)"):
        assert f"| {title} |" in md


@pytest.mark.slow
def test_stop_disabled_runs_to_max_steps_and_still_picks(smoke_dict, tmp_path, cache, test_registry):
    run, summary, metrics = _run(smoke_dict, tmp_path, "off", GOLD, enabled=False, consensus=0.2)
    assert [m["step"] for m in metrics] == [1, 2, 3, 4, 5]
    for m in metrics:
        assert set(m["health"]) >= {"majority_ratio", "answer_entropy", "distinct_answers", "zero_variance_share",
                                    "unanimous_share", "abstain_share", "mean_length", "token_entropy"}
    assert json.loads((run / "run.json").read_text())["stopped_by_rule"] is None
    # window 2: checkpoint c is scored on steps c..c+1, so checkpoints 1..4 are scored, 5 is not
    assert sorted(int(s) for s in summary["pick"]["scores"]) == [1, 2, 3, 4]
    assert "the stop rule did not fire" in (run / "summary.md").read_text()
    # each evaluated snapshot is that step's model, not the last one (a plain deepcopy of the
    # trained model ran the last weights: every snapshot row read like the last checkpoint)
    after = (run / "eval_after_questions.jsonl").read_text()
    steps = sorted(run.glob("eval_step-*_questions.jsonl"))
    assert steps and any(f.read_text() != after for f in steps)  # neighbours may sample alike


@pytest.mark.slow
def test_resume_after_the_stop_step_trains_no_further(smoke_dict, tmp_path, cache, test_registry):
    """Killed after the stop step's checkpoint but before the evaluations: --resume reloads
    that checkpoint, trains 0 steps, and reports the same stop as the uninterrupted run."""
    run, _, metrics = _run(smoke_dict, tmp_path, "gold", GOLD, consensus=0.2)
    first = json.loads((run / "run.json").read_text())["stopped_by_rule"]
    assert first["step"] == 2
    # what a kill between the stop and the end of the evaluations leaves behind
    for name in ("summary.json", "summary.md", "selection.json"):
        (run / name).unlink()
    d = copy.deepcopy(json.loads((run / "run.json").read_text()))
    d["status"] = "running"
    (run / "run.json").write_text(json.dumps(d))
    cfg = from_mapping(yaml.safe_load((run / "config.yaml").read_text()), "config.yaml")
    summary = train(cfg, run, resume=True, log=lambda m: None)
    after = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in after] == [m["step"] for m in metrics] == [1, 2]
    rj = json.loads((run / "run.json").read_text())
    assert rj["global_step"] == 2 and rj["stopped_by_rule"] == first
    assert rj["status"] == "complete" and summary["checkpoints"]["test"]["last"]["step"] == 2
