"""What a solution must meet (requirements), what conflicts, and the solve result record.

Shared by the enumeration (:mod:`policy.space.solve`) and the BDDs (:mod:`policy.space.solve_bdd`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Optional

from policy.decide.runtime import Decision, decide
from policy.space.enumerate import Configuration


@dataclass(frozen=True)
class Requirement:
    """One thing a solution must meet: a required feature, a budget or a pin of one device."""

    device: str
    kind: Literal["device", "require", "budget-dram", "budget-capacity", "pin"]
    feature: Optional[str] = None

    def label(self) -> str:
        if self.kind == "require":
            return f"{self.device} requires {self.feature}"
        if self.kind == "pin":
            return f"{self.device} pin"
        if self.kind == "device":
            return f"{self.device} needs some run-time mode"
        return f"{self.device} {self.kind.replace('-', ' ')}"


@dataclass(frozen=True)
class Conflict:
    requirement: Requirement
    reasons: tuple[str, ...]  # the findings (and their chains) under the closest configuration


@dataclass(frozen=True)
class SolveResult:
    ok: bool
    minimize: str
    config: Optional[Configuration]
    build: Any  # policy.kconfig.BuildConfig of the solution (full olddefconfig of the witness)
    decisions: tuple[Decision, ...]
    conflicts: tuple[Conflict, ...]
    candidates: int  # configurations that satisfy everything
    count: int  # configurations considered


def requirements(devices: Sequence[Any], extra: Sequence[str]) -> tuple[Requirement, ...]:
    out: list[Requirement] = []
    for d in sorted(devices, key=lambda d: str(d.name)):
        name = str(d.name)
        out.append(Requirement(name, "device"))
        for f in dict.fromkeys(tuple(d.requires) + tuple(extra)):
            out.append(Requirement(name, "require", f))
        if d.budget_dram is not None:
            out.append(Requirement(name, "budget-dram"))
        if d.budget_capacity is not None:
            out.append(Requirement(name, "budget-capacity"))
        if d.pin is not None:
            out.append(Requirement(name, "pin"))
    return tuple(out)


def restrict(devices: Sequence[Any], reqs: Sequence[Requirement]) -> list[Any]:
    """The devices with only ``reqs`` kept (requires, budgets and pins outside it dropped; a device
    without its "device" requirement is left out altogether)."""
    out = []
    for d in devices:
        mine = [r for r in reqs if r.device == str(d.name)]
        if not any(r.kind == "device" for r in mine):
            continue
        out.append(
            dataclasses.replace(
                d,
                requires=tuple(r.feature for r in mine if r.kind == "require" and r.feature),
                budget_dram=d.budget_dram if any(r.kind == "budget-dram" for r in mine) else None,
                budget_capacity=d.budget_capacity
                if any(r.kind == "budget-capacity" for r in mine)
                else None,
                pin=d.pin if any(r.kind == "pin" for r in mine) else None,
            )
        )
    return out


def _implied(r: Requirement, among: Sequence[Requirement]) -> bool:
    # "gets some mode" goes with every other requirement of the same device
    return r.kind == "device" and any(x.device == r.device and x.kind != "device" for x in among)


def minimal_conflicts(
    reqs: Sequence[Requirement],
    devices: Sequence[Any],
    satisfiable: Callable[[Sequence[Requirement]], bool],
    nearest: Callable[[Sequence[Requirement]], Optional[Configuration]],
    cat: Any,
) -> tuple[Conflict, ...]:
    """A minimal set of conflicting requirements of the unsatisfiable ``reqs``: each is dropped in
    turn and stays dropped while the rest is still unsatisfiable (device-level items last: kept
    while the device has other requirements in the set). Each comes with the reasons it fails
    under ``nearest`` (the best configuration meeting the others), decided on its real build."""
    from policy.kconfig import tree as kconfig

    core = list(reqs)
    for r in [x for x in reqs if x.kind != "device"] + [x for x in reqs if x.kind == "device"]:
        if _implied(r, core):
            continue
        trial = [x for x in core if x != r]
        if not satisfiable(trial):
            core = trial
    conflicts = []
    for r in core:
        if _implied(r, core):
            continue
        near = nearest([x for x in core if x != r])
        reasons: tuple[str, ...] = ()
        if near is not None:
            build = kconfig.load_text(near.config_text(), "<solve>", f"config-{near.id}")
            dev = next(
                d
                for d in restrict(devices, core + [Requirement(r.device, "device")])
                if str(d.name) == r.device
            )
            reasons = _reasons(decide(dev, build, cat), r)
        conflicts.append(Conflict(r, reasons))
    return tuple(conflicts)


def _reasons(dec: Decision, r: Requirement) -> tuple[str, ...]:
    out: list[str] = []
    for f in dec.findings:
        if r.kind == "require" and f.feature != r.feature:
            continue
        if r.kind == "device" and f.code not in ("no-candidate", "impossible-pin"):
            continue
        if r.kind == "pin" and f.code != "impossible-pin":
            continue
        if r.kind.startswith("budget") and f.code != "over-budget":
            continue
        out.append(f"[{f.code}] {f.message}")
        for step in f.chain:
            text = step.render() if hasattr(step, "render") else str(step)
            if text not in f.message:  # the message may already end with the chain
                out.append(f"  → {text}")
    if not out:
        out.append(dec.reason)
    return tuple(out)
