"""The hooks a ttrl-kit plugin can implement.  This module is the whole plugin contract.

A plugin is a module named by an entry point in the ``ttrl_kit`` group::

    [project.entry-points.ttrl_kit]
    my_task = "my_package.plugin"

and implements any of the hooks below with ``@ttrl_kit.hookimpl``.  Each hook receives a
``register`` callable; calling it is the only way to contribute something, so a plugin
never needs to import the registry or know about engines.  Names must be unique across
plugins: a clash is reported as a failure of the later plugin and the first one wins.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("ttrl_kit")
hookimpl = pluggy.HookimplMarker("ttrl_kit")

Register = Callable[..., None]


@hookspec
def register_tasks(register: Register) -> None:
    """Contribute tasks: ``register(name, factory, description="")``.

    ``factory(**options)`` returns an object implementing :class:`ttrl_kit.Task`.
    Options come from ``--task-option k=v`` / ``--task-config FILE`` on the command line
    or the ``task.options`` mapping of a run config; a factory should raise
    :class:`ttrl_kit.ConfigError` with a one-line message for bad options.
    """


@hookspec
def register_estimators(register: Register) -> None:
    """Contribute reward estimators: ``register(name, factory, description="")``.

    ``factory(**options)`` returns an object implementing :class:`ttrl_kit.Estimator`
    (``estimate(classes, n_train=None) -> Estimate``).  Estimators never see gold labels.

    **Signals.**  An estimator that reads more than the answers declares it with ``needs``,
    a tuple of names from :data:`ttrl_kit.SIGNAL_NAMES` (class or instance attribute):

    * ``"logprob"``: log-probability of each sampled token (nats, <= 0);
    * ``"entropy"``: entropy of each step's next-token distribution (nats, >= 0);
    * ``"self_certainty"``: KL(U || p) per step, ``-log V - mean_j log p_j`` (Intuitor);
    * ``"topk_logprobs"``: the k largest log-probabilities per step.

    It is then called as ``estimate(classes, n_train, signals=...)`` with a frozen
    :class:`ttrl_kit.Signals` holding exactly those signals, one tuple of per-token values per
    response, aligned with ``classes`` (trained samples first).  Engines compute only what
    some estimator needs, from the model's own distribution (raw logits, temperature 1),
    and the core checks ``needs`` against what the engine supplies when the run is
    configured, before any model loads: the embedded engine (HF ``generate``) supplies all
    four exactly; the OpenRLHF engine supplies ``logprob`` and ``topk_logprobs`` exactly and
    ``entropy`` / ``self_certainty`` as bounds from vLLM's top 20 (:mod:`ttrl_kit.core.topk`);
    the verl engine supplies none; ``ttrl-kit vote`` reads them from the input file's
    ``"signals"`` field.  An estimator without ``needs`` is
    called exactly as before and costs nothing extra.
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Contribute dataset loaders: ``register(name, loader, description="")``.

    ``loader(source: str, **options)`` returns a list of row dicts, where ``source`` is a
    local file (JSON, JSONL, parquet, CSV: whatever the loader supports) or a hub name.
    Rows are what :meth:`Task.build_prompt` and :meth:`Task.gold_label` read; each row
    should carry a stable ``id`` so engines can key groups by prompt id.
    """
