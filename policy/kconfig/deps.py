"""``set --with-deps``: every change a set of assignments needs before it takes.

Each assignment that does not take has a chain (:class:`policy.kconfig.chain.ChainStep`) down to
its root cause. The changes are found as ``explain`` finds its smallest Kconfig change: follow
the chain root cause first, apply the first fix that takes and moves the chain (a dependency
turned on, a symbol that rules it out turned off or its choice given another entry), and repeat
on the new chain until every assignment takes, for all of them at once.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policy.errors import PolicyError
from policy.kconfig.chain import ChainStep
from policy.kconfig.tree import BuildConfig, SetResult, choice_alternatives, set_values

MAX_CHANGES = 16


@dataclass(frozen=True)
class Dependencies:
    """The changes ``assignments`` need (``needed``, in the order found) and the result of
    applying them first and the assignments after; ``result.failures`` is empty when they
    suffice."""

    needed: tuple[tuple[str, str], ...]
    result: SetResult

    @property
    def ok(self) -> bool:
        return not self.result.failures


def chain_fixes(chain: Sequence[ChainStep], wanted: str = "y") -> list[tuple[str, str]]:
    """The assignments a chain suggests, root cause first: a dependency turned on (``wanted``,
    then y), a symbol that rules it out turned off, a choice given another entry."""
    fixes: list[tuple[str, str]] = []
    for step in reversed(chain):
        if step.kind in ("undefined", "loop", "forced-on", "unselected"):
            continue
        if step.kind == "rules-out":
            others = choice_alternatives(step.symbol)
            fixes.extend((o, "y") for o in others) if others else fixes.append((step.symbol, "n"))
            continue
        for value in dict.fromkeys((wanted if wanted in ("y", "m") else "y", "y")):
            fixes.append((step.symbol, value))
    return list(dict.fromkeys(fixes))


def _signature(res: SetResult) -> tuple[tuple[str, tuple[ChainStep, ...]], ...]:
    return tuple((name, chain) for name, _, _, chain in res.failures)


def dependencies(build: BuildConfig, assignments: Sequence[tuple[str, str]]) -> Dependencies:
    """What ``assignments`` need to take on ``build`` (see the module docstring)."""
    targets = {name for name, _ in assignments}
    needed: list[tuple[str, str]] = []
    res = set_values(build, list(assignments))
    for _ in range(MAX_CHANGES):
        if not res.failures:
            break
        progressed = False
        for _name, wanted, _got, chain in res.failures:
            for fix in chain_fixes(chain, wanted):
                if fix[0] in targets or any(fix[0] == n for n, _ in needed):
                    continue
                try:
                    trial = set_values(build, needed + [fix] + list(assignments))
                except PolicyError:
                    continue
                took = trial.build.value(fix[0]) == fix[1]
                if took and _signature(trial) != _signature(res):
                    needed.append(fix)
                    res, progressed = trial, True
                    break
            if progressed:
                break
        if not progressed:
            break
    return Dependencies(tuple(needed), res)
