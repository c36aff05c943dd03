"""Reading kconfiglib's parsed tree for the compiled steps: names, types, prompts, reads.

Shared by :mod:`policy.space.encode` (order, reads, liveness) and
:mod:`policy.space.encode_source` (each step's generated Python), so neither imports the other.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import kconfiglib

from policy.errors import UsageError

REL = {
    kconfiglib.EQUAL: "==",
    kconfiglib.UNEQUAL: "!=",
    kconfiglib.LESS: "<",
    kconfiglib.LESS_EQUAL: "<=",
    kconfiglib.GREATER: ">",
    kconfiglib.GREATER_EQUAL: ">=",
}
TRI = {"n": 0, "m": 1, "y": 2}


class Unsupported(UsageError):
    """The tree uses a construct the compiled evaluator does not model (see docs/explore.md)."""


@dataclass(frozen=True)
class Virtual:
    """A computed slot: the on/off value of a Kconfig expression (e.g. a catalog condition)."""

    name: str
    expr: Any  # a parsed kconfiglib expression


def choice_slot(choice: Any) -> str:
    return f"<choice:{choice.syms[0].name}>"


def slot_of(item: Any) -> str:
    if isinstance(item, Virtual):
        return item.name
    if isinstance(item, kconfiglib.Choice):
        return choice_slot(item)
    return str(item.name)


def is_tristate_like(sym: Any) -> bool:
    return sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE)


def expr_items(expr: Any) -> Iterable[Any]:
    if isinstance(expr, tuple):
        yield from expr_items(expr[1])
        if expr[0] is not kconfiglib.NOT:
            yield from expr_items(expr[2])
    else:
        yield expr


def expr_reads(expr: Any) -> set[str]:
    out = set()
    for item in expr_items(expr):
        if isinstance(item, kconfiglib.Choice):
            out.add(choice_slot(item))
        elif not item.is_constant:
            if item.nodes and not is_tristate_like(item):
                raise Unsupported(
                    f"{item.name} ({kconfiglib.TYPE_TO_STR[item.orig_type]}) is read in "
                    "a bool/tristate expression; the explorer models bool and tristate only"
                )
            if item.nodes:
                out.add(item.name)
    return out


def prompt_conditions(item: Any) -> list[Any]:
    return [node.prompt[1] for node in item.nodes if node.prompt]
