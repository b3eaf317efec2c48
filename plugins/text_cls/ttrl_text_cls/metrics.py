"""Classification metrics for label voting, computed with scikit-learn.

Two views of a scored batch are reported separately, because TTRL trains on one and is
judged on the other:

* **pseudo-labels**: one prediction per prompt, the estimator's voted label (what the
  rewards were computed from; its accuracy is TTRL's "label accuracy", maj@k);
* **policy predictions**: every sampled answer (what the model says; accuracy = avg@k).

Abstentions (no label could be read) are kept as their own prediction ``"(abstain)"``:
they count as wrong for accuracy, as misses for macro-F1 (which averages over the real
labels only) and as a separate class for MCC and the confusion matrix.

The entropy of the predicted-label distribution is reported with every batch, and
:class:`LabelCollapseWarning` is raised (as a Python warning and a log record) when one
label takes almost all predictions: the known failure of label-free RL, where the policy
learns to always say the label it already preferred and the vote happily agrees.

Everything takes plain lists of strings (or ``GroupResult`` s), so scripts and engines can
call it without knowing this plugin; :meth:`TextClassificationTask.report_metrics` is the
duck-typed entry an engine can use through the task object.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ttrl_kit import GroupResult, plurality

ABSTAIN = "(abstain)"
log = logging.getLogger(__name__)


class LabelCollapseWarning(UserWarning):
    """Predictions have collapsed onto (almost) a single label."""


@dataclass(frozen=True)
class ClassificationReport:
    """Accuracy, macro-F1, MCC and the confusion matrix of one set of predictions.

    ``confusion[i][j]`` counts gold ``labels[i]`` predicted as ``columns[j]``, where
    ``columns`` is ``labels`` plus ``"(abstain)"``.  ``n`` counts pairs with a known gold
    label; ``unknown_gold`` pairs (gold not in the label set) are left out of everything.
    """

    n: int
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    accuracy: float
    macro_f1: float
    mcc: float
    coverage: float
    confusion: tuple[tuple[int, ...], ...]
    unknown_gold: int = 0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["columns"] = list(self.columns)
        d["confusion"] = [list(r) for r in self.confusion]
        return d


@dataclass(frozen=True)
class LabelDistribution:
    """How predictions spread over labels; ``entropy`` in nats, ``entropy_norm`` in [0, 1]
    (divided by log of the number of labels).  Abstentions are counted apart."""

    counts: dict[str, int]
    abstain: int
    entropy: float
    entropy_norm: float
    top_label: str | None
    top_share: float
    collapsed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pred(p: Any, labels: Sequence[str]) -> str:
    return p if isinstance(p, str) and p in labels else ABSTAIN


def classification_report(
    gold: Sequence[str | None], pred: Sequence[str | None], labels: Sequence[str]
) -> ClassificationReport:
    """Score predictions against gold labels (``None`` prediction = abstain; ``None`` gold
    = unlabeled, skipped)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, matthews_corrcoef

    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels for {len(pred)} predictions")
    labels = tuple(labels)
    columns = labels + (ABSTAIN,)
    y_true: list[str] = []
    y_pred: list[str] = []
    unknown = 0
    for g, p in zip(gold, pred):
        if g is None:
            continue
        if g not in labels:
            unknown += 1
            continue
        y_true.append(g)
        y_pred.append(_pred(p, labels))
    n = len(y_true)
    if n == 0:
        empty = tuple(tuple(0 for _ in columns) for _ in labels)
        return ClassificationReport(0, labels, columns, 0.0, 0.0, 0.0, 0.0, empty, unknown)
    cm = confusion_matrix(y_true, y_pred, labels=list(columns))
    with warnings.catch_warnings():
        # MCC of a constant or single-class sample is 0 by definition; sklearn warns about
        # it (RuntimeWarning / UserWarning), which is noise in a training log.
        warnings.simplefilter("ignore")
        mcc = float(matthews_corrcoef(y_true, y_pred))
    if math.isnan(mcc):
        mcc = 0.0
    return ClassificationReport(
        n=n,
        labels=labels,
        columns=columns,
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0)),
        mcc=mcc,
        coverage=sum(1 for p in y_pred if p != ABSTAIN) / n,
        confusion=tuple(tuple(int(x) for x in row) for row in cm[: len(labels)]),
        unknown_gold=unknown,
    )


