"""Launch scripts and launcher against verl's REAL config loader (Hydra compose of its
``ppo_trainer`` structured configs + ``validate_config``), the no-GPU refusal, the wandb key,
one-line refusals, and data preparation read back by verl's REAL RLHFDataset."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ttrl_kit import ConfigError, GroupScorer
from ttrl_kit.engines.verl import launcher, prepare_data
from ttrl_kit.engines.verl.settings import check_signals

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = {
    "ttrl_aime_grpo_7b.sh": dict(prompts=8, epochs=80, max_prompt=512, data="aime2024.parquet"),
    "ttrl_amc_grpo_7b.sh": dict(prompts=8, epochs=30, max_prompt=1024, data="amc.parquet"),
    "ttrl_math500_grpo_7b.sh": dict(prompts=32, epochs=10, max_prompt=1024, data="math500.parquet"),
}
SECRET = "wandb-secret-0123456789"
MATH = Path(os.environ.get("TTRL_SHARED_DATA", REPO.parent / "shared" / "data")) / "math"


def run_script(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "verl" / name), *args],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHON": sys.executable, **(env or {})},
    )


def verl_accepts(overrides: list[str]):
    """Compose with verl's own config directory and validate, independently of our launcher."""
    import verl
    from hydra import compose, initialize_config_dir
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    with initialize_config_dir(config_dir=str(Path(verl.__file__).parent / "trainer" / "config"), version_base=None):
        cfg = compose(config_name="ppo_trainer", overrides=overrides)
    validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_dry_run_prints_a_command_verl_accepts(script, tmp_path):
    key_args = (SECRET,) if script == "ttrl_aime_grpo_7b.sh" else ()
    proc = run_script(script, str(tmp_path / "out"), "/models/Qwen2.5-Math-7B", *key_args, "--dry-run")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert SECRET not in proc.stdout + proc.stderr  # the wandb key is never printed
    argv = shlex.split(proc.stdout.strip().splitlines()[-1])
    assert argv[:3] == ["python", "-m", "ttrl_kit.engines.verl"]
    cfg = verl_accepts(argv[3:])
    want = SCRIPTS[script]
    rollout, actor = cfg.actor_rollout_ref.rollout, cfg.actor_rollout_ref.actor
    assert (cfg.ttrl.task, cfg.ttrl.estimator, cfg.ttrl.n_votes, rollout.n) == ("math", "majority", 64, 32)
    assert actor.optim.lr == 5e-7 and list(actor.optim.betas) == [0.9, 0.999]
    assert actor.optim.lr_warmup_steps_ratio == 0.03 and actor.optim.lr_scheduler_type == "cosine"
    assert actor.use_kl_loss and actor.kl_loss_coef == 0.001 and actor.kl_loss_type == "low_var_kl"
    assert rollout.temperature == 1.0 and rollout.top_p == 1.0
    assert (rollout.val_kwargs.n, rollout.val_kwargs.temperature, rollout.val_kwargs.top_p) == (16, 0.6, 0.95)
    assert cfg.data.max_response_length == 3072 and cfg.data.max_prompt_length == want["max_prompt"]
    assert cfg.data.train_batch_size == want["prompts"] and cfg.trainer.total_epochs == want["epochs"]
    assert cfg.data.train_files.endswith(want["data"]) and cfg.algorithm.adv_estimator == "grpo"
    assert cfg.trainer.use_v1 is False
    assert rollout.agent.agent_loop_manager_class == launcher.AGENT_LOOP_FQN
    assert cfg.reward.reward_manager.source == "importlib"
    assert cfg.reward.reward_manager.module.path == launcher.REWARD_MANAGER_MODULE
    assert list(cfg.trainer.logger) == (["console", "wandb"] if key_args else ["console", "tensorboard"])


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without GPUs")
def test_no_gpu_fails_fast_with_one_line(tmp_path):
    proc = run_script("ttrl_aime_grpo_7b.sh", str(tmp_path / "out"), "/models/m", SECRET)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "error: no CUDA GPU visible on this machine" in proc.stdout.strip().splitlines()[-1]  # via tee
    log = (tmp_path / "out" / "train.log").read_text()
    assert SECRET not in log and SECRET not in proc.stdout + proc.stderr


def test_script_usage_error():
    proc = run_script("ttrl_amc_grpo_7b.sh", "only-one-arg")
    assert proc.returncode == 2 and proc.stderr.startswith("usage:")


