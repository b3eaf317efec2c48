"""The batch side of the estimator contract: estimators that see a whole step's groups,
and estimators that keep a running state across steps.

Why: some estimates are about the batch, not one group.  A distribution-aligned vote
(:mod:`ttrl_kit.core.aligned`) must know how often each class was predicted across the
step's groups to stop the pseudo-labels drifting onto one class; a per-group call cannot
see that.  The contract (documented for plugin authors in :mod:`ttrl_kit.core.hookspecs`
and docs/writing-a-plugin.md):

* **Batch-aware**: the estimator has ``estimate_batch(groups, n_train) -> [Estimate]``
  (``groups``: one :class:`AnswerClasses` per prompt group of the step, ``n_train`` one
  entry per group; with ``needs`` also ``signals=[Signals per group]``), returning one
  estimate per group in the same order.  :meth:`GroupScorer.score_batch` calls it once per
  step; ``GroupScorer.score`` (one group) calls it with a batch of one.  An estimator
  without ``estimate_batch`` keeps being called group by group, exactly as before.
* **Stateful**: the estimator has ``state_dict() -> dict`` (JSON-serialisable: numbers,
  strings, lists, dicts) and ``load_state_dict(state)``.  Engines save it beside each
  checkpoint and load it when a run resumes, so a crash resumes the running average of the
  last checkpoint, not a fresh one.

Engines that see groups one at a time (OpenRLHF's group hook) use the batch-of-one path:
the running state then advances group by group.  A batch estimator must therefore define
its state update so that a stream of batches of one is a sensible special case (the
aligned vote updates its running average per group, in order, in both modes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.records import AnswerClasses, Estimate

STATE_FILE = "ttrl_estimator_state.json"
"""Name of the estimator-state file engines write into a checkpoint directory."""


@runtime_checkable
class BatchEstimator(Protocol):
    """An estimator that sees the whole step: ``estimate_batch(groups, n_train)``."""

    name: str

    def estimate_batch(self, groups: Sequence[AnswerClasses], n_train: Sequence[int | None]) -> Sequence[Estimate]:
        """One estimate per group, in order; never sees a gold label."""


@runtime_checkable
class StatefulEstimator(Protocol):
    """An estimator whose running state must survive a resume."""

    def state_dict(self) -> dict[str, Any]:
        """The running state, JSON-serialisable."""

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def is_batch(estimator: Any) -> bool:
    """True when the estimator implements ``estimate_batch``."""
    return callable(getattr(estimator, "estimate_batch", None))


def is_stateful(estimator: Any) -> bool:
    """True when the estimator implements ``state_dict`` / ``load_state_dict``."""
    return callable(getattr(estimator, "state_dict", None)) and callable(getattr(estimator, "load_state_dict", None))


def state_record(estimator: Any) -> dict[str, Any] | None:
    """``{"estimator": name, "state": state_dict()}`` (JSON-serialisable), or None when the
    estimator keeps no state; what an engine stores in its checkpoint."""
    if not is_stateful(estimator):
        return None
    return {"estimator": getattr(estimator, "name", ""), "state": estimator.state_dict()}


def load_state_record(estimator: Any, record: Any, where: str) -> None:
    """Restore a :func:`state_record`.  A record of another estimator or a malformed one is a
    one-line ConfigError naming ``where``: resuming with a silently reset running average
    would change the run."""
    try:
        saved_for = record["estimator"]
        state = record["state"]
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: unreadable estimator state ({type(exc).__name__})") from None
    name = getattr(estimator, "name", "")
    if saved_for != name:
        raise ConfigError(f"{where}: field 'estimator': state of estimator {saved_for!r}, this run uses {name!r}")
    try:
        estimator.load_state_dict(state)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: field 'state': {exc}"[:300]) from None


def save_state(estimator: Any, directory: str | Path) -> Path | None:
    """Write the estimator's state into ``directory`` (atomically: a crash mid-write leaves
    the previous file or none); None when the estimator keeps no state."""
    record = state_record(estimator)
    if record is None:
        return None
    path = Path(directory) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)
    return path


def load_state(estimator: Any, directory: str | Path) -> bool:
    """Load the state saved by :func:`save_state` from ``directory``; False when the
    estimator keeps no state or there is no file (a checkpoint written before it had one)."""
    if not is_stateful(estimator):
        return False
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return False
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable estimator state ({type(exc).__name__})") from None
    load_state_record(estimator, record, str(path))
    return True
