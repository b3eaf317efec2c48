"""The bench with signal estimators: signals cached with the rollouts, correlation and
AUROC columns that tell continuous rewards apart (fake sampler, no model)."""

from __future__ import annotations

import json

import pytest

from ttrl_kit import ConfigError
from ttrl_kit.bench import run_bench
from ttrl_kit.bench.config import from_mapping

from .helpers import FakeSampler, question_sum


class SignalSampler(FakeSampler):
    """FakeSampler that also records per-token signals: correct answers are sampled with
    high log-probability / self-certainty, wrong ones with low (a calibrated model)."""

    def __init__(self) -> None:
        super().__init__(p_correct=0.5)
        self.signals: tuple[str, ...] = ()
        self.last_signals: list[dict] = []

    def record_signals(self, names):
        self.signals = tuple(names)

    def __call__(self, prompts, spec, seed):
        out = super().__call__(prompts, spec, seed)
        self.last_signals = []
        for p, group in zip(prompts, out):
            truth = str(question_sum(p))
            ok = [r.endswith(" " + truth) for r in group]
            per = {"logprob": [[-0.1, -0.2] if c else [-2.0, -2.5] for c in ok],
                   "self_certainty": [[3.0, 2.0] if c else [1.0, 0.5] for c in ok],
                   "entropy": [[0.2] if c else [1.5] for c in ok]}
            self.last_signals.append({k: v for k, v in per.items() if k in self.signals})
        return out


def cfg(estimators):
    return from_mapping({
        "name": "sig", "seed": 0, "sampling": {"n": 8, "prompts_per_batch": 4},
        "models": [{"id": "fake", "name": "fake-model"}],
        "tasks": [{"id": "add1", "task": "math", "dataset": "arithmetic", "source": "add1",
                   "dataset_options": {"n": 12, "seed": 0, "style": "boxed"}}],
        "estimators": estimators,
    }, "bench.yaml")


def test_signal_estimators_scored_on_cached_signals_with_corr_and_auroc(tmp_path):
    ests = ["majority", "soft", "confidence", "self_certainty", "neg_entropy", "certainty_vote"]
    samplers = []
    res = run_bench(cfg(ests), out_dir=tmp_path, progress=False,
                    sampler_factory=lambda spec, seed: samplers.append(SignalSampler()) or samplers[-1])
    rows = {r["estimator"]: r for r in res.rows}
    assert all(r["status"] == "ok" for r in rows.values())
    # signals are stored beside the responses, only those the grid needs
    line = json.loads((tmp_path / "rollouts" / "fake" / "add1.jsonl").read_text().splitlines()[0])
    assert set(line["signals"]) == {"logprob", "self_certainty", "entropy"}
    assert len(line["signals"]["logprob"]) == len(line["responses"])
    for r in rows.values():
        assert r["reward_corr"] is not None and r["reward_auroc"] is not None
    # the continuous rewards read differently from the binary one
    assert rows["soft"]["reward_corr"] != rows["majority"]["reward_corr"]
    assert rows["soft"]["reward_auroc"] != rows["majority"]["reward_auroc"]
    # a calibrated certainty signal separates right from wrong perfectly
    assert rows["self_certainty"]["reward_auroc"] == pytest.approx(1.0)
    assert rows["neg_entropy"]["reward_auroc"] == pytest.approx(1.0)
    # label-free estimators have no label accuracy (n/a, not 0); voting ones do
    assert rows["self_certainty"]["label_accuracy"] is None and rows["self_certainty"]["reward_accuracy"] is None
    assert rows["confidence"]["label_accuracy"] >= rows["majority"]["label_accuracy"]
    md = (tmp_path / "results.md").read_text()
    assert "| corr |" in md.replace("corr | auroc", "corr |") and "auroc" in md
    assert (tmp_path / "estimator_accuracy.png").stat().st_size > 1000
    # a rerun reuses the cached rollouts with their signals
    res2 = run_bench(cfg(ests), out_dir=tmp_path, progress=False, rescore=True,
                     sampler_factory=lambda spec, seed: (_ for _ in ()).throw(AssertionError("resampled")))
    assert {r["estimator"]: r["reward_corr"] for r in res2.rows} == {k: v["reward_corr"] for k, v in rows.items()}


def test_answers_only_grid_keeps_old_rollout_key_and_stores_no_signals(tmp_path):
    samplers = []
    run_bench(cfg(["majority"]), out_dir=tmp_path, progress=False,
              sampler_factory=lambda spec, seed: samplers.append(SignalSampler()) or samplers[-1])
    line = json.loads((tmp_path / "rollouts" / "fake" / "add1.jsonl").read_text().splitlines()[0])
    assert "signals" not in line and samplers[0].signals == ()


def test_sampler_without_signals_is_refused_for_a_signal_grid(tmp_path):
    with pytest.raises(ConfigError, match="need signals"):
        run_bench(cfg(["confidence"]), out_dir=tmp_path, progress=False,
                  sampler_factory=lambda spec, seed: FakeSampler())
