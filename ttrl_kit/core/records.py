"""Records that cross module boundaries: plugins, engines and the CLI all speak these.

They are plain frozen data classes so that an engine running in another process (a Ray
actor, a TRL worker) can pickle them, and so that nobody mutates a vote after it was cast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


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
    label was supplied, the evaluation numbers.  Gold never influences ``estimate``."""

    id: Any
    answers: tuple[str | None, ...]
    classes: AnswerClasses
    estimate: Estimate
    gold: str | None = None
    label_correct: bool | None = None
    sample_correct: tuple[bool, ...] | None = None
    reward_accuracy: float | None = None

    @property
    def rewards(self) -> tuple[float, ...]:
        return self.estimate.rewards

    @property
    def label(self) -> str | None:
        return self.estimate.label


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
