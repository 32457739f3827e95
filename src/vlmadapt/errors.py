"""Errors a user can act on.

Every error raised for bad user input is a `VlmadaptError` whose message names the file, line, field or
path and says what to do. The CLI prints the message without a traceback and exits non-zero.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class VlmadaptError(Exception):
    """Bad input or configuration: the message is meant for the user, not a developer."""


class RecordError(VlmadaptError):
    """A JSONL line that does not parse or validate; `where` is `file:line`."""

    def __init__(self, where: str, field: str, problem: str) -> None:
        self.where, self.field, self.problem = where, field, problem
        super().__init__(f"{where}: {field}: {problem}")


class ConfigError(VlmadaptError):
    """A recipe or option that is invalid; names the key."""


class UnknownNameError(VlmadaptError):
    """A registry lookup that failed; lists the known names."""

    def __init__(self, kind: str, name: str, known: list[str] | tuple[str, ...]) -> None:
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(sorted(known))}")


def lookup(registry: dict[str, T], name: str, kind: str) -> T:
    """`registry[name]`, or an error that lists the known names."""
    try:
        return registry[name]
    except KeyError:
        raise UnknownNameError(kind, name, list(registry)) from None
