"""Errors that the CLI turns into one line on stderr (no traceback)."""

from __future__ import annotations


class TTRLError(Exception):
    """Base of every error meant for a user: its message is complete on one line."""


class ConfigError(TTRLError):
    """A bad option, config file or command-line value."""


class InputError(TTRLError):
    """A bad input record; the message names ``file:line`` and the field."""


class UnknownNameError(ConfigError):
    """An unknown task/estimator/dataset name; the message lists the ones that exist."""


class PluginError(TTRLError):
    """A plugin did something no plugin may do (e.g. raised ``SystemExit`` from a task
    method); the message names the plugin and what it raised."""
