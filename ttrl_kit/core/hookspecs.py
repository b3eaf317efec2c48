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

    **Batches.**  An estimator that must see the whole step (e.g. to keep the step's
    pseudo-labels from drifting onto one class) also implements
    ``estimate_batch(groups, n_train, signals=None) -> [Estimate]``: ``groups`` is one
    :class:`ttrl_kit.AnswerClasses` per prompt group of the step, ``n_train`` one entry per
    group, ``signals`` (only with ``needs``) one :class:`ttrl_kit.Signals` per group; it
    returns one estimate per group, in order.  The embedded engine / ``ttrl_kit.trl`` (rank 0
    with several ranks), the verl agent loop, ``ttrl-kit vote`` (the whole file) and the
    bench (a cell) call it once per step; OpenRLHF's group hook sees groups one at a time
    and calls it with a batch of one per group, as does ``GroupScorer.score``.

    **State.**  An estimator with a running state implements ``state_dict() -> dict``
    (JSON-serialisable) and ``load_state_dict(state)``; every engine saves it with its
    checkpoints and restores it on resume (embedded: ``checkpoint-N/ttrl_estimator_state.json``;
    verl: ``global_step_N/``; OpenRLHF: the checkpoint's ``client_states``).  Evaluation
    never calls the training estimator.  See :mod:`ttrl_kit.core.batch` and the built-in
    ``aligned`` vote (:mod:`ttrl_kit.core.aligned`).
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Contribute dataset loaders: ``register(name, loader, description="")``.

    ``loader(source: str, **options)`` returns a list of row dicts, where ``source`` is a
    local file (JSON, JSONL, parquet, CSV: whatever the loader supports) or a hub name.
    Rows are what :meth:`Task.build_prompt` and :meth:`Task.gold_label` read; each row
    should carry a stable ``id`` so engines can key groups by prompt id.
    """
