"""How text reports look on their stream: the width to fit and the colours (a setting).

The command line decides both (a terminal's width and colours only on a terminal, never with
``NO_COLOR``) and passes a :class:`TextStyle` down; reporters only call :meth:`TextStyle.paint`
and :func:`fit_lines`, so they never look at the environment.
"""
from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Optional

# what a piece of text means; the CLI maps each role to a colour (ok green, finding yellow,
# impossible red, proposal cyan)
Role = Literal["ok", "finding", "impossible", "proposal", "heading"]
Painter = Callable[[str, Role], str]

WIDTH = 80


@dataclass(frozen=True)
class TextStyle:
    """``width``: the columns to fit; ``painter``: colours text by its role (None: plain)."""

    width: int = WIDTH
    painter: Optional[Painter] = None

    def paint(self, text: str, role: Role) -> str:
        """``text`` coloured for ``role`` (unchanged without a painter or for blank text)."""
        if self.painter is None or not text.strip():
            return text
        return self.painter(text, role)


PLAIN = TextStyle()


def fit_lines(text: str, width: int = WIDTH) -> str:
    """Every line of ``text`` wrapped to ``width`` columns, continuations indented under it.

    A line keeps its indentation; its continuation lines are indented two more columns (four
    for list items starting with ``- `` or ``→ ``), so a wrapped chain still reads as one
    step. Words longer than a line are broken, never dropped.
    """
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        body = line.lstrip(" ")
        indent = " " * (len(line) - len(body))
        more = 4 if body.startswith(("- ", "→ ", "* ")) else 2
        sub = indent + " " * more
        if len(sub) > width // 2:
            sub = " " * (width // 2)
        wrapper = textwrap.TextWrapper(width=width, initial_indent=indent, subsequent_indent=sub,
                                       break_on_hyphens=False, break_long_words=True)
        out.extend(wrapper.wrap(body) or [line[:width]])
    return "\n".join(out)
