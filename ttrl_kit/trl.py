"""TTRL as a reward function for your own TRL ``GRPOTrainer``, correct with one process or many.

    from trl import GRPOConfig, GRPOTrainer
    from ttrl_kit.trl import ttrl_reward

    trainer = GRPOTrainer(model=..., reward_funcs=[ttrl_reward("math", "majority")],
                          args=GRPOConfig(num_generations=8, ...), train_dataset=dataset)

Why a gather: with ``accelerate launch --num_processes N`` TRL's ``RepeatSampler`` spreads
the ``num_generations`` completions of one prompt over several ranks, and TRL calls the reward
function on each rank's local slice before it gathers rewards.  A majority vote over a local
slice is a vote over part of the group: a different, wrong, estimate.  So each call first
gathers every rank's (prompt id, completion, gold) rows (``torch.distributed.all_gather_object``;
gloo on CPU, NCCL on GPU), regroups the whole step by prompt id (never by position), scores
each whole group exactly once (group ``j`` on rank ``j % N``), shares the results, and
returns each rank the rewards of its own rows.  The rewards are the ones a single process
would have computed on the same rows in the same order.

Groups are keyed by the dataset's ``id`` column when it has one, else by the prompt itself;
a key that does not come with exactly one group's worth of rows fails with one line, since
voting over a split or merged group would silently change the estimate.

The TTRL statistics of each step (reward mean, majority ratio, answer entropy, label and
reward accuracy when a gold column is named, ...) go to TRL's ``log_metric`` as
``ttrl/<name>``, so they appear wherever TRL reports (``report_to``: wandb, tensorboard,
trackio).  Gold labels are read only for those statistics, never for rewards.

The object is picklable (it carries names and options; the scorer is rebuilt from the
plugin registry where it is unpickled), like TRL's own reward functions.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ttrl_kit.core.errors import ConfigError
from ttrl_kit.core.records import GroupResult, Signals
from ttrl_kit.core.scoring import GroupScorer, group_indices, summarise

__all__ = ["GroupSplitError", "StepStats", "TTRLReward", "completion_text", "ttrl_reward"]

#: ``extra_votes(prompts_by_id, n) -> {id: [n completion texts]}`` (votes that are not trained on)
ExtraVotes = Callable[["OrderedDict[Hashable, Any]", int], Mapping[Hashable, Sequence[str]]]
#: ``stats_sink(step_stats)``: receives what each reward call measured (e.g. ``list.append``)
StatsSink = Callable[["StepStats"], None]


class GroupSplitError(ConfigError):
    """A prompt group arrived incomplete (or two groups share a key): voting over it would be a
    different estimate.  One line naming the key and the counts."""


def completion_text(completion: Any) -> str:
    """TRL hands conversational completions as ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        last = completion[-1]
        if isinstance(last, Mapping):
            content = last.get("content", "")
            if isinstance(content, list):  # typed content blocks
                return "".join(b.get("text", "") for b in content if isinstance(b, Mapping))
            return content if isinstance(content, str) else ""
    return ""


