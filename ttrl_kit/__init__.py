"""ttrl-kit: label-free rewards for Test-Time Reinforcement Learning (TTRL).

Public API, all a plugin or an engine needs::

    from ttrl_kit import hookimpl, Task, KeyedTask, AnswerClasses, Estimate, GroupScorer, Signals
    from ttrl_kit import setting, build, FieldError   # typed options from a mapping (core/schema.py)

and what reports need: ``plurality`` / ``tally_vote`` (the one vote, ties to the answer seen
first), ``summarise`` / ``group_gold`` (avg@k, maj@k, pass@k, label and reward accuracy).
"""

from ttrl_kit.core.chat import split_images
from ttrl_kit.core.errors import ConfigError, InputError, TTRLError, UnknownNameError
from ttrl_kit.core.estimators import Estimator, VoteOptions
from ttrl_kit.core.hookspecs import hookimpl
from ttrl_kit.core.plugins import PluginRegistry, get_registry
from ttrl_kit.core.records import SIGNAL_NAMES, AnswerClasses, Estimate, GroupResult, PluginFailure, PluginInfo, Signals
from ttrl_kit.core.schema import FieldError, build, setting
from ttrl_kit.core.scoring import GroupGold, GroupScorer, group_gold, group_indices, summarise
from ttrl_kit.core.task import KeyedTask, Task, grade, group_by_key
from ttrl_kit.core.vote import Tally, plurality, tally_vote

__version__ = "0.1.0"

__all__ = [
    "SIGNAL_NAMES",
    "AnswerClasses",
    "ConfigError",
    "Estimate",
    "Estimator",
    "FieldError",
    "GroupGold",
    "GroupResult",
    "GroupScorer",
    "InputError",
    "KeyedTask",
    "PluginFailure",
    "PluginInfo",
    "PluginRegistry",
    "Signals",
    "TTRLError",
    "Tally",
    "Task",
    "UnknownNameError",
    "VoteOptions",
    "build",
    "get_registry",
    "grade",
    "group_by_key",
    "group_gold",
    "group_indices",
    "hookimpl",
    "plurality",
    "setting",
    "split_images",
    "summarise",
    "tally_vote",
]
