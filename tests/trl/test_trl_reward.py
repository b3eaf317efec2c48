"""The public TRL reward function (``ttrl_kit.trl``): whole groups across processes, rewards equal
to one process, picklable, TTRL stats through TRL's ``log_metric``."""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from ttrl_kit import ConfigError
from ttrl_kit.trl import GroupSplitError, TTRLReward, ttrl_reward

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from step_data import STEP  # noqa: E402


def _call(reward, rows, **extra):
    return reward(prompts=[r["prompt"] for r in rows], completions=[r["completion"] for r in rows],
                  id=[r["id"] for r in rows], answer=[r["answer"] for r in rows], **extra)


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env.pop("WORLD_SIZE", None)
    return env


def test_one_process_votes_per_group():
    r = ttrl_reward("math", "majority", gold_column="answer", num_generations=4)
    rewards = _call(r, STEP)
    assert rewards == [1, 1, 0, 1,  0, 1, 1, 0,  1, 0, 0, 0,  0, 0, 1, 1]
    s = r.last.summary()
    assert s["groups"] == 4.0 and s["label_accuracy"] == 0.5  # b (6 vs 5) and c (1 vs 4) are wrong


def test_step_stats_are_the_estimators_own_stats():
    """The logged step numbers are the core summary of the step (Estimate.stats averaged over
    groups), so the training log, the bench and `ttrl-kit vote` agree; with abstain=false the
    answer entropy is over the classes the vote saw (the empty answer is one of them)."""
    from ttrl_kit import summarise

    rows = [{"prompt": "p", "completion": c, "id": "g", "answer": "3"} for c in ("3", "no answer", "no answer", "4")]
    r = ttrl_reward("math", "majority", estimator_options={"abstain": False}, gold_column="answer", num_generations=4)
    _call(r, rows)
    s, core = r.last.summary(), summarise(r.last.results)
    assert r.last.results[0].label == ""  # the original TTRL rule: the empty answer won
    assert s["answer_entropy"] == core["answer_entropy"] == r.last.results[0].estimate.stats["answer_entropy"]
    assert s["answer_entropy"] == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    assert s["abstain_ratio"] == 0.5 and s["reward_mean"] == 0.5 and s["zero_variance_groups"] == 0.0
    assert s["train_avg_at_n"] == 0.25 and s["low_consensus_groups"] == 0.0


def test_two_gloo_processes_vote_whole_groups_and_match_one_process(tmp_path):
    """torch.distributed.run, 2 CPU ranks (gloo); group b is cut between rank 0 and rank 1."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(HERE / "reward_worker.py"), str(tmp_path)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    assert [len(x["rows"]) for x in ranks] == [7, 9]
    # every estimator call saw a whole group of 4, and each of the 4 groups was scored exactly once
    assert sorted(c for x in ranks for c in x["calls"]) == [4, 4, 4, 4]
    got = {i: rew for x in ranks for i, rew in zip(x["rows"], x["rewards"])}
    single = _call(ttrl_reward("math", "majority", gold_column="answer", num_generations=4), STEP)
    assert [got[i] for i in range(len(STEP))] == single
    # both ranks log the same step statistics (TRL averages them across ranks)
    assert ranks[0]["metrics"] == ranks[1]["metrics"] and ranks[0]["metrics"]["ttrl/groups"] == 4.0


def test_batch_estimator_sees_the_whole_step_once_on_rank_0(tmp_path):
    """2 gloo ranks, the aligned (batch-aware) vote: rank 0 scores all 4 groups in ONE
    estimate_batch call, rank 1 none; every rank gets the rewards one process computes."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(HERE / "reward_worker.py"), str(tmp_path), "aligned"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in range(2)]
    assert ranks[0]["batch_calls"] == [[4, 4, 4, 4]] and ranks[1]["batch_calls"] == []
    got = {i: rew for x in ranks for i, rew in zip(x["rows"], x["rewards"])}
    single = _call(ttrl_reward("math", "aligned", gold_column="answer", num_generations=4), STEP)
    assert [got[i] for i in range(len(STEP))] == single