@dataclass
class StepStats:
    """What one reward call measured (over the whole step, all ranks); logged as ``ttrl/*``.

    Every number comes from the core's :func:`~ttrl_kit.summarise` of the step's groups, i.e.
    from the estimator's own ``Estimate.stats`` (one definition for training logs, the bench
    and ``ttrl-kit vote``).  Since 2026-12-06 that also holds for ``answer_entropy`` and
    ``abstain_ratio``, which this class used to recompute: the entropy is over the classes the
    vote saw (with ``abstain=false`` the empty answer is one of them, as it can win), and a
    sample abstains when it has no class (no answer, or one the task could not parse), the
    README's definition; ``reward_mean`` is the mean over groups of each group's mean (the
    same as the pooled mean when groups have equal size, as in training)."""

    results: list[GroupResult] = field(default_factory=list)
    estimate_s: float = 0.0
    extra_generate_s: float = 0.0
    signal_s: float | None = None  # reducing logits to signals, inside generation (None: none needed)

    #: metrics.jsonl / ``ttrl/*`` name -> key of the core's :func:`~ttrl_kit.summarise` (whose
    #: values are the estimator's own ``Estimate.stats`` averaged over groups).
    NAMES = (
        ("reward_mean", "reward_mean"),
        ("majority_ratio", "majority_ratio"),
        ("answer_entropy", "answer_entropy"),
        ("abstain_ratio", "abstain_ratio"),
        ("zero_variance_groups", "zero_variance_groups"),
        ("low_consensus_groups", "low_consensus"),
        ("label_accuracy", "label_accuracy"),
        ("reward_accuracy", "reward_accuracy"),
    )

    @classmethod
    def merged(cls, parts: Sequence[StepStats]) -> StepStats:
        """Several reward calls as one (e.g. the calls of one optimizer step): their groups
        together, times added (``signal_s`` stays None unless a part measured it)."""
        out = cls()
        for part in parts:
            out.results.extend(part.results)
            out.estimate_s += part.estimate_s
            out.extra_generate_s += part.extra_generate_s
            if part.signal_s is not None:
                out.signal_s = (out.signal_s or 0.0) + part.signal_s
        return out

    def summary(self) -> dict[str, float | None]:
        """The step's numbers, all from :func:`~ttrl_kit.summarise` (the same definitions as
        ``ttrl-kit vote`` and the bench); a stat the estimator does not report is None."""
        rs = self.results
        out: dict[str, float | None] = {"groups": float(len(rs))}
        if not rs:
            return out
        core = summarise(rs)
        for name, key in self.NAMES:
            out[name] = core.get(key)
        for k in (
            "gold_reward_share",
            "label_accuracy_gold_rewarded",
            "label_accuracy_vote_rewarded",
            "aligned_label_changed",
        ):
            if k in core:  # a few gold labels (labelled_column) / the aligned vote
                out[k] = core[k]
        if "avg_at_k" in core:
            out["train_avg_at_n"] = core["avg_at_k"]
        if self.signal_s is not None:
            out["signal_s"] = self.signal_s
            for k in sorted(core):  # the signal estimators' own stats (e.g. self_certainty_mean)
                if k.endswith("_mean") and k not in out and k != "reward_mean":
                    out[k] = core[k]
            if "reward_std" in core:
                out["reward_std"] = core["reward_std"]
        return out


def _prompt_key(prompt: Any) -> str:
    """A prompt as a group key when the dataset has no id column (chat prompts are lists)."""
    import json

    return prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True, default=str)


