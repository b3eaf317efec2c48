"""The TTRL group hook inside the REAL openrlhf 0.11.2 SamplesGenerator (CPU, Ray/vLLM faked).

Responses are scripted per prompt and carry a marker "[<prompt>#<k>]" so each trained
sample can be traced back to the exact generation it came from.
"""

from __future__ import annotations

import math
import re
import sys

import pytest
import torch

from ttrl_kit import GroupScorer
from ttrl_kit.engines.openrlhf import patch
from ttrl_kit.engines.openrlhf.config import TTRLConfig
from ttrl_kit.engines.openrlhf.group_hook import GroupRewarder

GEN_KW = dict(do_sample=True, max_len=512, max_new_tokens=None, temperature=1.0, top_p=1.0)
MARK = re.compile(r"\[(Q\d+)#(\d+)\]")


def script_of(answers: dict[str, list[int]]) -> dict[str, list[str]]:
    return {p: [f"[{p}#{k}] step by step ... so the answer is \\boxed{{{a}}}" for k, a in enumerate(ans)]
            for p, ans in answers.items()}


class SpyScorer:
    """Records every estimator call (the responses it saw) and delegates to the real scorer."""

    def __init__(self, real: GroupScorer) -> None:
        self.real = real
        self.calls: list[list[str]] = []

    def score(self, responses, **kw):
        self.calls.append(list(responses))
        return self.real.score(responses, **kw)


def install_spy(sg, n_votes=None):
    spy = {}

    def factory():
        cfg = TTRLConfig(task="math", estimator="majority", n_votes=n_votes)

        def scorer_factory(c):
            spy["scorer"] = SpyScorer(GroupScorer.from_names(c.task, c.estimator))
            return spy["scorer"]

        return GroupRewarder(cfg, scorer_factory=scorer_factory)

    assert patch.install(sg, rewarder_factory=factory) is True
    return spy


def traced(experiences, tok):
    """(prompt, k, reward) for each experience, read back from its token sequence."""
    out = []
    for e in experiences:
        text = tok.decode(e.sequences[0])
        m = MARK.search(text)
        assert m, text
        out.append((m.group(1), int(m.group(2)), e.rewards.item()))
    return out


def test_one_estimator_call_per_prompt_sees_the_whole_group_and_rewards_land_on_their_samples(
    rollout_modules, build_generator, helpers
):
    answers = {"Q0": [7, 7, 3, 7], "Q1": [2, 5, 5, 9]}
    spy = install_spy(rollout_modules.sg)
    gen, engine = build_generator(script_of(answers), ["", ""], helpers.make_args(n_train=4, batch_size=2))

    samples, _, consumed, _ = gen.generate_samples(**GEN_KW)

    calls = spy["scorer"].calls
    assert len(calls) == 2  # one estimator call per prompt, never per sample
    for call in calls:
        prompts = {MARK.search(t).group(1) for t in call}
        assert len(call) == 4 and len(prompts) == 1  # the whole group of ONE prompt
        assert sorted(int(MARK.search(t).group(2)) for t in call) == [0, 1, 2, 3]
        assert not any("<eos>" in t for t in call)  # decoded without special tokens
    expected = {("Q0", k): r for k, r in enumerate([1.0, 1.0, 0.0, 1.0])}
    expected |= {("Q1", k): r for k, r in enumerate([0.0, 1.0, 1.0, 0.0])}
    got = traced(samples, gen.tokenizer)
    assert {(p, k): r for p, k, r in got} == expected and len(got) == 8
    for e in samples:  # the shapes OpenRLHF's experience maker expects
        assert e.rewards.shape == (1,) and e.scores.shape == (1,)
        assert e.info["reward"].item() == e.rewards.item()
    ratios = {traced([e], gen.tokenizer)[0][0]: e.info["ttrl/majority_ratio"].item() for e in samples}
    assert ratios == {"Q0": 0.75, "Q1": 0.5}
    assert consumed == 2 and [r["num_samples"] for r in engine.requests] == [4, 4]
    assert gen._ttrl_training is False  # the training flag does not leak into eval


