"""Errors the operator can act on: each carries the sentence to show them."""

from __future__ import annotations


class RacError(Exception):
    """Base of every error that reaches a user as a sentence, never a traceback."""

    exit_code = 1

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


class UsageError(RacError):
    """The command line or an argument was wrong."""

    exit_code = 2


class ConfigError(RacError):
    """An inventory or relay config file is malformed; names file, line and field."""

    exit_code = 2


class SeedError(UsageError):
    """A seed string broke one of the seed rules."""


class UnknownApplianceError(UsageError):
    """No appliance of that name in the inventory."""


class PortNotAllowedError(UsageError):
    """The port is not one of the configured relay ports."""


class NotEnabledError(UsageError):
    """The action needs remote access to be enabled first."""
