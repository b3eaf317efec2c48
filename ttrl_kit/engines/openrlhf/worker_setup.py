"""Ray ``worker_process_setup_hook``: make every Ray worker of the job patch OpenRLHF's
``SamplesGenerator`` the moment it is imported.

Ray runs ``setup()`` once in each worker process of the job, before any task or actor runs
there (the launcher passes ``runtime_env={"worker_process_setup_hook":
"ttrl_kit.engines.openrlhf.worker_setup.setup"}``).  We do NOT import OpenRLHF here: the
samples generator imports vLLM, and importing vLLM in every worker (the DeepSpeed actors, the
reference model, idle workers) before Ray assigned GPUs would be slow and risky.  Instead a
tiny import hook waits for ``openrlhf.trainer.ppo_utils.samples_generator`` and patches the
class right after the module body ran, so whichever actor builds a ``SamplesGenerator``
(``PPOTrainer`` or the async ``GenerateSamplesActor``) gets the hooked class.  The same hook
patches ``openrlhf.trainer.ppo_trainer`` for the optional evaluation at step 0, and
``openrlhf.utils.agent`` (imported by the vLLM actors) so that vLLM's top-k log-probs reach the
group hook (:mod:`.topk_capture`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable
from typing import Any

from ttrl_kit.engines.openrlhf import topk_capture
from ttrl_kit.engines.openrlhf.patch import TARGET_MODULE, TRAINER_MODULE, install, install_trainer_hooks

SETUP_HOOK = "ttrl_kit.engines.openrlhf.worker_setup.setup"


#: module name -> the function that patches it right after its body ran
PATCHES: dict[str, Callable[[Any], object]] = {
    TARGET_MODULE: install,
    TRAINER_MODULE: install_trainer_hooks,
    topk_capture.AGENT_MODULE: topk_capture.install,  # in the vLLM actors: keep vLLM's top-k log-probs
}


class _PatchingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then installs the hook into the fresh module."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self._inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._inner.exec_module(module)
        PATCHES[module.__name__](module)

    def __getattr__(self, name: str) -> Any:  # get_code, get_source, is_package, ...
        return getattr(self._inner, name)


class PatchOnImport(importlib.abc.MetaPathFinder):
    """Meta-path finder that only answers for the modules in :data:`PATCHES`."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, PatchOnImport):
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def setup() -> None:
    """Entry point Ray calls in each worker (and the launcher calls in the driver)."""
    for name, patch in PATCHES.items():
        module = sys.modules.get(name)
        if module is not None:
            patch(module)
    if not any(isinstance(f, PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, PatchOnImport())


def teardown() -> None:
    """Remove the import hook (tests use it; Ray workers never need it)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, PatchOnImport)]
