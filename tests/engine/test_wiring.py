"""How the embedded engine wires its reward: everything handed over when it is built.

The scorer comes from the core factory, the extra-vote sampler holds the very module the
trainer trains (no reference to the trainer filled in afterwards), and each reward call's
stats go to the sink the metrics callback drains."""

from __future__ import annotations

import copy
from collections import OrderedDict

import pytest

from ttrl_kit import ConfigError, GroupScorer
from ttrl_kit.engines.embedded.config import from_mapping
from ttrl_kit.engines.embedded.data import GOLD_COLUMN, ID_COLUMN, to_trl_dataset
from ttrl_kit.engines.embedded.engine import prepare_run
from ttrl_kit.engines.embedded.models import load_model
from ttrl_kit.engines.embedded.rewards import ExtraVoteSampler, build_scorer
from ttrl_kit.engines.embedded.trainer import MetricsCallback, build_trainer


@pytest.mark.parametrize("lora", [False, True])
def test_extra_votes_come_from_the_trained_module_and_stats_reach_the_metrics(smoke_dict, tmp_path, cache, lora):
    d = copy.deepcopy(smoke_dict)
    d["ttrl"] = {"n_votes": 6, "n_train": 4}
    if lora:
        d["model"]["lora"] = {"r": 4, "lora_alpha": 8}
    d["output"] = {"dir": str(tmp_path / "run")}
    cfg = from_mapping(d, "smoke.yaml")
    p = prepare_run(cfg)
    loaded = load_model(cfg.model.name, seed=0)
    trainer, reward, _ = build_trainer(
        cfg, loaded, to_trl_dataset(p.train_rows), p.scorer, tmp_path / "ck", tmp_path / "metrics.jsonl"
    )
    sampler = reward.extra_votes
    assert isinstance(sampler, ExtraVoteSampler)
    trained = {id(t) for t in trainer.accelerator.unwrap_model(trainer.model).parameters()}
    sampled = {id(t) for t in sampler.model.parameters()}
    assert trained == sampled  # with LoRA too: the adapter is injected into this module in place
    if lora:
        assert any("lora_" in name for name, _ in sampler.model.named_parameters())

    metrics_cb = next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, MetricsCallback))
    assert metrics_cb.trainer is trainer
    row = p.train_rows[0]
    votes = sampler(OrderedDict([(row.id, row.prompt)]), 2)
    assert list(votes) == [row.id] and len(votes[row.id]) == 2
    n = cfg.ttrl.n_train
    reward(prompts=[row.prompt] * n, completions=["\\boxed{1}"] * n, **{ID_COLUMN: [row.id] * n, GOLD_COLUMN: [row.gold] * n})
    assert len(metrics_cb.pending) == 1 and metrics_cb.pending[0].results[0].estimate.stats["n_votes"] == 6.0


def test_the_scorer_comes_from_the_core_factory_with_the_field_named(smoke_dict):
    cfg = from_mapping(smoke_dict, "my.yaml")
    scorer = build_scorer(cfg)
    assert isinstance(scorer, GroupScorer) and scorer.estimator_name == "majority"
    bad = copy.deepcopy(smoke_dict)
    bad["task"]["options"] = {"no_such_option": 1}
    with pytest.raises(ConfigError, match=r"^my\.yaml: field 'task': task 'math'"):
        build_scorer(from_mapping(bad, "my.yaml"))
    bad = copy.deepcopy(smoke_dict)
    bad["estimator"]["options"] = {"min_consensus": 7}
    with pytest.raises(ConfigError, match=r"^my\.yaml: field 'estimator': .*min_consensus"):
        build_scorer(from_mapping(bad, "my.yaml"))