def test_n_votes_larger_than_n_train_votes_on_all_and_trains_on_the_first(
    rollout_modules, build_generator, helpers, experience_maker_module
):
    # Over all 8 votes the majority is 2 (Q0) / 6 (Q1); over the first 4 it would be 1 / 5.
    answers = {"Q0": [1, 1, 2, 3, 2, 2, 2, 4], "Q1": [5, 5, 5, 6, 6, 6, 6, 6]}
    spy = install_spy(rollout_modules.sg, n_votes=8)
    args = helpers.make_args(n_train=4, batch_size=2)
    gen, engine = build_generator(script_of(answers), ["", ""], args)

    samples, _, _, _ = gen.generate_samples(**GEN_KW)

    assert [r["num_samples"] for r in engine.requests] == [8, 8]  # vLLM drew n_votes
    assert [len(c) for c in spy["scorer"].calls] == [8, 8]  # the vote saw all of them
    got = traced(samples, gen.tokenizer)
    assert len(got) == 8  # n_train per prompt reach the trainer
    assert {(p, k): r for p, k, r in got} == {
        ("Q0", 0): 0.0, ("Q0", 1): 0.0, ("Q0", 2): 1.0, ("Q0", 3): 0.0,
        ("Q1", 0): 0.0, ("Q1", 1): 0.0, ("Q1", 2): 0.0, ("Q1", 3): 1.0,
    }

    # OpenRLHF's own advantage code groups with reshape(-1, n_samples_per_prompt) = n_train.
    maker_mod = experience_maker_module
    maker = maker_mod.RemoteExperienceMaker.__new__(maker_mod.RemoteExperienceMaker)
    maker.advantage_estimator = "group_norm"
    maker.kl_ctl = type("KL", (), {"value": 0.0})()
    maker.tokenizer = gen.tokenizer
    full_args = helpers.make_args(n_train=4, batch_size=2)
    full_args.train = type("T", (), {"dynamic_batch_enable": False})()
    full_args.rollout.micro_batch_size = 3  # deliberately not a multiple of the group size
    full_args.reward = type("R", (), {"clip_range": (-10, 10), "overlong_buffer_len": None,
                                      "stop_properly_penalty_coef": None})()
    full_args.algo.advantage.estimator = "group_norm"
    full_args.algo.advantage.gamma = 1.0
    full_args.algo.advantage.no_std_norm = False
    maker.strategy = type("S", (), {"args": full_args})()
    maker.args = full_args
    batches = maker.split_rollout_samples(samples)
    for b in batches:
        b.kl = torch.zeros_like(b.action_mask, dtype=torch.float)
        b.values = None
    batches = maker.compute_advantages_and_returns(batches)

    rewards = {"Q0": torch.tensor([0.0, 0.0, 1.0, 0.0]), "Q1": torch.tensor([0.0, 0.0, 0.0, 1.0])}
    norm = {p: (r - r.mean()) / (r.std() + 1e-9) for p, r in rewards.items()}
    checked = 0
    for b in batches:
        for i in range(b.sequences.shape[0]):
            p, k = MARK.search(gen.tokenizer.decode(b.sequences[i])).groups()
            adv = b.advantages[i][b.action_mask[i].bool()]
            torch.testing.assert_close(adv, torch.full_like(adv, norm[p][int(k)].item()))
            checked += 1
    assert checked == 8


