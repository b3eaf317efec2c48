"""train / eval / bench with bad values: one line naming the file and field, exit 2, no traceback,
and nothing written (no run directory, no output directory)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ttrl_kit.cli.main import main


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
    return lines[0]


def _smoke(smoke_dict: dict, **sections) -> dict:
    d = copy.deepcopy(smoke_dict)
    d.update(sections)
    return d


TRAIN_CASES = {
    "empty model name": ({"model": {"name": ""}}, "'model.name'"),
    "model null": ({"model": None}, "'model': expected a mapping, got null"),
    "missing model dir": ({"model": {"name": "/nonexistent/model-dir"}}, "'model.name'"),
    "model is a file": ({"model": {"name": "__FILE__"}}, "'model.name'"),
    "dir without config.json": ({"model": {"name": "__DIR__"}}, "config.json"),
    "bad lora field": ({"model": {"name": "tiny-random", "lora": {"bogus": 1}}}, "'model.lora'"),
    "nan learning rate": ({"train": {"learning_rate": float("nan")}}, "'train.learning_rate'"),
    "inf temperature": ({"generation": {"temperature": float("inf")}}, "'generation.temperature'"),
    "section is a list": ({"eval": [1, 2]}, "'eval'"),
    "heldout source not a string": ({"data": {"heldout": {"source": 5}}}, "'data.heldout.source'"),
    "warmup ratio": ({"train": {"warmup_ratio": 2.0}}, "'train.warmup_ratio'"),
    "empty output dir": ({"output": {"dir": ""}}, "'output.dir'"),
}


@pytest.mark.parametrize("case", sorted(TRAIN_CASES))
def test_train_bad_values_write_nothing(tmp_path, smoke_dict, cache, capsys, case):
    sections, expected = TRAIN_CASES[case]
    sections = copy.deepcopy(sections)
    model = sections.get("model") or {}
    if model.get("name") == "__FILE__":
        (tmp_path / "weights.bin").write_bytes(b"x")
        model["name"] = str(tmp_path / "weights.bin")
    if model.get("name") == "__DIR__":
        (tmp_path / "emptymodel").mkdir()
        model["name"] = str(tmp_path / "emptymodel")
    data = _smoke(smoke_dict, **sections)
    if "data" in sections:
        data["data"] = {**smoke_dict["data"], **sections["data"]}
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(data))
    run = tmp_path / "run"
    assert main(["train", str(cfg), "--output", str(run)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert expected in line, line
    assert not run.exists()


def test_train_output_and_config_problems(tmp_path, smoke_dict, cache, capsys):
    cfg = tmp_path / "ok.yaml"
    cfg.write_text(yaml.safe_dump(smoke_dict))
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile, afile / "sub"):
        assert main(["train", str(cfg), "--output", str(out)]) == 2
        assert "is a file" in _one_line(capsys.readouterr().err)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("model: {name: caf\xe9}\n".encode("latin-1"))
    assert main(["train", str(latin), "--output", str(tmp_path / "r")]) == 2
    assert f"{latin}:1: not valid UTF-8" in _one_line(capsys.readouterr().err)
    assert main(["train", str(cfg), "--set", "train..x=1", "--output", str(tmp_path / "r")]) == 2
    assert "empty field name" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "r").exists()


def test_eval_bad_values(tmp_path, smoke_dict, cache, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_smoke(smoke_dict, model=None)))
    assert main(["eval", "--config", str(cfg)]) == 2
    assert "'model': expected a mapping, got null" in _one_line(capsys.readouterr().err)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(smoke_dict))
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["eval", "--config", str(good), "--output", str(afile)]) == 2
    assert "is a file" in _one_line(capsys.readouterr().err)
    assert main(["eval", "--config", str(good), "--model", "/nonexistent/model-dir"]) == 2
    assert "'model.name'" in _one_line(capsys.readouterr().err)


def _bench_cfg(tmp_path: Path, **over) -> Path:
    data = {
        "name": "tiny",
        "output": str(tmp_path / "out"),
        "sampling": {"n": 2, "max_new_tokens": 4, "prompts_per_batch": 2},
        "models": [{"id": "tiny", "name": "tiny-random", "dtype": "fp32"}],
        "tasks": [{"id": "add1", "task": "math", "dataset": "arithmetic", "source": "add1",
                   "dataset_options": {"n": 2, "seed": 0}}],
        "estimators": ["majority"],
    }
    data.update(over)
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bench_bad_values_write_nothing(tmp_path, cache, capsys):
    cfg = _bench_cfg(tmp_path, models=[{"id": "m", "name": "/nonexistent/model-dir"}])
    assert main(["bench", str(cfg), "--no-progress"]) == 2
    assert "'models[0].name'" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()
    cfg = _bench_cfg(tmp_path, sampling={"n": 2, "temperature": float("nan")})
    assert main(["bench", str(cfg), "--no-progress"]) == 2
    assert "'sampling.temperature'" in _one_line(capsys.readouterr().err)
    afile = tmp_path / "afile"
    afile.write_text("x")
    cfg = _bench_cfg(tmp_path)
    assert main(["bench", str(cfg), "--no-progress", "--output", str(afile / "sub")]) == 2
    assert "is a file" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()
