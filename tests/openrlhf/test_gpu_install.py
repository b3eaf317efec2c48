"""The GPU-node install (``bash scripts/install.sh --gpu``) resolves with pip's own resolver.

``pip install --dry-run --ignore-installed`` on exactly the requirement set install.sh installs in
its one resolver call, against PyPI alone (this machine's pip config, which points at local CPU
wheels, is switched off), as on a fresh GPU node.  Nothing is installed.  Checks: one torch, the
one vllm 0.29.0 pins (a CUDA build from PyPI, not a local +cpu build); every requirement of the
installed openrlhf 0.11.2 (its `vllm` extra included) is satisfied by the resolved set, except
flash-attn, which install.sh builds afterwards against that torch.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
INSTALL_ARGS = ["-r", "requirements/gpu-openrlhf.txt", "-e", ".", "-e", "plugins/math", "-e", "plugins/text_cls",
                "-e", "plugins/multimodal"]


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=10).close()
        return True
    except OSError:
        return False


def test_install_script_uses_the_resolved_requirement_set():
    text = (REPO / "scripts" / "install.sh").read_text()
    assert " ".join(INSTALL_ARGS) in text  # the one resolver call the slow test below dry-runs
    pins = re.findall(r"flash-attn==([\d.]+)", text)
    assert pins and set(pins) == {_openrlhf_pin("flash-attn")}
    assert '--no-deps "openrlhf==0.11.2"' in text


def _openrlhf_pin(name: str) -> str:
    for r in map(Requirement, metadata.requires("openrlhf") or []):
        if canonicalize_name(r.name) == name:
            return str(r.specifier).lstrip("=")
    raise LookupError(name)


@pytest.mark.slow
def test_gpu_install_resolves_with_pip_dry_run(tmp_path):
    if not _pypi_reachable():
        pytest.skip("pypi.org is not reachable from here: the GPU install resolution needs the index")
    report = tmp_path / "report.json"
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_DEFAULT_TIMEOUT="180")
    if Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        env["PIP_CERT"] = "/etc/ssl/certs/ca-certificates.crt"
    for var in ("PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q", "--report", str(report),
           *INSTALL_ARGS]
    p = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stderr[-3000:]
    resolved = {canonicalize_name(i["metadata"]["name"]): i for i in json.loads(report.read_text())["install"]}
    version = {n: i["metadata"]["version"] for n, i in resolved.items()}

    assert version["vllm"] == "0.29.0" and version["transformers"] == "5.15.0"
    assert version["deepspeed"] == "0.19.6" and version["ray"] == "2.55.0"
    assert {"ttrl-kit", "ttrl-kit-math", "ttrl-kit-text-cls", "ttrl-kit-multimodal"} <= set(version)
    vllm_torch = [Requirement(r) for r in resolved["vllm"]["metadata"]["requires_dist"]
                  if canonicalize_name(Requirement(r).name) == "torch" and not Requirement(r).marker]
    assert vllm_torch and vllm_torch[0].specifier.contains(version["torch"])
    assert "+cpu" not in version["torch"] and "pythonhosted.org" in resolved["torch"]["download_info"]["url"]

    unmet = []
    for req in map(Requirement, metadata.requires("openrlhf") or []):
        name = canonicalize_name(req.name)
        if req.marker and not req.marker.evaluate({"extra": "vllm"}):
            continue
        if name == "flash-attn":
            continue  # built by install.sh against the resolved torch
        if name not in version or not req.specifier.contains(version[name], prereleases=True):
            unmet.append(f"{req} (resolved {version.get(name)})")
    assert unmet == []
