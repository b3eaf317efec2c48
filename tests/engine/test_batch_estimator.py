"""The embedded engine with a batch-aware, stateful estimator and a few labels: the running
state is saved with every checkpoint and restored by --resume; labelled questions are
chosen deterministically and rewarded against gold."""

from __future__ import annotations

import copy
import json

import pytest

from ttrl_kit import ConfigError
from ttrl_kit.core.batch import STATE_FILE
from ttrl_kit.engines.embedded.config import from_mapping
from ttrl_kit.engines.embedded.data import LABELLED_COLUMN, PreparedRow, mark_labelled, to_trl_dataset
from ttrl_kit.engines.embedded.engine import train


def _rows(n, gold="7"):
    return [PreparedRow(id=f"q{i}", prompt=[{"role": "user", "content": "x"}], gold=gold) for i in range(n)]


def test_labelled_selection_is_deterministic_and_sized():
    raw = [{} for _ in range(40)]
    a = [r.id for r in mark_labelled(_rows(40), raw, 0.25, None, 0, "c.yaml") if r.labelled]
    b = [r.id for r in mark_labelled(_rows(40), raw, 0.25, None, 0, "c.yaml") if r.labelled]
    c = [r.id for r in mark_labelled(_rows(40), raw, 0.25, None, 1, "c.yaml") if r.labelled]
    assert a == b and len(a) == 10 and a != c
    assert not any(r.labelled for r in mark_labelled(_rows(40), raw, 0.0, None, 0, "c.yaml"))
    assert LABELLED_COLUMN not in to_trl_dataset(_rows(3)).column_names  # label-free: no column at all


def test_labelled_column_and_missing_gold():
    raw = [{"gold_ok": True}, {"gold_ok": "no"}, {"gold_ok": 1}]
    rows = mark_labelled(_rows(3), raw, 0.0, "gold_ok", 0, "c.yaml")
    assert [r.labelled for r in rows] == [True, False, True]
    assert to_trl_dataset(rows)[LABELLED_COLUMN] == [True, False, True]
    with pytest.raises(ConfigError, match=r"c.yaml: field 'ttrl.labeled_fraction': question 'q0' is labelled but has no"):
        mark_labelled(_rows(1, gold=None), [{}], 1.0, None, 0, "c.yaml")


def test_labeled_fraction_is_validated(smoke_dict):
    d = copy.deepcopy(smoke_dict)
    d["ttrl"]["labeled_fraction"] = 1.5
    with pytest.raises(ConfigError, match="ttrl.labeled_fraction"):
        from_mapping(d, "s.yaml")


@pytest.mark.slow
def test_aligned_state_survives_resume_and_labels_reach_their_groups(smoke_dict, tmp_path, cache, test_registry):
    data = tmp_path / "q.jsonl"
    data.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"say {i}", "answer": str(i)}) + "\n" for i in range(4)))
    d = copy.deepcopy(smoke_dict)
    d["data"] = {"dataset": "testfile", "source": str(data), "options": {}}
    d["task"] = {"name": "testnum", "options": {}}
    d["estimator"] = {"name": "aligned", "options": {"window": 4}}
    d["ttrl"]["labeled_fraction"] = 0.5
    d["train"]["max_steps"] = 3
    d["eval"] = {"before": False, "after": False}
    d["checkpoint"]["save_final"] = False
    run = tmp_path / "run"
    train(from_mapping(d, "s.yaml"), run, log=lambda m: None)

    ckpts = run / "checkpoints"
    for name in ("checkpoint-2", "checkpoint-3"):
        saved = json.loads((ckpts / name / STATE_FILE).read_text())
        assert saved["estimator"] == "aligned" and set(saved["state"]) == {"sums", "mass", "groups"}
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("gold_reward_share" in x for x in lines)  # 2 of the 4 questions are rewarded against gold

    # a crash after checkpoint-2: its state (made distinctive here) must carry into step 3
    marked = {"estimator": "aligned", "state": {"sums": {"zzz": 3.0}, "mass": 3.0, "groups": 1000}}
    (ckpts / "checkpoint-2" / STATE_FILE).write_text(json.dumps(marked))
    for p in (ckpts / "checkpoint-3").iterdir():
        p.unlink()
    (ckpts / "checkpoint-3").rmdir()
    (run / "summary.json").unlink(missing_ok=True)
    meta = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**meta, "status": "running"}))
    logs: list[str] = []
    train(from_mapping(d, "s.yaml"), run, resume=True, log=logs.append)
    assert any("estimator state: restored from" in m and "checkpoint-2" in m for m in logs)
    after = json.loads((ckpts / "checkpoint-3" / STATE_FILE).read_text())["state"]
    assert after["groups"] >= 1000 and "zzz" in after["sums"]
