"""Records that cross module boundaries: plugins, engines and the CLI all speak these.

They are plain frozen data classes so that an engine running in another process (a Ray
actor, a TRL worker) can pickle them, and so that nobody mutates a vote after it was cast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AnswerClasses:
    """The equivalence classes a task found among one group's extracted answers.

    ``class_of[i]`` is the class index of sample ``i``, or ``None`` when the sample
    abstains (no answer could be extracted or parsed).  ``representatives[c]`` is the
    answer text shown for class ``c`` (the first member's text, so output is stable).
    Class indices are numbered in order of first appearance, which is what the
    deterministic tie rule relies on.
    """

    class_of: tuple[int | None, ...]
    representatives: tuple[str, ...]
    #: Numbers about how the classes were found (e.g. ``equivalence_truncated`` when a
    #: time budget cut the merge stage short); merged into the group's ``Estimate.stats``.
    stats: Mapping[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        k = len(self.representatives)
        for c in self.class_of:
            if c is not None and not (0 <= c < k):
                raise ValueError(f"class index {c} out of range for {k} classes")
        seen = -1
        for c in self.class_of:
            if c is not None and c > seen:
                if c != seen + 1:
                    raise ValueError("class indices must be numbered in order of first appearance")
                seen = c

    @property
    def n(self) -> int:
        return len(self.class_of)

    def counts(self) -> list[int]:
        """Number of samples in each class (abstentions are not counted anywhere)."""
        out = [0] * len(self.representatives)
        for c in self.class_of:
            if c is not None:
                out[c] += 1
        return out


SIGNAL_NAMES: tuple[str, ...] = ("logprob", "entropy", "self_certainty", "topk_logprobs")
"""The per-token signals an engine may supply (see :mod:`ttrl_kit.core.signals`):

* ``logprob``: log-probability of the sampled token under the model (nats, <= 0);
* ``entropy``: entropy of the model's next-token distribution (nats, >= 0);
* ``self_certainty``: KL(U || p) between the uniform distribution over the vocabulary and
  the next-token distribution, ``-log V - (1/V) sum_j log p_j`` (Intuitor), >= 0;
* ``topk_logprobs``: the k largest next-token log-probabilities (one tuple per token).
"""


@dataclass(frozen=True)
class Signals:
    """Per-token signals of one group's responses, aligned with the responses.

    ``values[j][i]`` is the tuple of per-token values of signal ``names[j]`` for response
    ``i`` (for ``topk_logprobs`` each token's value is itself a tuple of k floats).  Tuples
    of tuples rather than tensors or a dict, so a record pickles across processes, compares
    by value and cannot be mutated after an engine produced it.
    """

    names: tuple[str, ...] = ()
    values: tuple[tuple[tuple[Any, ...], ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.names) != len(self.values):
            raise ValueError("Signals: one value list per name")
        if len(set(self.names)) != len(self.names):
            raise ValueError("Signals: duplicate signal name")
        sizes = {len(v) for v in self.values}
        if len(sizes) > 1:
            raise ValueError(f"Signals: signals cover different numbers of responses {sorted(sizes)}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Sequence[Sequence[Any]]]) -> Signals:
        names = tuple(mapping)
        values = tuple(tuple(_freeze(resp) for resp in mapping[name]) for name in names)
        return cls(names, values)

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Sequence[Any]]]) -> Signals | None:
        """Per-response signal dicts (``{name: per-token values}``, all with the same names),
        in response order, as one record; None for no rows."""
        if not rows:
            return None
        names = tuple(rows[0])
        return cls(names, tuple(tuple(_freeze(r[n]) for r in rows) for n in names))

    @property
    def n(self) -> int:
        """Number of responses covered (0 when there is no signal at all)."""
        return len(self.values[0]) if self.values else 0

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def get(self, name: str) -> tuple[tuple[Any, ...], ...] | None:
        return self.values[self.names.index(name)] if name in self.names else None

    def only(self, names: Sequence[str]) -> Signals:
        """The named signals only (in the given order; absent names are skipped)."""
        keep = [n for n in names if n in self.names]
        return Signals(tuple(keep), tuple(self.values[self.names.index(n)] for n in keep))

    def take(self, indices: Sequence[int]) -> Signals:
        """The responses at ``indices`` (in that order), e.g. one group of a flat batch."""
        return Signals(self.names, tuple(tuple(v[i] for i in indices) for v in self.values))

    def concat(self, other: Signals) -> Signals:
        """Responses of ``self`` followed by those of ``other`` (e.g. trained samples, then
        extra votes); only signals present in both are kept."""
        keep = [n for n in self.names if n in other.names]
        return Signals(tuple(keep), tuple(self.get(n) + other.get(n) for n in keep))  # type: ignore[operator]


def _freeze(tokens: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(tuple(float(x) for x in t) if isinstance(t, (list, tuple)) else float(t) for t in tokens)


@dataclass(frozen=True)
class Estimate:
    """What an estimator returns for one prompt's group.

    ``rewards`` has one entry per *trained* sample (the first ``n_train`` of the group);
    ``agrees`` has one entry per *voting* sample and says whether it is in the winning class.
    ``stats`` holds numbers an engine should log (all floats, so they average across groups).
    """

    label: str | None
    label_class: int | None
    rewards: tuple[float, ...]
    agrees: tuple[bool, ...]
    majority_ratio: float
    low_consensus: bool
    stats: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupResult:
    """One scored group: the task's view (answers, classes), the estimate and, when a gold
    label was supplied, the evaluation numbers.  Gold never influences ``estimate``.

    ``class_correct[c]`` says whether answer class ``c`` matches the gold label (what maj@k
    needs); ``sample_correct[i]`` is the same per sample.  :func:`ttrl_kit.summarise` turns
    a batch of these into the gold-side metrics every engine, the bench and the CLI report."""

    id: Any
    answers: tuple[str | None, ...]
    classes: AnswerClasses
    estimate: Estimate
    gold: str | None = None
    label_correct: bool | None = None
    sample_correct: tuple[bool, ...] | None = None
    reward_accuracy: float | None = None
    class_correct: tuple[bool, ...] | None = None
    #: Set only for a group the user gave a gold label for training (``labelled``, see
    #: :class:`GroupInput`): its rewards are correctness against gold, not the estimate's.
    gold_rewards: tuple[float, ...] | None = None

    @property
    def rewards(self) -> tuple[float, ...]:
        """The rewards to train on: the estimator's, or gold correctness for a labelled group."""
        return self.gold_rewards if self.gold_rewards is not None else self.estimate.rewards

    @property
    def label(self) -> str | None:
        return self.estimate.label


@dataclass(frozen=True)
class GroupInput:
    """One prompt group as an engine hands it to :meth:`GroupScorer.score_batch`.

    ``gold`` is for reporting only, unless ``labelled`` is set: then the user chose to give
    this question its gold answer (``ttrl.labeled_fraction`` / a labelled column) and its
    trained samples are rewarded by correctness against gold.  The estimator still votes on
    it (its label is reported, as for every group) but never sees the gold value."""

    responses: tuple[str, ...]
    gold: str | None = None
    n_train: int | None = None
    id: Any = None
    signals: Signals | None = None
    labelled: bool = False


@dataclass(frozen=True)
class PluginInfo:
    """A plugin as ``ttrl-kit plugins`` shows it."""

    name: str
    package: str | None
    version: str | None
    tasks: tuple[str, ...] = ()
    estimators: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or whose hook raised; it is skipped, not fatal."""

    name: str
    package: str | None
    stage: str  # "import" or the hook name
    error: str


@dataclass(frozen=True)
class Registration:
    """One named thing a plugin contributed: a task, estimator or dataset factory."""

    name: str
    factory: Any
    plugin: str
    description: str = ""


Messages = Sequence[Mapping[str, Any]]
