"""vLLM's top-k log-probs reach the group hook through the REAL openrlhf 0.11.2 code.

The samples generator, the single-turn agent executor and the experience conversion are
OpenRLHF's own; only vLLM (``ScriptedLLM``: per token the sampled token plus k-1 others of a
known distribution) and Ray are faked.  The scripted distributions put the tail mass
uniformly on the other tokens, where the top-k approximations are exact, so the signals the
estimator receives can be checked against the full-vocabulary definitions.
"""

from __future__ import annotations

import math
import re
import sys

import pytest

from ttrl_kit import ConfigError, GroupScorer
from ttrl_kit.core.topk import DEFAULT_TOPK
from ttrl_kit.engines.openrlhf import patch, topk_capture, worker_setup
from ttrl_kit.engines.openrlhf.config import TTRLConfig
from ttrl_kit.engines.openrlhf.group_hook import GroupRewarder

GEN_KW = dict(do_sample=True, max_len=512, max_new_tokens=None, temperature=1.0, top_p=1.0)
MARK = re.compile(r"\[(Q\d+)#(\d+)\]")


class SignalSpy:
    """Delegates to the real scorer and keeps the signals each estimator call received."""

    def __init__(self, real: GroupScorer) -> None:
        self.real = real
        self.needs = real.needs
        self.signals: list = []

    def score(self, responses, **kw):
        self.signals.append(kw.get("signals"))
        return self.real.score(responses, **kw)


def exact(lp: float, vocab: int) -> tuple[float, float]:
    """Entropy and KL(U || p) of the scripted distribution: one token with log-prob ``lp``,
    the rest of the mass uniform over the other ``vocab - 1``."""
    p = math.exp(lp)
    rest = (1.0 - p) / (vocab - 1)
    entropy = -p * lp - (1.0 - p) * math.log(rest)
    sc = -math.log(vocab) - (lp + (vocab - 1) * math.log(rest)) / vocab
    return entropy, sc


@pytest.fixture
def model_path(tmp_path, helpers):
    """A model directory whose config says vocab_size = the scripted vocabulary (the hook reads
    it through transformers' AutoConfig, as for a real model path)."""
    from transformers import LlamaConfig

    LlamaConfig(vocab_size=helpers.SCRIPTED_VOCAB, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                intermediate_size=8).save_pretrained(tmp_path)
    return str(tmp_path)


def run(rollout_modules, build_generator, helpers, estimator, answers, model_path, options=None, capture=True):
    """One generation call of the real SamplesGenerator with ``estimator`` in the hook."""
    if capture:
        topk_capture.install(rollout_modules.agent)
    spy = {}

    def factory():
        cfg = TTRLConfig(task="math", estimator=estimator, estimator_options=options or {}, n_votes=len(answers))

        def scorer_factory(c):
            spy["scorer"] = SignalSpy(GroupScorer.from_names(c.task, c.estimator, estimator_options=c.estimator_options))
            return spy["scorer"]

        return GroupRewarder(cfg, scorer_factory=scorer_factory)

    assert patch.install(rollout_modules.sg, rewarder_factory=factory) is True
    script = {"Q0": [f"[Q0#{k}] \\boxed{{{a}}}{' ~conf' if conf else ''}" for k, (a, conf) in enumerate(answers)]}
    gen, engine = build_generator(script, [""], helpers.make_args(n_train=2, batch_size=1, model=model_path))
    samples, _, _, _ = gen.generate_samples(**GEN_KW)
    return samples, engine, spy["scorer"]


def test_entropy_and_self_certainty_come_from_vllms_topk_through_the_real_executor(
    rollout_modules, build_generator, helpers, model_path
):
    answers = [(1, False), (2, True), (1, False), (2, True)]
    samples, engine, spy = run(rollout_modules, build_generator, helpers, "neg_entropy", answers, model_path)
    # the estimator needs a top-k signal: vLLM was asked for the top 20, nothing more
    assert engine.llm.requested == [DEFAULT_TOPK] * 4
    (signals,) = spy.signals
    assert signals.names == ("entropy",)
    text_len = [len(f"[Q0#{k}] \\boxed{{{a}}}{' ~conf' if c else ''}") + 1 for k, (a, c) in enumerate(answers)]
    for i, (_, conf) in enumerate(answers):
        want, _ = exact(-0.05 if conf else -3.0, helpers.SCRIPTED_VOCAB)
        row = signals.get("entropy")[i]
        assert len(row) == text_len[i]  # one value per generated token, EOS included
        assert row == pytest.approx([want] * text_len[i], rel=1e-9)  # uniform tail: exact
    # RENT rewards the confident (low-entropy) response among the trained two
    rewards = [s.rewards.item() for s in samples]
    assert rewards[1] > rewards[0]
    # the top-k rows do not travel on into OpenRLHF's experiences, nor do the log-probs we asked for
    assert all(s.rollout_log_probs is None for s in samples)


def test_self_certainty_from_the_topk(rollout_modules, build_generator, helpers, model_path):
    answers = [(3, True), (3, False), (4, True)]
    _, _, spy = run(rollout_modules, build_generator, helpers, "self_certainty", answers, model_path)
    (signals,) = spy.signals
    for i, (_, conf) in enumerate(answers):
        _, want = exact(-0.05 if conf else -3.0, helpers.SCRIPTED_VOCAB)
        row = signals.get("self_certainty")[i]
        assert row == pytest.approx([want] * len(row), rel=1e-9)  # uniform tail: the bound is exact


