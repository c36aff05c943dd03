"""Dependency chains: why a Kconfig symbol or expression is off, step by step to the root cause."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

StepKind = Literal[
    "needs",  # the symbol's dependencies are unmet: see the next step
    "rules-out",  # the symbol is on, and that is what turns the previous step off
    "user-off",  # visible, and the configuration sets it to n (root cause)
    "unselected",  # promptless, and nothing selects it / its default is off (root cause)
    "choice",  # another entry of its choice is selected (root cause)
    "at-most-m",  # dependencies allow only m
    "forced-on",  # cannot be n (selected, or promptless)
    "undefined",  # not in the tree
    "loop",  # dependency loop guard
]


@dataclass(frozen=True)
class ChainStep:
    """One link of a "why is this off" chain, located at the symbol's Kconfig definition."""

    symbol: str
    value: str
    needs: str  # the unmet expression, "" at the root cause
    file: str
    line: int
    note: str = ""
    kind: StepKind = "needs"

    def render(self) -> str:
        """``ZONE_DEVICE=n (kconfig/mm.Kconfig:259) needs MEMORY_HOTREMOVE``."""
        text = f"{self.symbol}={self.value} ({self.file}:{self.line})"
        if self.needs:
            text += f" needs {self.needs}"
        if self.note:
            text += f": {self.note}"
        return text


def render_chain(chain: Sequence[ChainStep], sep: str = " → ") -> str:
    """A chain on one line."""
    return sep.join(step.render() for step in chain)
