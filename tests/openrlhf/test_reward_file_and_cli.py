"""The per-sample reward file, the CLI entry points and the data preparation."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ttrl_kit import get_registry
from ttrl_kit.cli.main import main as cli_main
from ttrl_kit.engines.openrlhf import launcher, prepare_data
from ttrl_kit.engines.openrlhf.config import ENV_VAR, TTRLConfig

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TTRL_SHARED_DATA", REPO.parent / "shared" / "data")) / "math"


def load_reward_module():
    # Loaded exactly as OpenRLHF's SingleTurnAgentExecutor loads --reward.remote_url files.
    spec = importlib.util.spec_from_file_location("reward_func", launcher.REWARD_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reward_file_grades_against_gold_and_is_zero_without_label(monkeypatch):
    monkeypatch.setenv(ENV_VAR, TTRLConfig(task="math").to_json())
    rf = load_reward_module()
    prompt = "<user>What is 3+4? Put it in \\boxed{}.<assistant>"
    right = rf.reward_func([prompt + "It is \\boxed{7}<eos>"], [prompt], ["7"])
    wrong = rf.reward_func([prompt + "It is \\boxed{8}<eos>"], [prompt], ["7"])
    unlabelled = rf.reward_func([prompt + "It is \\boxed{7}<eos>"], [prompt], [""])
    assert (right["rewards"], wrong["rewards"], unlabelled["rewards"]) == (1.0, 0.0, 0.0)
    assert right["scores"] == 1.0 and right["extra_logs"] == {}


def test_reward_file_never_raises(monkeypatch, caplog):
    monkeypatch.delenv(ENV_VAR, raising=False)  # misconfigured worker
    rf = load_reward_module()
    assert rf.reward_func(["q 1"], ["q"], ["1"])["rewards"] == 0.0
    assert "the task could not be built" in caplog.text and ENV_VAR in caplog.text


def test_cli_dry_run_prints_the_plan(capsys):
    rc = cli_main(["openrlhf", "--task", "math", "--n-votes", "16", "--dry-run", "--",
                   "--actor.model_name_or_path", "m", "--rollout.n_samples_per_prompt=8"])
    out = capsys.readouterr().out
    plan = json.loads(out[: out.rindex("}") + 1])
    assert rc == 0 and plan["n_votes"] == 16 and plan["n_train"] == 8
    assert plan["command"][-2:] == ["--reward.remote_url", launcher.REWARD_FILE]


@pytest.mark.parametrize("argv, message", [
    (["--task", "no-such-task", "--", "--rollout.n_samples_per_prompt", "4"], "unknown task"),
    (["--task", "math", "--estimator", "nope", "--", "--rollout.n_samples_per_prompt", "4"], "nope"),
    (["--task", "math", "--n-votes", "2", "--", "--rollout.n_samples_per_prompt", "4"], "smaller than"),
    (["--task", "math", "--", "--actor.model_name_or_path", "m"], "must be > 1"),
    (["--task", "math"], "no OpenRLHF flags"),
])
def test_cli_errors_are_one_line(capsys, argv, message):
    assert cli_main(["openrlhf", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "ttrl_kit.engines.openrlhf", "--task", "math", "--dry-run", "--",
                          "--rollout.n_samples_per_prompt", "4"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"worker_process_setup_hook": "ttrl_kit.engines.openrlhf.worker_setup.setup"' in out.stdout


@pytest.mark.skipif(not (SHARED / "aime2024.jsonl").is_file(), reason=f"reference data not present: {SHARED}")
def test_prepare_data_writes_what_openrlhf_prompt_dataset_reads(tmp_path, helpers):
    from openrlhf.datasets.prompts_dataset import preprocess_data

    out = tmp_path / "aime2024.jsonl"
    rc = prepare_data.main(["--task", "math", "--input", str(SHARED / "aime2024.jsonl"), "--output", str(out),
                            "--datasource", "aime2024"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    source = json.loads((SHARED / "aime2024.jsonl").read_text().splitlines()[1])
    task = get_registry().task("math")
    assert rc == 0 and len(rows) == 30
    assert rows[1]["answer"] == task.gold_label(source) and rows[1]["datasource"] == "aime2024"
    assert rows[1]["prompt"] == task.build_prompt(source)  # the task's prompt, verbatim
    tok = helpers.CharTokenizer()
    prompt, label = preprocess_data(rows[1], input_key="prompt", label_key="answer",
                                    apply_chat_template=tok.apply_chat_template)
    assert "There exist real numbers" in prompt and prompt.endswith("<assistant>")
    assert label == rows[1]["answer"] != ""
    assert preprocess_data(rows[1], input_key="prompt", apply_chat_template=tok.apply_chat_template)[1] == ""


def test_prepare_data_reads_json_lists_and_reports_bad_input(tmp_path, capsys):
    src = tmp_path / "test.json"
    src.write_text(json.dumps([{"prompt": "1+1?", "answer": "2", "id": "a"}]))
    out = tmp_path / "o.jsonl"
    assert prepare_data.main(["--task", "math", "--input", str(src), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["datasource"] == "test"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "x"}\nnot json\n')
    assert prepare_data.main(["--task", "math", "--input", str(bad), "--output", str(out)]) == 2
    assert f"{bad}:2" in capsys.readouterr().err


def test_env_var_defaults_and_task_config(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TTRL_KIT_TASK", "math")
    monkeypatch.setenv("TTRL_KIT_N_VOTES", "12")
    cfg = tmp_path / "run.yaml"
    cfg.write_text("task:\n  name: math\n  options: {}\n")
    assert cli_main(["openrlhf", "--task-config", str(cfg), "--dry-run", "--",
                     "--rollout.n_samples_per_prompt", "6"]) == 0
    out = capsys.readouterr().out
    plan = json.loads(out[: out.rindex("}") + 1])
    assert plan["ttrl"]["task"] == "math" and plan["n_votes"] == 12 and plan["n_train"] == 6
    monkeypatch.setenv("TTRL_KIT_N_VOTES", "many")
    assert cli_main(["openrlhf", "--dry-run", "--", "--rollout.n_samples_per_prompt", "6"]) == 2
    assert "TTRL_KIT_N_VOTES='many'" in capsys.readouterr().err


def test_prepare_script_leaves_the_instruction_to_qwen25_maths_system_prompt(tmp_path):
    """scripts/prepare_openrlhf_data.sh (the data of the Qwen2.5-Math launch scripts) writes the bare
    question: that model's chat template already says "Please reason step by step, and put your final
    answer within \\boxed{}."; TTRL_TASK_OPTIONS="" keeps the math task's suffix for other models."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("aime2024", "amc", "math500"):
        (src / f"{name}.jsonl").write_text('{"id": "1", "problem": "What is 1+1?", "answer": "2"}\n')
    script = Path(__file__).resolve().parents[2] / "scripts" / "prepare_openrlhf_data.sh"

    def content(out, **env):
        subprocess.run(["bash", str(script), str(src), str(out)], check=True, capture_output=True,
                       env=dict(os.environ, PYTHON=sys.executable, **env), timeout=300)
        return json.loads((out / "aime2024.jsonl").read_text())["prompt"][-1]["content"]

    assert content(tmp_path / "qwen_math") == "What is 1+1?"
    assert content(tmp_path / "other", TTRL_TASK_OPTIONS="").endswith("put your final answer within \\boxed{}.")