def test_deepconf_topk_confidence_reads_the_exact_topk(rollout_modules, build_generator, helpers, model_path):
    answers = [(1, False), (1, False), (2, True)]
    _, _, spy = run(
        rollout_modules, build_generator, helpers, "confidence", answers, model_path, options={"confidence": "topk"}
    )
    (signals,) = spy.signals
    assert signals.names == ("topk_logprobs",)
    lp = -0.05
    rest = math.log((1 - math.exp(lp)) / (helpers.SCRIPTED_VOCAB - 1))
    first = signals.get("topk_logprobs")[2][0]
    assert first == pytest.approx((lp,) + (rest,) * (DEFAULT_TOPK - 1))


def test_logprob_only_estimator_asks_for_one_logprob_and_no_topk_is_kept(
    rollout_modules, build_generator, helpers, model_path
):
    answers = [(1, False), (1, False), (2, True)]
    _, engine, spy = run(rollout_modules, build_generator, helpers, "confidence", answers, model_path)
    assert engine.llm.requested == [1, 1, 1]
    (signals,) = spy.signals
    assert signals.names == ("logprob",)


def test_an_executor_that_drops_the_topk_is_a_clear_error(rollout_modules, build_generator, helpers, model_path):
    # without the capture the real executor discards the top-k dict, as in plain OpenRLHF
    original = rollout_modules.agent.SingleTurnAgentExecutor.execute
    inner = getattr(original, "__wrapped__", original)
    rollout_modules.agent.SingleTurnAgentExecutor.execute = inner
    try:
        with pytest.raises(RuntimeError, match="no top-k log-probs aligned"):
            run(rollout_modules, build_generator, helpers, "neg_entropy", [(1, False), (2, True)], model_path,
                capture=False)
    finally:
        rollout_modules.agent.SingleTurnAgentExecutor.execute = original


def test_topk_signals_are_refused_under_openrlhfs_is_correction():
    from ttrl_kit.engines.openrlhf.launcher import _check_names

    for est in ("self_certainty", "neg_entropy", "certainty_vote"):
        _check_names(TTRLConfig(task="math", estimator=est), "off")
        with pytest.raises(ConfigError, match=f"estimator '{est}' needs signal .*is_correction_level token"):
            _check_names(TTRLConfig(task="math", estimator=est), "token")
    _check_names(TTRLConfig(task="math", estimator="confidence"), "seq")  # logprob only: fine


def test_the_hook_refuses_topk_under_correction_too(rollout_modules, build_generator, helpers, model_path):
    topk_capture.install(rollout_modules.agent)

    def factory():
        return GroupRewarder(TTRLConfig(task="math", estimator="neg_entropy"))

    patch.install(rollout_modules.sg, rewarder_factory=factory)
    args = helpers.make_args(n_train=2, batch_size=1, model=model_path)
    args.algo.advantage.is_correction_level = "token"
    gen, _ = build_generator({"Q0": ["\\boxed{1}"]}, [""], args)
    with pytest.raises(ConfigError, match="max_logprobs=1"):
        gen.generate_samples(**GEN_KW)


def test_requests_without_topk_pass_through_unchanged(rollout_modules):
    import asyncio
    from types import SimpleNamespace

    topk_capture.install(rollout_modules.agent)
    assert topk_capture.install(rollout_modules.agent) is False  # idempotent
    seen = []

    class Engine:
        async def generate(self, ids, params, multi_modal_data=None):
            seen.append(type(self).__name__)
            out = SimpleNamespace(token_ids=[65, 0], finish_reason="stop", logprobs=None)
            return SimpleNamespace(outputs=[out])

    class Tok:
        def __call__(self, text, add_special_tokens=False, return_tensors=None):
            import torch

            return {"input_ids": torch.tensor([[ord(c) for c in text]])}

    executor = rollout_modules.agent.SingleTurnAgentExecutor()
    out = asyncio.run(executor.execute("Q", "", SimpleNamespace(logprobs=None, max_tokens=4), 64, Tok(), Engine()))
    assert seen == ["Engine"]  # the executor talked to the engine itself, not to a recorder
    assert topk_capture.TOPK_KEY not in out


def test_the_worker_setup_hook_patches_the_agent_module_on_import(rollout_modules, monkeypatch):
    import importlib

    monkeypatch.delitem(sys.modules, topk_capture.AGENT_MODULE)
    worker_setup.setup()
    try:
        fresh = importlib.import_module(topk_capture.AGENT_MODULE)  # what the vLLM actor's import does
        assert fresh is not rollout_modules.agent
        for name in topk_capture.EXECUTORS:
            assert getattr(fresh, name).execute.__wrapped__ is not None
    finally:
        worker_setup.teardown()


def test_an_executor_of_another_shape_is_left_alone():
    from types import ModuleType

    class SingleTurnAgentExecutor:
        async def execute(self, prompt, sampling_params, llm_engine):  # not 0.11.2's signature
            return {}

    module = ModuleType("openrlhf.utils.agent")
    module.SingleTurnAgentExecutor = SingleTurnAgentExecutor
    original = SingleTurnAgentExecutor.execute
    assert topk_capture.install(module) is True
    assert SingleTurnAgentExecutor.execute is original