def test_labelled_rows_get_gold_rewards_and_the_rest_never_see_gold():
    flags = [r["id"] == "b" for r in STEP]  # group b (vote 6, gold 5) is labelled
    r = ttrl_reward("math", "majority", gold_column="answer", num_generations=4, labelled_column="lab")
    rewards = _call(r, STEP, lab=flags)
    assert rewards[4:8] == [1, 0, 0, 0]  # b by correctness against gold "5"
    plain = _call(ttrl_reward("math", "majority", gold_column="answer", num_generations=4), STEP)
    assert rewards[:4] + rewards[8:] == plain[:4] + plain[8:]
    # other groups' rewards do not move when their gold changes: gold only reached group b
    wrong = [dict(x, answer="12345") if x["id"] != "b" else x for x in STEP]
    assert _call(ttrl_reward("math", "majority", gold_column="answer", num_generations=4, labelled_column="lab"),
                 wrong, lab=flags) == rewards
    s = r.last.summary()
    assert s["gold_reward_share"] == 0.25 and s["label_accuracy_gold_rewarded"] == 0.0
    assert s["label_accuracy_vote_rewarded"] == pytest.approx(2 / 3)
    with pytest.raises(ConfigError, match="labelled_column needs gold_column"):
        ttrl_reward("math", "majority", labelled_column="lab")


def test_split_or_merged_group_is_one_clear_error():
    r = ttrl_reward("math", num_generations=4)
    with pytest.raises(GroupSplitError, match="prompt 'a': 3 samples in this step, expected 4"):
        _call(r, STEP[:3])
    # without an id column two identical prompts would merge into one group of 8
    rows = [dict(x, prompt="same") for x in STEP[:8]]
    with pytest.raises(GroupSplitError, match="8 samples"):
        r(prompts=[x["prompt"] for x in rows], completions=[x["completion"] for x in rows])


def test_prompt_is_the_key_without_an_id_column():
    r = ttrl_reward("math", num_generations=4)
    rows = STEP[4:8] + STEP[:4]
    assert r(prompts=[x["prompt"] for x in rows], completions=[x["completion"] for x in rows]) == [0, 1, 1, 0, 1, 1, 0, 1]


def test_picklable_and_the_copy_scores_the_same():
    r = ttrl_reward("math", "majority", estimator_options={"min_consensus": 0.6}, num_generations=4)
    r2 = pickle.loads(pickle.dumps(r))
    assert isinstance(r2, TTRLReward) and r2.__name__ == "ttrl"
    assert _call(r2, STEP) == _call(r, STEP)


def test_stats_go_to_trl_log_metric_and_gold_never_changes_rewards():
    logged: dict[str, float] = {}
    r = ttrl_reward("math", gold_column="answer", num_generations=4)
    a = _call(r, STEP, log_metric=logged.__setitem__)
    assert {"ttrl/reward_mean", "ttrl/majority_ratio", "ttrl/label_accuracy", "ttrl/reward_accuracy"} <= set(logged)
    wrong_gold = [dict(x, answer="12345") for x in STEP]
    assert _call(r, wrong_gold) == a


def test_bad_names_fail_at_construction():
    with pytest.raises(ConfigError):
        ttrl_reward("no-such-task")
    with pytest.raises(ConfigError, match="name a task"):
        TTRLReward()


@pytest.mark.slow
def test_example_script_under_accelerate_two_processes_matches_one_process_vote(tmp_path):
    """examples/trl_grpo_ttrl.py, a tiny random model, `accelerate launch --num_processes 2` on CPU:
    every step's groups are whole across ranks, one of them straddles the ranks, and the
    rewards equal a one-process vote over the same samples in the same order."""
    rec = tmp_path / "rec"
    cmd = [str(Path(sys.executable).with_name("accelerate")), "launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           str(REPO / "examples" / "trl_grpo_ttrl.py"), "--model", "tiny-random", "--out", str(tmp_path / "out"),
           "--max-steps", "2", "--record", str(rec)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    by_step: dict[int, list[dict]] = defaultdict(list)
    ranks_of: dict[tuple[int, str], set[int]] = defaultdict(set)
    for rank in (0, 1):
        for line in (rec / f"rank{rank}.jsonl").read_text().splitlines():
            row = json.loads(line)
            by_step[row["step"]].append(row)  # rank 0's rows first, as TRL gathers them
            ranks_of[(row["step"], row["id"])].add(rank)
    assert sorted(by_step) == [0, 1]
    assert any(len(r) == 2 for r in ranks_of.values()), "no group straddled the ranks"
    one = ttrl_reward("math", "majority", num_generations=4)
    for step, rows in by_step.items():
        assert set(Counter(r["id"] for r in rows).values()) == {4}
        expected = one(prompts=[None] * len(rows), completions=[r["completion"] for r in rows],
                       id=[r["id"] for r in rows])
        assert [r["reward"] for r in rows] == expected, step