def _dist() -> tuple[int, int, Any]:
    """(world size, rank, torch.distributed or None); one process when not initialised."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch is a dependency of TRL
        return 1, 0, None
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank(), dist
    return 1, 0, None


def _all_gather(dist: Any, world: int, obj: Any) -> list[Any]:
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


class TTRLReward:
    """A TRL reward function (``reward_funcs=[TTRLReward(...)]``); see the module docstring.

    ``task`` / ``estimator`` (+ options) name a task and an estimator of the plugin registry
    (``ttrl-kit plugins`` lists them).  ``scorer`` instead of names: a ready
    :class:`~ttrl_kit.GroupScorer` (then pickling needs a picklable scorer).
    ``num_generations``: when given, every group must have exactly this many rows.
    ``n_votes`` > ``num_generations`` with ``extra_votes``: more samples vote than TRL trains
    on (the embedded engine's TTRL 64/32 setting); the extra ones are generated by the owner
    rank of each group and never trained on.
    ``stats_sink``: called with the :class:`StepStats` of every call (the embedded engine
    writes them to metrics.jsonl); without one only :attr:`last` keeps them.
    ``labelled_column``: a boolean dataset column; rows where it is true are questions the
    user chose to give their gold answer (``gold_column``): their groups are rewarded by
    correctness against gold, every other group by the estimator alone (gold never reaches
    those rewards).  A batch-aware estimator (:mod:`ttrl_kit.core.batch`) is called once per
    step with every group, on rank 0.
    """

    def __init__(
        self,
        task: str | None = None,
        estimator: str = "majority",
        *,
        task_options: Mapping[str, Any] | None = None,
        estimator_options: Mapping[str, Any] | None = None,
        scorer: GroupScorer | None = None,
        id_column: str | None = "id",
        gold_column: str | None = None,
        num_generations: int | None = None,
        n_votes: int | None = None,
        extra_votes: ExtraVotes | None = None,
        signals: Any = None,
        stats_sink: StatsSink | None = None,
        labelled_column: str | None = None,
        name: str = "ttrl",
    ) -> None:
        if scorer is None and not task:
            raise ConfigError("ttrl_reward: name a task (e.g. 'math') or pass a GroupScorer")
        if n_votes is not None and num_generations is not None and n_votes < num_generations:
            raise ConfigError(f"ttrl_reward: n_votes={n_votes} < num_generations={num_generations}")
        if n_votes is not None and (num_generations is None or n_votes > num_generations) and extra_votes is None:
            raise ConfigError("ttrl_reward: n_votes above num_generations needs an extra_votes generator")
        if labelled_column and not gold_column:
            raise ConfigError("ttrl_reward: labelled_column needs gold_column (the gold answers of the labelled rows)")
        self.task = task
        self.estimator = estimator
        self.labelled_column = labelled_column
        self.task_options = dict(task_options or {})
        self.estimator_options = dict(estimator_options or {})
        self.id_column = id_column
        self.gold_column = gold_column
        self.num_generations = num_generations
        self.n_votes = n_votes if n_votes is not None else num_generations
        self.extra_votes = extra_votes
        self.__name__ = name  # TRL logs reward functions by __name__
        self._scorer = scorer if scorer is not None else self._build_scorer()  # fails now on a bad name
        #: Where per-token signals come from when the estimator needs some: an object with
        #: ``for_completions(completion_ids) -> [{signal: per-token values}]`` and ``extra``
        #: ({prompt id: Signals} of the extra votes), e.g. the embedded engine's SignalCapture.
        self.signals = signals
        needs = getattr(self._scorer, "needs", ())
        if needs and signals is None:
            raise ConfigError(
                f"ttrl_reward: estimator {self.estimator if scorer is None else self._scorer.estimator_name!r} "
                f"needs signal {needs[0]!r}, which a plain GRPOTrainer does not supply; use an answers-only "
                "estimator, or ttrl-kit train (the embedded engine computes signals during generation)"
            )
        self.last = StepStats()
        self.stats_sink = stats_sink

    # ---------------------------------------------------------------- pickling
    def _build_scorer(self) -> GroupScorer:
        return GroupScorer.from_names(
            self.task or "", self.estimator, task_options=self.task_options, estimator_options=self.estimator_options
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.task:  # rebuilt from the registry where it is unpickled
            state["_scorer"] = None
        state["stats_sink"] = None  # a sink belongs to the process that made it
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._scorer is None:
            self._scorer = self._build_scorer()

    @property
    def scorer(self) -> GroupScorer:
        return self._scorer

    # ---------------------------------------------------------------- the call
    def _keys(self, prompts: Sequence[Any], kw: Mapping[str, Any]) -> list[str]:
        if self.id_column and self.id_column in kw:
            return [str(x) for x in kw[self.id_column]]
        return [_prompt_key(p) for p in prompts]

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], completion_ids: Any = None, **kw: Any
    ) -> list[float]:
        keys = self._keys(prompts, kw)
        texts = [completion_text(c) for c in completions]
        golds_col = kw.get(self.gold_column) if self.gold_column else None
        golds = [None if golds_col is None else _gold(golds_col[i]) for i in range(len(texts))]
        flags_col = kw.get(self.labelled_column) if self.labelled_column else None
        flags = [bool(flags_col[i]) if flags_col is not None else False for i in range(len(texts))]
        sig_rows = self._signal_rows(completion_ids, len(texts))
        local = list(zip(keys, texts, golds, prompts, sig_rows, flags))

        world, rank, dist = _dist()
        parts = _all_gather(dist, world, local) if world > 1 else [local]
        rows = [row for part in parts for row in part]
        offset = sum(len(p) for p in parts[:rank])
        groups = group_indices([r[0] for r in rows])
        self._check_sizes(groups)

        if getattr(self._scorer, "batch", False):
            # A batch-aware estimator sees the whole step in one call, on rank 0: one running
            # state (saved with rank 0's checkpoints), no per-rank partial batches.
            owned = list(groups) if rank == 0 else []
        else:
            owned = [gid for j, gid in enumerate(groups) if j % world == rank]
        stats = StepStats()
        extra: Mapping[Hashable, Sequence[str]] = {}
        n_train = len(next(iter(groups.values()))) if groups else 0
        if self.extra_votes is not None and self.n_votes is not None and self.n_votes > n_train and owned:
            t0 = time.perf_counter()
            first_prompt = OrderedDict((gid, rows[groups[gid][0]][3]) for gid in owned)
            extra = self.extra_votes(first_prompt, self.n_votes - n_train)
            stats.extra_generate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        # This rank's groups as one flat batch, scored by the core (one estimator call each).
        rows_mine = [i for gid in owned for i in groups[gid]]
        scored = self._scorer.score_groups(
            [rows[i][0] for i in rows_mine],
            [rows[i][1] for i in rows_mine],
            golds={gid: rows[groups[gid][0]][2] for gid in owned},
            n_train=n_train,
            signals=Signals.from_rows([rows[i][4] for i in rows_mine]) if sig_rows[0] is not None else None,
            extra=extra,
            extra_signals=getattr(self.signals, "extra", None),
            labelled={gid for gid in owned if rows[groups[gid][0]][5]},
        )
        mine: dict[Hashable, GroupResult] = {gid: result for gid, (_, result) in scored.items()}
        stats.estimate_s = time.perf_counter() - t0
        if sig_rows[0] is not None:
            stats.signal_s, self.signals.seconds = getattr(self.signals, "seconds", 0.0), 0.0
        results = dict(mine)
        if world > 1:
            for part in _all_gather(dist, world, mine):
                results.update(part)

        rewards = [0.0] * len(local)
        for gid, idx in groups.items():
            r = results[gid]
            for pos, i in enumerate(idx):
                if offset <= i < offset + len(local):
                    rewards[i - offset] = float(r.rewards[pos])
        stats.results = [results[gid] for gid in groups]
        self.last = stats
        if self.stats_sink is not None:
            self.stats_sink(stats)
        log_metric = kw.get("log_metric")
        if callable(log_metric):
            for k, v in stats.summary().items():
                if isinstance(v, float) and math.isfinite(v):
                    log_metric(f"ttrl/{k}", v)
        return rewards

    def _signal_rows(self, completion_ids: Any, n: int) -> list[Any]:
        """Per completion its signal dict (None each when the estimator needs none)."""
        if self.signals is None or not getattr(self._scorer, "needs", ()):
            return [None] * n
        if completion_ids is None or len(completion_ids) != n:
            raise GroupSplitError("the estimator needs signals but TRL passed no completion_ids to match them")
        return self.signals.for_completions([list(c) for c in completion_ids])

    def _check_sizes(self, groups: OrderedDict[Hashable, list[int]]) -> None:
        want = self.num_generations
        for gid, idx in groups.items():
            if want is None:
                want = len(idx)
            if len(idx) != want:
                hint = (
                    f"add an {self.id_column!r} column with one value per prompt"
                    if self.id_column
                    else "group rows by an id column"
                )
                raise GroupSplitError(
                    f"prompt {str(gid)[:80]!r}: {len(idx)} samples in this step, expected {want} (one whole group); "
                    f"a group was split or two prompts share a key ({hint})"
                )


def _gold(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def ttrl_reward(
    task: str,
    estimator: str = "majority",
    *,
    task_options: Mapping[str, Any] | None = None,
    estimator_options: Mapping[str, Any] | None = None,
    id_column: str | None = "id",
    gold_column: str | None = None,
    num_generations: int | None = None,
    labelled_column: str | None = None,
    name: str = "ttrl",
) -> TTRLReward:
    """A TTRL reward function for ``GRPOTrainer(reward_funcs=[...])``: any task and estimator of
    the registry by name.  ``gold_column`` (optional) names a dataset column of gold answers,
    read only for the logged ``ttrl/label_accuracy`` and ``ttrl/reward_accuracy``, except on
    rows whose ``labelled_column`` (optional, boolean) is true: those groups are rewarded
    against gold (a few labels, when a user has them)."""
    return TTRLReward(
        task,
        estimator,
        task_options=task_options,
        estimator_options=estimator_options,
        id_column=id_column,
        gold_column=gold_column,
        num_generations=num_generations,
        labelled_column=labelled_column,
        name=name,
    )
