"""With the REAL Ray (2.55.0, OpenRLHF 0.11.2's pin): the launcher's runtime_env makes every
Ray worker patch OpenRLHF's SamplesGenerator on import and see the TTRL config.

`scripts/install.sh --dev` installs ray==2.55.0, so this runs in the default suite; it skips only
where Ray is missing.
"""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray", reason="needs the real ray package (pip install ray==2.55.0)")
if not hasattr(ray, "get_runtime_context"):  # pragma: no cover - a stub left in sys.modules
    pytest.skip("ray is stubbed", allow_module_level=True)

from ttrl_kit.engines.openrlhf import launcher  # noqa: E402
from ttrl_kit.engines.openrlhf.config import ENV_VAR, TTRLConfig  # noqa: E402


@pytest.mark.slow
def test_every_ray_worker_gets_the_hook_and_the_config():
    config = TTRLConfig(task="math", n_votes=64)
    runtime_env = launcher.runtime_env_for(config, {})
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=runtime_env, log_to_driver=False)
    try:

        @ray.remote(num_cpus=0)
        class Probe:
            """Stands in for PPOTrainer / GenerateSamplesActor: imports the real samples generator."""

            def check(self):
                import os
                import sys
                import types
                from unittest.mock import MagicMock

                sys.modules["vllm"] = types.SimpleNamespace(SamplingParams=object)  # GPU-only import
                pkg = types.ModuleType("openrlhf.trainer.ray")
                pkg.__path__ = []
                sys.modules["openrlhf.trainer.ray"] = pkg
                sys.modules["openrlhf.trainer.ray.vllm_engine"] = MagicMock()
                from openrlhf.trainer.ppo_utils import samples_generator as sg

                return (os.getpid(), bool(getattr(sg.SamplesGenerator, "_ttrl_kit_hook", False)),
                        os.environ.get(ENV_VAR))

        probes = [Probe.remote() for _ in range(2)]
        results = ray.get([p.check.remote() for p in probes])
    finally:
        ray.shutdown()
    assert len({pid for pid, _, _ in results}) == 2  # two separate worker processes
    for _, patched, env in results:
        assert patched is True
        assert TTRLConfig.from_json(env) == config
