"""The launch scripts' flags against OpenRLHF 0.11.2's REAL parser and validation, and their
dry-run switch (issue 18's acceptance: no wandb key, no gold-selected "best" checkpoint).

Each script is run with TTRL_PRINT_ARGS=1 (prints the launcher argv), the launcher builds
its plan, and ``launcher.run`` executes the real ``openrlhf.cli.train_ppo_ray`` as
``__main__`` (parser + post-parse validation) with Ray, the Ray actor modules and
``get_strategy`` stubbed; ``get_strategy`` is the first thing ``train(args)`` calls, so the
stub stops the run there and hands back the validated args.
"""

from __future__ import annotations

import json
import os
import runpy
import shlex
import subprocess
import sys
import types
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from ttrl_kit.engines.openrlhf import launcher, worker_setup
from ttrl_kit.engines.openrlhf.config import ENV_VAR, TTRLConfig

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = {
    "ttrl_aime_grpo_7b.sh": dict(batch=8, episodes=80, max_len=3584, data="aime2024.jsonl"),
    "ttrl_amc_grpo_7b.sh": dict(batch=8, episodes=30, max_len=4096, data="amc.jsonl"),
    "ttrl_math500_grpo_7b.sh": dict(batch=32, episodes=10, max_len=4096, data="math500.jsonl"),
}


class ReachedTrain(Exception):
    def __init__(self, args):
        super().__init__("train(args) reached")
        self.parsed = args


@pytest.fixture
def openrlhf_main(monkeypatch, fake_ray):
    """Stubs for what train_ppo_ray imports at module level that needs Ray actors / GPUs."""
    util = types.ModuleType("ray.util")
    util.__path__ = []
    pg = types.ModuleType("ray.util.placement_group")
    pg.placement_group = MagicMock()
    pg.PlacementGroup = MagicMock()
    fake_ray.util = util
    monkeypatch.setitem(sys.modules, "ray.util", util)
    monkeypatch.setitem(sys.modules, "ray.util.placement_group", pg)
    ray_pkg = types.ModuleType("openrlhf.trainer.ray")
    ray_pkg.__path__ = []
    ray_pkg.create_vllm_engines = MagicMock()
    monkeypatch.setitem(sys.modules, "openrlhf.trainer.ray", ray_pkg)
    for name in ("launcher", "ppo_actor", "ppo_critic"):
        monkeypatch.setitem(sys.modules, f"openrlhf.trainer.ray.{name}", MagicMock())
    import openrlhf.utils

    def get_strategy(args):
        raise ReachedTrain(args)

    monkeypatch.setattr(openrlhf.utils, "get_strategy", get_strategy)
    monkeypatch.delenv(ENV_VAR, raising=False)
    yield fake_ray
    worker_setup.teardown()
    os.environ.pop(ENV_VAR, None)


def script_argv(script: str, *extra: str, model: str = "/models/Qwen2.5-Math-7B") -> list[str]:
    """The launcher argv a launch script (a path under the repo) prints with TTRL_PRINT_ARGS=1."""
    env = dict(os.environ, TTRL_PRINT_ARGS="1", DATA_DIR="/data/openrlhf")
    out = subprocess.run(["bash", str(REPO / script), "/runs/out", model, *extra],
                         env=env, capture_output=True, text=True, check=True).stdout
    argv = out.splitlines()
    assert argv[:2] == ["-m", "ttrl_kit.engines.openrlhf"]
    return argv[2:]


def launch(argv: list[str]):
    parser = launcher.argparse.ArgumentParser()
    launcher.add_arguments(parser)
    plan = launcher.build_plan(parser.parse_args(argv))
    with pytest.raises(ReachedTrain) as reached:
        launcher.run(plan)
    return plan, reached.value.parsed