def test_labels_feed_metrics_only_never_rewards(rollout_modules, build_generator, helpers):
    answers = {"Q0": [7, 7, 3, 7], "Q1": [2, 5, 5, 9]}
    install_spy(rollout_modules.sg)
    # Gold for Q1 is 2: a gold-based reward would be [1,0,0,0]; TTRL must still give [0,1,1,0].
    gen, _ = build_generator(script_of(answers), ["7", "2"], helpers.make_args(4, 2, label_key="answer"))
    samples, _, _, _ = gen.generate_samples(**GEN_KW)
    got = {(p, k): r for p, k, r in traced(samples, gen.tokenizer)}
    assert [got[("Q1", k)] for k in range(4)] == [0.0, 1.0, 1.0, 0.0]
    info = samples[0].info
    assert info["ttrl/label_accuracy"].item() == pytest.approx(0.5)  # Q0 right, Q1 wrong
    # Q0 4/4; Q1 1/4: the wrong answer 9 rightly gets 0 (TTRL's "lucky hit")
    assert info["ttrl/reward_accuracy"].item() == pytest.approx(0.625)
    assert info["ttrl/avg_at_k"].item() == pytest.approx(0.5)  # Q0 3/4, Q1 1/4
    assert info["ttrl/maj_at_k"].item() == pytest.approx(0.5)  # Q0's plurality 7 right, Q1's 5 wrong
    assert info["ttrl/pass_at_k"].item() == pytest.approx(1.0)  # each prompt has a right sample
    assert "ttrl/gold_accuracy" not in info  # avg@n has one name, the core's
    assert all(set(e.info) == set(info) for e in samples)  # same keys: OpenRLHF concatenates them


def test_no_label_key_logs_no_label_metrics(rollout_modules, build_generator, helpers):
    install_spy(rollout_modules.sg)
    gen, _ = build_generator(script_of({"Q0": [1, 1, 2, 1]}), [""], helpers.make_args(4, 1))
    samples, _, _, _ = gen.generate_samples(**GEN_KW)
    assert not any(k.endswith(("accuracy", "_at_k")) for k in samples[0].info)
    assert samples[0].info["ttrl/answer_entropy"].shape == (1,)


def test_evaluation_is_untouched(rollout_modules, build_generator, helpers):
    answers = {"Q0": [7, 3, 7, 7], "Q1": [2, 5, 5, 9]}
    labels = ["7", "5"]

    def eval_rewards(gen):
        out = gen.generate_eval_samples(**(GEN_KW | {"temperature": 0.6, "n_samples_per_prompt": 2}))
        return [(p, k, r) for p, k, r in traced(out, gen.tokenizer)], [e.info.keys() for e in out]

    plain_gen, plain_engine = build_generator(script_of(answers), labels, helpers.make_args(4, 2, "answer"))
    plain, plain_keys = eval_rewards(plain_gen)

    spy = install_spy(rollout_modules.sg)
    gen, engine = build_generator(script_of(answers), labels, helpers.make_args(4, 2, "answer"))
    hooked, hooked_keys = eval_rewards(gen)

    # Gold-graded by the per-sample reward file, exactly as without the hook.
    assert hooked == plain == [("Q0", 0, 1.0), ("Q0", 1, 0.0), ("Q1", 0, 0.0), ("Q1", 1, 1.0)]
    assert [set(k) for k in hooked_keys] == [set(k) for k in plain_keys]
    assert "scorer" not in spy  # the estimator was never even built
    assert [r["num_samples"] for r in engine.requests] == [2, 2]


def test_dynamic_filtering_uses_ttrl_scores_and_draws_a_replacement(rollout_modules, build_generator, helpers):
    # Q0: unanimous -> all rewards 1 -> mean 1 is outside (0, 1) -> dropped, Q2 replaces it.
    answers = {"Q0": [4, 4, 4, 4], "Q1": [1, 1, 2, 3], "Q2": [8, 9, 9, 9]}
    install_spy(rollout_modules.sg)
    args = helpers.make_args(4, 2, dynamic=True)
    gen, engine = build_generator(script_of(answers), ["", "", ""], args)
    samples, pass_rate, consumed, _ = gen.generate_samples(**GEN_KW)
    assert {p for p, _, _ in traced(samples, gen.tokenizer)} == {"Q1", "Q2"}
    assert consumed == 3 and pass_rate == pytest.approx(8 / 3 * 100)
    assert [r["prompt"] for r in engine.requests] == ["Q0", "Q1", "Q2"]