BASE = ["+ttrl.task=math", "+ttrl.n_votes=4", "actor_rollout_ref.rollout.n=2", "algorithm.adv_estimator=grpo",
        "actor_rollout_ref.model.path=/m", "actor_rollout_ref.actor.ppo_mini_batch_size=1",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1", "data.train_batch_size=8",
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=1",
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1"]


def merged(*extra: str) -> list[str]:
    """BASE with the given overrides replacing those of the same key."""
    keys = {launcher.override_key(e) for e in extra}
    return [o for o in BASE if launcher.override_key(o) not in keys] + list(extra)


def one_line_error(capsys, argv, **kw) -> str:
    assert launcher.main(argv, **kw) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "Warning" not in line]
    errors = [line for line in err if line.startswith(launcher.PROG + ": error: ")]
    assert len(errors) == 1 and err[-1] == errors[0] and "Traceback" not in "\n".join(err)
    return errors[0]


@pytest.mark.parametrize("extra, message", [
    (["+ttrl.task=no_such_task"], "no_such_task"),
    (["+ttrl.estimator=no_such_estimator"], "no_such_estimator"),
    (["+ttrl.n_votes=1"], "n_votes=1 is smaller than actor_rollout_ref.rollout.n=2"),
    (["+ttrl.bogus=1"], "'ttrl.bogus': unknown key"),
    (["trainer.use_v1=True"], "trainer.use_v1=True: the verl engine needs trainer.use_v1=False"),
    (["reward.reward_manager.name=naive"], "needs reward.reward_manager.name=TTRLGoldRewardManager"),
    (["actor_rollout_ref.rollout.no_such_field=1"], "verl config:"),
    (["trainer.n_gpus_per_node=3"], "validate_config"),  # 8 prompts x 2 samples do not split over 3 GPUs
    (["algorithm.adv_estimator=gae"], "validate_config"),  # a critic whose model path does not exist
])
def test_refusals_are_one_line(capsys, extra, message):
    assert message in one_line_error(capsys, ["--dry-run", *merged(*extra)])


def test_wiring_given_by_the_user_is_kept_not_repeated():
    full = launcher.with_wiring(["trainer.use_v1=false", "+ttrl.task=math"])
    assert [o for o in full if o.startswith("trainer.use_v1")] == ["trainer.use_v1=false"]
    assert len(full) == 2 + len(launcher.WIRING) - 1


def test_missing_ttrl_section_is_one_line(capsys):
    no_ttrl = [o for o in BASE if not o.startswith("+ttrl.")]
    assert "+ttrl.task=NAME" in one_line_error(capsys, ["--dry-run", *no_ttrl])


def test_gpu_and_data_checks_before_anything_starts(capsys, tmp_path):
    assert "no CUDA GPU" in one_line_error(capsys, BASE, gpu_count=lambda: 0)
    assert "has 4 CUDA GPU(s)" in one_line_error(capsys, BASE, gpu_count=lambda: 4)
    missing = str(tmp_path / "none.parquet")
    msg = one_line_error(capsys, merged(f"data.train_files={missing}"), gpu_count=lambda: 8)
    assert f"data.train_files: {missing} not found" in msg


def test_signal_hungry_estimator_is_refused():
    check_signals(GroupScorer.from_names("math", "majority"), "majority")  # answers only: fine
    for est, signal in (("self_certainty", "self_certainty"), ("confidence", "logprob")):
        with pytest.raises(ConfigError, match=f"estimator '{est}' needs signal '{signal}', which engine 'verl'"):
            check_signals(GroupScorer.from_names("math", est), est)


def test_version_pin_is_checked():
    launcher.check_version(lambda name: launcher.VERL_VERSION)
    with pytest.raises(ConfigError, match="verl 0.8.0 is installed"):
        launcher.check_version(lambda name: "0.8.0")


def test_prepare_data_writes_parquet_verls_dataset_reads(tmp_path, tokenizer):
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    source = MATH / "aime2024.jsonl"
    if not source.is_file():  # a clone without ../shared beside it: rows of the same shape
        source = tmp_path / "aime2024.jsonl"
        rows = [{"prompt": f"Find ${i}+{i}$.", "answer": f"{2 * i:03d}", "source": "aime", "id": str(i)} for i in range(30)]
        source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "aime2024.parquet"
    assert prepare_data.main(["--task", "math", "--input", str(source), "--output", str(out),
                              "--datasource", "aime2024"]) == 0
    config = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": 512, "filter_overlong_prompts": False,
                               "return_raw_chat": True, "cache_dir": str(tmp_path / "cache")})
    dataset = RLHFDataset(data_files=str(out), tokenizer=tokenizer, config=config)
    assert len(dataset) == 30
    row = dataset[0]
    assert row["data_source"] == "aime2024" and row["ability"] == "math"
    assert row["raw_prompt"][-1]["role"] == "user" and row["index"] == 0
    assert str(row["reward_model"]["ground_truth"]).strip()


def test_prepare_data_error_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "x.parquet"
    assert prepare_data.main(["--task", "math", "--input", str(tmp_path / "missing.jsonl"),
                              "--output", str(out)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