@pytest.mark.parametrize("name", sorted(SCRIPTS))
@pytest.mark.parametrize("wandb", [False, True])
def test_script_flags_pass_the_real_parser_and_validation(openrlhf_main, monkeypatch, name, wandb):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    argv = script_argv(f"scripts/{name}", *(["KEY123"] if wandb else []))
    assert "KEY123" not in argv  # the third argument is exported as WANDB_API_KEY, never a flag
    if wandb:
        monkeypatch.setenv("WANDB_API_KEY", "KEY123")  # what the script exported for its launcher
    plan, args = launch(argv)
    want = SCRIPTS[name]

    # TTRL side: 64 votes, 32 trained; the config travels to every worker via runtime_env.
    assert plan.n_train == 32 and plan.config.n_votes == 64 and plan.config.task == "math"
    init = openrlhf_main.init_calls
    assert len(init) == 1
    env = init[0]["runtime_env"]
    assert env["worker_process_setup_hook"] == worker_setup.SETUP_HOOK
    assert TTRLConfig.from_json(env["env_vars"][ENV_VAR]) == plan.config
    assert env["env_vars"]["RAY_ENABLE_ZERO_COPY_TORCH_TENSORS"] == "1"

    # OpenRLHF side, as its own parser and validation left them.
    assert args.rollout.n_samples_per_prompt == 32
    assert args.rollout.batch_size == want["batch"] and args.train.num_episodes == want["episodes"]
    assert args.data.max_len == want["max_len"] and args.rollout.max_new_tokens == 3072
    assert args.data.prompt_dataset == f"/data/openrlhf/{want['data']}" == args.eval.dataset
    assert args.reward.remote_url == [launcher.REWARD_FILE]  # no reward-model group is built
    assert args.critic.model_name_or_path is None  # group_norm: no critic
    assert args.algo.advantage.estimator == "group_norm"
    assert args.algo.kl.use_loss and args.algo.kl.init_coef == 0.001 and args.algo.kl.estimator == "k3"
    assert args.actor.adam.lr == 5e-7 and args.rollout.temperature == 1.0
    assert tuple(args.actor.adam.betas) == (0.9, 0.999)  # verl's AdamW default, as in TTRL v2/v3
    assert args.eval.n_samples_per_prompt == 16 and args.eval.temperature == 0.6
    assert args.data.label_key == "answer" and args.data.input_key == "prompt" and args.data.apply_chat_template
    assert args.ckpt.output_dir == "/runs/out/model"
    assert args.ckpt.best_metric_key == "none"  # no "best" checkpoint chosen with gold labels
    assert plan.config.eval_at_start and args.eval.steps == 2  # baseline at step 0, then every 2 steps
    if wandb:
        assert args.logger.wandb.key == launcher.WANDB_KEY_FROM_ENV and args.logger.tensorboard_dir is None
        assert "KEY123" not in repr(vars(args)) and "KEY123" not in json.dumps(plan.as_dict())
        assert os.environ["WANDB_API_KEY"] == "KEY123"  # where wandb reads it, in Ray workers too
    else:
        assert args.logger.wandb.key is None and args.logger.tensorboard_dir == "/runs/out/tensorboard"


def test_the_real_parser_rejects_stale_flat_flags(openrlhf_main, capsys):
    argv = ["--task", "math", "--", "--pretrain", "m", "--rollout.n_samples_per_prompt", "4"]
    parser = launcher.argparse.ArgumentParser()
    launcher.add_arguments(parser)
    plan = launcher.build_plan(parser.parse_args(argv))
    with pytest.raises(SystemExit) as exc:
        launcher.run(plan)
    assert exc.value.code == 2 and "unrecognized arguments: --pretrain" in capsys.readouterr().err


def test_the_real_post_parse_validation_runs(openrlhf_main):
    argv = ["--task", "math", "--", "--actor.model_name_or_path", "m", "--rollout.n_samples_per_prompt", "4",
            "--rollout.batch_size", "8", "--rollout.vllm_generate_batch_size", "16"]
    parser = launcher.argparse.ArgumentParser()
    launcher.add_arguments(parser)
    with pytest.raises(AssertionError, match="requires --train.async_enable"):
        launcher.run(launcher.build_plan(parser.parse_args(argv)))


def test_user_reward_url_is_kept_and_ray_job_runtime_env_is_respected(openrlhf_main, monkeypatch):
    monkeypatch.setenv(launcher.RAY_JOB_CONFIG,
                       '{"runtime_env": {"working_dir": ".", "env_vars": {"NCCL_DEBUG": "INFO"}}}')
    argv = ["--task", "math", "--n-votes", "8", "--", "--actor.model_name_or_path", "m",
            "--rollout.n_samples_per_prompt", "4", "--reward.remote_url", "/my/reward.py"]
    plan, args = launch(argv)
    assert args.reward.remote_url == ["/my/reward.py"]
    env_vars = openrlhf_main.init_calls[0]["runtime_env"]["env_vars"]
    assert "NCCL_DEBUG" not in env_vars  # Ray refuses keys set by both the job and ray.init
    assert ENV_VAR in env_vars


def test_launcher_refuses_when_ray_is_already_initialised(openrlhf_main):
    from ttrl_kit import ConfigError

    openrlhf_main._initialized = True
    plan = launcher.LaunchPlan(config=TTRLConfig(task="math"), openrlhf_argv=["--x"])
    with pytest.raises(ConfigError, match="already initialised"):
        launcher.run(plan)


