"""The error family, located diagnostics and the exit codes of every command."""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Optional

Severity = Literal["error", "warning", "note"]


class ExitCode(enum.IntEnum):
    """Exit codes shared by all commands (documented in the README)."""

    OK = 0
    FINDINGS = 1  # invalid profile, unmet requirement or budget, a value that did not take
    USAGE = 2  # bad options, unreadable or malformed input
    INTERNAL = 3  # a bug in pmempolicy


@dataclass(frozen=True)
class Diagnostic:
    """One located problem.

    ``line`` and ``col`` are 1-based; ``json_path`` is a JSON-pointer-like path ("$.spec.device")
    where the problem sits inside a structured document.
    """

    severity: Severity
    code: str
    message: str
    path: str = "<input>"
    line: Optional[int] = None
    col: Optional[int] = None
    json_path: Optional[str] = None

    def location(self) -> str:
        """``path:line:col`` with the parts that are known."""
        loc = self.path
        if self.line is not None:
            loc += f":{self.line}"
            if self.col is not None:
                loc += f":{self.col}"
        return loc

    def render(self) -> str:
        """The one-line form ``path:line:col: error: message [code]``."""
        where = f" (at {self.json_path})" if self.json_path and self.json_path != "$" else ""
        return f"{self.location()}: {self.severity}: {self.message}{where} [{self.code}]"


class PolicyError(Exception):
    """An expected failure: rendered as one line by the CLI boundary, never a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, diagnostic: Optional[Diagnostic] = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostic = diagnostic

    def render(self) -> str:
        """The message the user sees."""
        if self.diagnostic is not None:
            return self.diagnostic.render()
        return f"error: {self.message}"


class UsageError(PolicyError):
    """Bad command-line usage or an unknown name."""

    exit_code = ExitCode.USAGE


class UndefinedSymbolError(UsageError):
    """A Kconfig expression names a symbol the tree does not define."""


class InputError(PolicyError):
    """An input file is missing, unreadable or malformed."""

    exit_code = ExitCode.USAGE


class LocatedInputError(InputError):
    """An input file with one or more located problems; every one of them is rendered."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        first = diagnostics[0]
        super().__init__(first.message, first)
        self.diagnostics = tuple(diagnostics)

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class FindingsError(PolicyError):
    """The command ran, and what it checked does not hold."""

    exit_code = ExitCode.FINDINGS


def located(
    message: str,
    code: str,
    path: str,
    line: Optional[int] = None,
    col: Optional[int] = None,
    *,
    exc: type[PolicyError] = InputError,
) -> PolicyError:
    """Build an error carrying a located :class:`Diagnostic`."""
    return exc(message, Diagnostic("error", code, message, path, line, col))


MAX_SHOWN = 200  # characters of a bad input value echoed in a message


def clip(value: object, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` for a message, cut to about ``limit`` characters with a visible ellipsis
    (a 5 MB bad value must not become a 5 MB error line)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text) if isinstance(value, str) else text