def label_distribution(
    pred: Iterable[str | None],
    labels: Sequence[str],
    *,
    collapse_share: float = 0.9,
    min_predictions: int = 10,
    warn: bool = True,
    what: str = "predictions",
) -> LabelDistribution:
    """Entropy of the predicted-label histogram, and a collapse check.

    ``collapsed`` is set when at least ``min_predictions`` non-abstaining predictions exist
    and one label holds ``collapse_share`` or more of them; with ``warn`` a
    :class:`LabelCollapseWarning` is issued.  Compare against the gold prior yourself when
    the data really is that skewed.
    """
    labels = tuple(labels)
    counts = {lab: 0 for lab in labels}
    abstain = 0
    for p in pred:
        if isinstance(p, str) and p in counts:
            counts[p] += 1
        else:
            abstain += 1
    total = sum(counts.values())
    h = -sum((c / total) * math.log(c / total) for c in counts.values() if c) if total else 0.0
    h = h if h > 0 else 0.0  # no "-0.0" in reports
    h_norm = h / math.log(len(labels)) if len(labels) > 1 else 0.0
    top = max(labels, key=lambda lab: counts[lab]) if total else None
    share = counts[top] / total if top is not None else 0.0
    collapsed = total >= min_predictions and share >= collapse_share
    if collapsed and warn:
        msg = (
            f"label collapse: {share:.0%} of {total} {what} are {top!r} "
            f"(entropy {h_norm:.3f} of max 1); label-free RL may be reinforcing one label"
        )
        log.warning(msg)
        warnings.warn(msg, LabelCollapseWarning, stacklevel=2)
    return LabelDistribution(counts, abstain, h, h_norm, top, share, collapsed)


@dataclass(frozen=True)
class GroupMetrics:
    """Metrics of scored groups: pseudo-labels vs gold, policy samples vs gold, avg@k,
    maj@k, and the label distributions of both."""

    groups: int
    labelled_groups: int
    avg_at_k: float
    maj_at_k: float
    pseudo: ClassificationReport
    policy: ClassificationReport
    pseudo_distribution: LabelDistribution
    policy_distribution: LabelDistribution

    def flat(self, prefix: str = "cls/") -> dict[str, float]:
        """Numbers only, for loggers (no confusion matrices)."""
        out = {
            "groups": float(self.groups),
            "labelled_groups": float(self.labelled_groups),
            "avg_at_k": self.avg_at_k,
            "maj_at_k": self.maj_at_k,
        }
        for name, rep in (("pseudo", self.pseudo), ("policy", self.policy)):
            out[f"{name}_accuracy"] = rep.accuracy
            out[f"{name}_macro_f1"] = rep.macro_f1
            out[f"{name}_mcc"] = rep.mcc
            out[f"{name}_coverage"] = rep.coverage
        for name, dist in (("pseudo", self.pseudo_distribution), ("policy", self.policy_distribution)):
            out[f"{name}_label_entropy"] = dist.entropy_norm
            out[f"{name}_top_label_share"] = dist.top_share
            out[f"{name}_collapsed"] = 1.0 if dist.collapsed else 0.0
        return {prefix + k: float(v) for k, v in out.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups": self.groups,
            "labelled_groups": self.labelled_groups,
            "avg_at_k": self.avg_at_k,
            "maj_at_k": self.maj_at_k,
            "pseudo": self.pseudo.as_dict(),
            "policy": self.policy.as_dict(),
            "pseudo_distribution": self.pseudo_distribution.as_dict(),
            "policy_distribution": self.policy_distribution.as_dict(),
        }


def group_metrics(
    results: Sequence[GroupResult], labels: Sequence[str], *, collapse_share: float = 0.9, warn: bool = True
) -> GroupMetrics:
    """Metrics for groups scored by ``GroupScorer`` with a label task.

    ``maj@k`` is the majority over the group's answers (abstentions never win, ties to the
    first seen), independent of the estimator's options; the ``pseudo`` report uses the
    estimator's own label, which differs only where ``tie_break: none`` or similar
    withheld a label.  Answers are expected to be canonical labels (what ``text_cls``
    extracts); anything else counts as an abstention.
    """
    labels = tuple(labels)
    labelled = [r for r in results if r.gold is not None]
    avg: list[float] = []
    maj: list[float] = []
    p_gold: list[str | None] = []
    p_pred: list[str | None] = []
    s_gold: list[str | None] = []
    s_pred: list[str | None] = []
    for r in labelled:
        answers = [_pred(a, labels) for a in r.answers]
        answers_or_none = [None if a == ABSTAIN else a for a in answers]
        if r.answers:
            avg.append(sum(1.0 for a in answers if a == r.gold) / len(answers))
        maj.append(1.0 if plurality(answers_or_none) == r.gold else 0.0)
        p_gold.append(r.gold)
        p_pred.append(r.label)
        s_gold.extend([r.gold] * len(answers))
        s_pred.extend(answers_or_none)
    all_pseudo = [r.label for r in results]
    all_samples = [a for r in results for a in r.answers]
    return GroupMetrics(
        groups=len(results),
        labelled_groups=len(labelled),
        avg_at_k=sum(avg) / len(avg) if avg else 0.0,
        maj_at_k=sum(maj) / len(maj) if maj else 0.0,
        pseudo=classification_report(p_gold, p_pred, labels),
        policy=classification_report(s_gold, s_pred, labels),
        pseudo_distribution=label_distribution(
            all_pseudo, labels, collapse_share=collapse_share, warn=warn, what="pseudo-labels"
        ),
        policy_distribution=label_distribution(
            all_samples, labels, collapse_share=collapse_share, warn=warn, what="sampled answers"
        ),
    )
