"""Fixtures for the OpenRLHF contract tests.

They run the REAL openrlhf 0.11.2 modules (samples generator, agent executor, experience
maker, the train_ppo_ray parser) on CPU.  Only what needs a GPU or a cluster is stubbed,
the way OpenRLHF's own tests do it (``monkeypatch.setitem(sys.modules, ...)``): ``ray``
(a synchronous in-process fake), ``vllm`` (SamplingParams only), ``deepspeed``, and the Ray
actor modules.  Helpers live here (not in an importable module) because the openrlhf wheel
installs a top-level ``tests`` package that would shadow ``tests.openrlhf.*`` imports.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import importlib.util
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable
from unittest.mock import MagicMock

import pytest

try:
    import openrlhf  # noqa: F401
    from importlib.metadata import version as _version

    OPENRLHF_VERSION = _version("openrlhf")
except ImportError:  # pragma: no cover - install.sh installs it
    raise pytest.UsageError(
        "tests/openrlhf need the real openrlhf 0.11.2 package: run scripts/install.sh "
        "(pip install --no-deps openrlhf==0.11.2 pylatexenc aiohttp)"
    )

import torch

OPENRLHF_ROOT = Path(openrlhf.__file__).resolve().parent
SG_MODULE = "openrlhf.trainer.ppo_utils.samples_generator"
EOS = 0  # the fake tokenizer's only special token
SCRIPTED_VOCAB = 512  # vocabulary of the distributions ScriptedLLM's top-k log-probs come from


# --------------------------------------------------------------------------- fakes


class CharTokenizer:
    """Character-level stand-in for a HF tokenizer (the calls OpenRLHF 0.11 makes)."""

    pad_token_id = EOS
    eos_token_id = EOS

    def __call__(self, text: str, add_special_tokens: bool = False, return_tensors: str | None = None):
        ids = [ord(c) for c in text]
        return {"input_ids": torch.tensor([ids]) if return_tensors == "pt" else ids}

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return "".join("<eos>" if i == EOS else chr(i) for i in ids if not (skip_special_tokens and i == EOS))

    def apply_chat_template(self, chat, tokenize=False, add_generation_prompt=True):
        text = "".join(f"<{m['role']}>{m['content']}" for m in chat)
        return text + ("<assistant>" if add_generation_prompt else "")


class ObjectRef:
    def __init__(self, value: Any) -> None:
        self.value = value


def make_fake_ray() -> types.ModuleType:
    """Synchronous Ray: ``.remote`` runs the call now, ``get``/``wait`` unwrap the results."""
    ray = types.ModuleType("ray")

    def get(x):
        if isinstance(x, list):
            return [get(i) for i in x]
        return x.value if isinstance(x, ObjectRef) else x

    ray.get = get
    ray.wait = lambda refs, num_returns=1, timeout=None: (refs[:num_returns], refs[num_returns:])
    ray.put = lambda v: ObjectRef(v)
    ray.remote = lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda c: c))
    ray.init_calls = []
    ray._initialized = False

    def init(**kwargs):
        ray.init_calls.append(kwargs)
        ray._initialized = True

    ray.init = init
    ray.is_initialized = lambda: ray._initialized
    return ray


class _Remote:
    def __init__(self, fn: Callable) -> None:
        self._fn = fn

    def remote(self, *args, **kwargs):
        return ObjectRef(self._fn(*args, **kwargs))


@dataclass
class ScriptedLLM:
    """vLLM stand-in: for each prompt, the k-th generate() call returns script[prompt][k]."""

    script: dict[str, list[str]]
    tokenizer: CharTokenizer
    calls: dict[str, int] = field(default_factory=dict)
    requested: list = field(default_factory=list)  # SamplingParams.logprobs of every request

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        prompt = "".join(chr(i) for i in prompt_token_ids)
        k = self.calls.get(prompt, 0)
        self.calls[prompt] = k + 1
        text = self.script[prompt][k % len(self.script[prompt])]
        ids = [ord(c) for c in text] + [EOS]
        logprobs = None
        k = getattr(sampling_params, "logprobs", None)
        self.requested.append(k)
        if k:
            # like vLLM: per token a {token_id: Logprob} dict; the value is scripted by the
            # text ("~conf" marks a confident response) so tests can trace it
            lp = -0.05 if "~conf" in text else -3.0
            logprobs = [{i: SimpleNamespace(logprob=lp, rank=1)} for i in ids]
            if k > 1:
                # the top k of a known distribution over SCRIPTED_VOCAB tokens: the sampled
                # token, the rest of the mass uniform over the others (ids >= 1000)
                rest = math.log((1.0 - math.exp(lp)) / (SCRIPTED_VOCAB - 1))
                for d in logprobs:
                    d.update({1000 + j: SimpleNamespace(logprob=rest, rank=2 + j) for j in range(k - 1)})
        out = SimpleNamespace(token_ids=ids, finish_reason="stop", logprobs=logprobs)
        return SimpleNamespace(outputs=[out])


class FakeEngine:
    """A RolloutRayActor reduced to what SamplesGenerator calls, running the REAL
    ``openrlhf.utils.agent.SingleTurnAgentExecutor`` (and so the real reward-file loading)."""

    def __init__(self, executor, llm: ScriptedLLM) -> None:
        self.executor = executor
        self.llm = llm
        self.requests: list[dict] = []
        self.get_num_unfinished_requests = _Remote(lambda: 0)
        self.generate_responses = _Remote(self._generate_responses)

    def _generate_responses(self, prompt, label, sampling_params, max_length, hf_tokenizer, num_samples=1, images=None):
        self.requests.append({"prompt": prompt, "label": label, "num_samples": num_samples})

        async def run():
            return await asyncio.gather(*[
                self.executor.execute(prompt=prompt, label=label, sampling_params=sampling_params,
                                      max_length=max_length, hf_tokenizer=hf_tokenizer, llm_engine=self.llm,
                                      images=images)
                for _ in range(num_samples)
            ])

        return asyncio.run(run())


class _Pbar:
    def __init__(self, *a, **k):
        pass

    def set_postfix(self, *a, **k):
        pass

    def update(self, *a, **k):
        pass


def loader(prompts: list[str], labels: list[str]):
    """What OpenRLHF's prompt dataloader yields (batch size 1 + PromptDataset.collate_fn)."""

    class _Loader:
        def __iter__(self):
            return iter([(["default"], [p], [l], [None]) for p, l in zip(prompts, labels)])

        def __len__(self):
            return len(prompts)

    return _Loader()