def test_multimodal_script_flags_pass_the_real_parser_and_its_vlm_rules(openrlhf_main):
    """configs/multimodal's MM-UPT-style Qwen2.5-VL script, through the same real parser."""
    plan, args = launch(script_argv("configs/multimodal/openrlhf_mmupt_qwen25vl_7b.sh", model="/models/vl7b"))
    assert plan.config.task == "multimodal" and plan.n_train == 10
    assert args.data.max_images_per_prompt == 1 and args.data.image_key == "images"
    assert args.critic.model_name_or_path is None and not args.ds.packing_samples  # OpenRLHF's VLM rules
    assert args.rollout.n_samples_per_prompt == 10 and args.rollout.temperature == 0.7
    assert args.algo.kl.use_loss and args.algo.kl.init_coef == 0.01 and args.algo.kl.estimator == "k3"
    assert args.actor.adam.lr == 1e-6 and args.train.num_episodes == 15
    assert args.ckpt.best_metric_key == "none" and plan.config.eval_at_start and args.eval.dataset


def test_the_printed_command_line_passes_openrlhfs_real_parser(openrlhf_main, monkeypatch):
    """The acceptance command (`TTRL_DRY_RUN=1 bash scripts/ttrl_aime_grpo_7b.sh OUT MODEL KEY`):
    the OpenRLHF command line it prints, through the real parser."""
    p = dry_run("scripts/ttrl_aime_grpo_7b.sh", SECRET)
    cmd = command_line(p.stdout)
    assert cmd[:3] == ["python", "-m", launcher.OPENRLHF_MAIN]
    monkeypatch.setattr(sys, "argv", [launcher.OPENRLHF_MAIN, *cmd[3:]])
    with pytest.raises(ReachedTrain) as reached:
        runpy.run_module(launcher.OPENRLHF_MAIN, run_name="__main__", alter_sys=True)
    args = reached.value.parsed
    assert args.ckpt.best_metric_key == "none" and args.logger.wandb.key == launcher.WANDB_KEY_FROM_ENV
    assert SECRET not in repr(vars(args))


# ------------------------------------------------------------------ dry-run switch and secrets

DRY_RUN_SCRIPTS = ["scripts/ttrl_aime_grpo_7b.sh", "scripts/ttrl_amc_grpo_7b.sh", "scripts/ttrl_math500_grpo_7b.sh",
           "configs/multimodal/openrlhf_mmupt_qwen25vl_7b.sh"]
SECRET = "SECRETKEY123"


def dry_run(script: str, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    env.update(TTRL_DRY_RUN="1", DATA_DIR="/data/openrlhf", PYTHON=sys.executable, **env_extra)
    return subprocess.run(["bash", str(REPO / script), "/runs/out", "/models/m", *args],
                          env=env, capture_output=True, text=True, timeout=180)


def command_line(stdout: str) -> list[str]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("# python -m openrlhf.cli.train_ppo_ray")]
    assert len(lines) == 1, stdout
    return shlex.split(lines[0][2:])


@pytest.mark.parametrize("script", DRY_RUN_SCRIPTS)
@pytest.mark.parametrize("how", ["argument", "env"])
def test_dry_run_prints_a_command_line_without_the_key_or_a_gold_best_checkpoint(script, how):
    p = dry_run(script, SECRET) if how == "argument" else dry_run(script, WANDB_API_KEY=SECRET)
    assert p.returncode == 0, p.stderr
    assert SECRET not in p.stdout and SECRET not in p.stderr
    cmd = command_line(p.stdout)
    assert cmd[cmd.index("--logger.wandb.key") + 1] == launcher.WANDB_KEY_FROM_ENV
    best = [i for i, tok in enumerate(cmd) if tok.startswith("--ckpt.best_metric_key")]
    assert len(best) == 1 and cmd[best[0] + 1] == "none"
    plan = json.loads(p.stdout[: p.stdout.index("\n# python")])
    assert plan["ttrl"]["eval_at_start"] is True and SECRET not in json.dumps(plan)


def test_without_a_key_metrics_go_to_tensorboard_and_no_wandb_flag():
    p = dry_run(DRY_RUN_SCRIPTS[0])
    assert p.returncode == 0, p.stderr
    cmd = command_line(p.stdout)
    assert "--logger.wandb.key" not in cmd and cmd[cmd.index("--logger.tensorboard_dir") + 1] == "/runs/out/tensorboard"


def test_a_literal_key_given_to_the_launcher_is_moved_off_the_command_line():
    env = {"PATH": os.environ["PATH"]}
    flags = ["--actor.model_name_or_path", "m", "--logger.wandb.key=abc", "--rollout.n_samples_per_prompt", "4"]
    out = launcher.secure_wandb_key(flags, env)
    assert "abc" not in " ".join(out) and env["WANDB_API_KEY"] == "abc"
    with pytest.raises(launcher.ConfigError, match="set WANDB_API_KEY"):
        launcher.secure_wandb_key(["--logger.wandb.key", launcher.WANDB_KEY_FROM_ENV], {})