def test_hook_reads_its_config_from_the_env_var(rollout_modules, build_generator, helpers, ttrl_env):
    ttrl_env(estimator="majority", n_votes=6)
    patch.install(rollout_modules.sg)  # default factory: TTRLConfig.from_env()
    gen, engine = build_generator(script_of({"Q0": [3, 1, 1, 3, 3, 2]}), [""], helpers.make_args(4, 1))
    samples, _, _, _ = gen.generate_samples(**GEN_KW)
    assert engine.requests[0]["num_samples"] == 6
    assert [r for _, _, r in sorted(traced(samples, gen.tokenizer))] == [1.0, 0.0, 0.0, 1.0]


def test_n_votes_below_n_train_is_a_clear_error(rollout_modules, build_generator, helpers):
    from ttrl_kit import ConfigError

    install_spy(rollout_modules.sg, n_votes=2)
    gen, _ = build_generator(script_of({"Q0": [1, 1, 1, 1]}), [""], helpers.make_args(4, 1))
    with pytest.raises(ConfigError, match="n_votes=2 is smaller"):
        gen.generate_samples(**GEN_KW)


def test_install_is_idempotent_and_checks_the_openrlhf_surface(rollout_modules):
    sg = rollout_modules.sg
    assert patch.install(sg, rewarder_factory=lambda: None) is True
    patched = sg.SamplesGenerator._generate_vllm
    assert patch.install(sg, rewarder_factory=lambda: None) is False
    assert sg.SamplesGenerator._generate_vllm is patched

    class Old:
        def generate_samples(self): ...

    fake = type(sys)("fake_sg")
    fake.SamplesGenerator = Old
    fake._collect_prompt_batch = lambda *a: None
    with pytest.raises(patch.OpenRLHFVersionError, match="_generate_vllm"):
        patch.install(fake)


def test_label_metrics_are_nan_not_zero_when_no_group_is_labelled():
    from ttrl_kit.engines.openrlhf.group_hook import label_metrics

    scorer = GroupScorer.from_names("math", "majority")
    values = label_metrics([scorer.score(["1", "1", "2"], n_train=2)])
    assert values and all(math.isnan(v) for v in values.values())


def test_confidence_estimator_reads_vllm_logprobs_in_the_group_hook(rollout_modules, build_generator, helpers):
    # 3 of 5 votes say 1 with logprob -3, 2 say 2 with logprob -0.05 ("~conf"): confidence picks 2.
    script = {"Q0": [f"[Q0#{k}] so \\boxed{{{a}}}{' ~conf' if a == 2 else ''}" for k, a in enumerate([1, 2, 1, 2, 1])]}

    def factory():
        return GroupRewarder(TTRLConfig(task="math", estimator="confidence", n_votes=5))

    assert patch.install(rollout_modules.sg, rewarder_factory=factory) is True
    args = helpers.make_args(n_train=4, batch_size=1)
    gen, engine = build_generator(script, [""], args)
    samples, _, _, _ = gen.generate_samples(**GEN_KW)
    got = traced(samples, gen.tokenizer)
    assert {(p, k): r for p, k, r in got} == {("Q0", 0): 0.0, ("Q0", 1): 1.0, ("Q0", 2): 0.0, ("Q0", 3): 1.0}
    # OpenRLHF's correction is off here: the log-probs we asked for do not reach its loss
    assert all(s.rollout_log_probs is None for s in samples)


def test_majority_asks_vllm_for_no_logprobs(rollout_modules, build_generator, helpers):
    install_spy(rollout_modules.sg)
    gen, engine = build_generator(script_of({"Q0": [1, 1, 2, 1]}), [""], helpers.make_args(n_train=4, batch_size=1))
    samples, _, _, _ = gen.generate_samples(**GEN_KW)
    assert all(s.rollout_log_probs is None for s in samples)
    assert engine.llm.calls  # generation happened without log-probs (the stub returns none unless asked)
    assert set(engine.llm.requested) == {None}