def make_args(
    n_train: int, batch_size: int, label_key: str | None = None, dynamic: bool = False, model: str = "unused"
):
    """The slice of OpenRLHF's hierarchical args the samples generator reads."""
    return SimpleNamespace(
        actor=SimpleNamespace(model_name_or_path=model),
        rollout=SimpleNamespace(batch_size=batch_size, n_samples_per_prompt=n_train, vllm_generate_batch_size=None),
        algo=SimpleNamespace(dynamic_filtering_enable=dynamic, dynamic_filtering_range=(0.0, 1.0),
                             advantage=SimpleNamespace(is_correction_level="off")),
        vllm=SimpleNamespace(enable_sleep=False),
        data=SimpleNamespace(label_key=label_key),
        eval=SimpleNamespace(n_samples_per_prompt=2, temperature=0.6),
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake_ray(monkeypatch):
    ray = make_fake_ray()
    monkeypatch.setitem(sys.modules, "ray", ray)
    return ray


@pytest.fixture
def rollout_modules(monkeypatch, fake_ray):
    """Fresh REAL samples_generator + agent modules, with GPU-only imports stubbed."""
    vllm = types.ModuleType("vllm")

    class SamplingParams(SimpleNamespace):
        pass

    vllm.SamplingParams = SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    # openrlhf.trainer.ray's __init__ builds Ray actors; samples_generator needs one helper from it.
    ray_pkg = types.ModuleType("openrlhf.trainer.ray")
    ray_pkg.__path__ = []
    engine_mod = types.ModuleType("openrlhf.trainer.ray.vllm_engine")
    engine_mod.batch_vllm_engine_call = MagicMock()
    monkeypatch.setitem(sys.modules, "openrlhf.trainer.ray", ray_pkg)
    monkeypatch.setitem(sys.modules, "openrlhf.trainer.ray.vllm_engine", engine_mod)
    monkeypatch.delitem(sys.modules, SG_MODULE, raising=False)
    sg = importlib.import_module(SG_MODULE)  # the real file, imported fresh
    monkeypatch.setattr(sg, "tqdm", _Pbar)
    agent = importlib.import_module("openrlhf.utils.agent")
    yield SimpleNamespace(sg=sg, agent=agent)
    sys.modules.pop(SG_MODULE, None)


@pytest.fixture
def ttrl_env(monkeypatch):
    """Sets the TTRL config env var the way the launcher's runtime_env does."""
    from ttrl_kit.engines.openrlhf.config import ENV_VAR, TTRLConfig

    def set_config(**kw):
        cfg = TTRLConfig(**{"task": "math", **kw})
        monkeypatch.setenv(ENV_VAR, cfg.to_json())
        return cfg

    return set_config


@pytest.fixture
def build_generator(rollout_modules, monkeypatch):
    """A real SamplesGenerator wired to a FakeEngine that runs the real agent executor
    (whose per-sample reward file reads the TTRL config env var, as in a Ray worker)."""
    from ttrl_kit.engines.openrlhf.config import ENV_VAR, TTRLConfig
    from ttrl_kit.engines.openrlhf.launcher import REWARD_FILE

    if ENV_VAR not in __import__("os").environ:
        monkeypatch.setenv(ENV_VAR, TTRLConfig(task="math").to_json())

    def build(script, labels, args, eval_script=None):
        tok = CharTokenizer()
        executor = rollout_modules.agent.SingleTurnAgentExecutor(remote_rm_url=[REWARD_FILE])
        engine = FakeEngine(executor, ScriptedLLM(script, tok))
        prompts = list(script)
        gen = rollout_modules.sg.SamplesGenerator(
            strategy=SimpleNamespace(args=args),
            prompts_dataloader=loader(prompts, labels),
            eval_dataloader=loader(prompts, labels),
            tokenizer=tok,
            vllm_engines=[engine],
        )
        return gen, engine

    return build


@pytest.fixture
def experience_maker_module(monkeypatch, fake_ray):
    """The REAL RemoteExperienceMaker (advantages), with deepspeed and Ray actors stubbed."""
    monkeypatch.setitem(sys.modules, "deepspeed", MagicMock())
    ray_pkg = types.ModuleType("openrlhf.trainer.ray")
    ray_pkg.__path__ = []
    monkeypatch.setitem(sys.modules, "openrlhf.trainer.ray", ray_pkg)
    spec = importlib.util.spec_from_file_location("_ttrl_models_utils", OPENRLHF_ROOT / "models" / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    monkeypatch.setitem(sys.modules, "openrlhf.models.utils", utils)
    monkeypatch.setitem(sys.modules, "openrlhf.trainer.ray.launcher", MagicMock())
    monkeypatch.setitem(sys.modules, "openrlhf.utils.seqlen_balancing", MagicMock())
    spec = importlib.util.spec_from_file_location(
        "_ttrl_experience_maker", OPENRLHF_ROOT / "trainer" / "ppo_utils" / "experience_maker.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def helpers():
    return SimpleNamespace(
        make_args=make_args,
        CharTokenizer=CharTokenizer,
        loader=loader,
        make_fake_ray=make_fake_ray,
        SCRIPTED_VOCAB=SCRIPTED_VOCAB,
    )