def test_launcher_accepts_every_signal_estimator_when_the_correction_is_off():
    # all four signals are supplied (entropy / self_certainty as top-k bounds, test_topk_signals.py)
    from ttrl_kit.engines.openrlhf.launcher import _check_names

    for est in ("confidence", "self_certainty", "neg_entropy", "certainty_vote"):
        _check_names(TTRLConfig(task="math", estimator=est))


def test_health_is_logged_with_and_without_labels(rollout_modules, build_generator, helpers, tmp_path):
    """Every experience carries the batch's label-free health (ttrl/health_*); gold labels
    (right, wrong or none) do not change it; with a health log each batch adds one JSON line."""
    import json

    answers = {"Q0": [7, 7, 7, 7], "Q1": [2, 5, 5, 9]}
    current = {}
    assert patch.install(
        rollout_modules.sg,
        rewarder_factory=lambda: GroupRewarder(
            TTRLConfig(task="math", estimator="majority", health_log=str(current["log"]))
        ),
    )
    out = []
    for i, (label_key, labels) in enumerate(((None, ["", ""]), ("answer", ["7", "2"]), ("answer", ["1", "1"]))):
        current["log"] = tmp_path / f"health-{i}.jsonl"
        gen, _ = build_generator(script_of(answers), labels, helpers.make_args(4, 2, label_key=label_key))
        samples, _, _, _ = gen.generate_samples(**GEN_KW)
        health = {k: v.item() for k, v in samples[0].info.items() if k.startswith("ttrl/health_")}
        assert math.isnan(health["ttrl/health_token_entropy"])  # not measured by this engine: NaN, not 0
        health = {k: v for k, v in health.items() if not math.isnan(v)}
        keys = [{k for k in e.info if k.startswith("ttrl/health_")} for e in samples]
        assert all(k == keys[0] for k in keys) and len(keys[0]) == 10  # every StepHealth field
        lines = [json.loads(x) for x in current["log"].read_text().splitlines()]
        assert len(lines) == 1 and lines[0]["call"] == 1
        out.append((health, lines[0]["health"], samples[0].info.get("ttrl/label_accuracy")))
    assert out[0][:2] == out[1][:2] == out[2][:2]
    assert out[1][2].item() != out[2][2].item()  # the labels did differ
    health, line, _ = out[0]
    assert health["ttrl/health_majority_ratio"] == pytest.approx((1.0 + 0.5) / 2)
    assert health["ttrl/health_zero_variance_share"] == pytest.approx(0.5)  # Q0 unanimous
    assert health["ttrl/health_unanimous_share"] == pytest.approx(0.5)
    assert health["ttrl/health_distinct_answers"] == pytest.approx((1 + 3) / 2)
    assert line["majority_ratio"] == health["ttrl/health_majority_ratio"]


def test_aligned_vote_streams_groups_and_starts_from_a_resumed_state(rollout_modules, build_generator, helpers):
    """The hook sees groups one at a time: a batch-aware estimator gets batches of one and its
    running state advances per group, starting from the state a resumed checkpoint stashed."""
    answers = {"Q0": [7, 7, 3, 7], "Q1": [2, 5, 5, 9]}
    made = {}

    def factory():
        made["rewarder"] = GroupRewarder(TTRLConfig(task="math", estimator="aligned"))
        return made["rewarder"]

    assert patch.install(rollout_modules.sg, rewarder_factory=factory) is True
    gen, _engine = build_generator(script_of(answers), ["", ""], helpers.make_args(n_train=4, batch_size=2))
    gen._ttrl_state = {"estimator": "aligned", "state": {"sums": {"zzz": 2.0}, "mass": 2.0, "groups": 500}}
    samples, _, _, _ = gen.generate_samples(**GEN_KW)
    state = made["rewarder"].scorer.state_record()["state"]
    assert state["groups"] == 502 and "zzz" in state["sums"]  # resumed state + the two groups, one by one
    assert made["rewarder"].calls == 2 and len(samples) == 8
