"""The decision's records: a candidate, its evaluation, a finding, the decision (all frozen).

Built by keyword everywhere; ``rank`` is the precedence of :mod:`policy.decide.runtime` as a
sort key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Protocol

from policy.decide import costs
from policy.decide.catalog import Catalog, Verdict
from policy.decide.hotplug import Onlining
from policy.kconfig.chain import ChainStep
from policy.units import ndctl_size

MAP_ORDER = ("dev", "mem", None)  # ndctl's default --map is dev
MEMMAP_ORDER = (None, "device")  # system-ram: the kernel's default (DRAM memmap) first
ALIGN_ORDER = (2 * costs.MiB, costs.GiB, 4096)  # ndctl's default --align is 2M

# DRAM is compared in whole 2 MiB vmemmap blocks (one PMD of memmap, the unit
# arch/x86/mm/init_64.c:vmemmap_populate allocates): map=dev's "≈0 or about 2 MiB" for a
# partial first section is an estimate at that granularity, so smaller differences are ties
# and capacity lost decides (e.g. fsdax align=2M over align=1G, which loses ~768 MiB more).
DRAM_TIE_BYTES = 2 * costs.MiB

Outcome = Literal["ok", "finding"]


def dram_blocks(dram: int) -> int:
    """DRAM in whole :data:`DRAM_TIE_BYTES` blocks, rounded up (0 stays 0)."""
    return -(-dram // DRAM_TIE_BYTES)


class Build(Protocol):
    """The part of :class:`policy.kconfig.BuildConfig` the engine uses (read-only, as there)."""

    @property
    def name(self) -> str: ...
    @property
    def arch(self) -> str: ...
    @property
    def page_size(self) -> int: ...

    def eval(self, expr: str) -> str: ...
    def enabled(self, sym: str) -> bool: ...
    def why_expr_off(self, expr: str) -> tuple[ChainStep, ...]: ...


@dataclass(frozen=True)
class Candidate:
    """One runtime choice: mode, map (``None`` where it does not apply) and align in bytes;
    for system-ram, ``memmap="device"`` when dax/kmem puts the memmap of the hot-added memory
    on the memory itself (memmap_on_memory), ``None`` for the DRAM memmap."""

    mode: str
    map: Optional[str]
    align: int
    memmap: Optional[str] = None

    def label(self) -> str:
        """``fsdax map=dev align=2M``: the candidate as ndctl's options spell it
        (``system-ram map=mem align=2M memmap=device`` with memmap_on_memory)."""
        text = self.mode
        if self.map:
            text += f" map={self.map}"
        text += f" align={ndctl_size(self.align)}"
        return text + (f" memmap={self.memmap}" if self.memmap else "")


@dataclass(frozen=True)
class CandidateResult:
    """One candidate evaluated for one device: possible or not, its features and costs."""

    candidate: Candidate
    possible: bool
    why_impossible: str
    chain: tuple[ChainStep, ...]
    layout: Optional[costs.Layout]
    features: tuple[Verdict, ...]
    missing_required: tuple[str, ...]
    missing_wanted: tuple[str, ...]
    over_budget: tuple[str, ...]
    proposal: bool
    lost: str = ""  # why it did not win ("" for the winner)
    refused: Optional[costs.Refusal] = None  # set when ndctl or the kernel refuses the layout
    onlining: Optional[Onlining] = None  # system-ram: who onlines the memory, into which zone

    def feature(self, name: str) -> Verdict:
        return next(v for v in self.features if v.feature == name)

    def rank(self, cat: Catalog) -> tuple[int, ...]:
        lay = self.layout
        assert lay is not None
        return (
            len(self.missing_required) > 0, len(self.missing_required),
            len(self.over_budget) > 0,
            len(self.missing_wanted),
            dram_blocks(lay.dram_memmap),
            lay.capacity_lost,
            cat.mode_order(self.candidate.mode),
            MAP_ORDER.index(self.candidate.map),
            ALIGN_ORDER.index(self.candidate.align) if self.candidate.align in ALIGN_ORDER else 9,
            MEMMAP_ORDER.index(self.candidate.memmap),
        )


def impossible(
    cand: Candidate, why: str, chain: tuple[ChainStep, ...], proposal: bool,
    refused: Optional[costs.Refusal] = None,
) -> CandidateResult:
    """A candidate the build, the device type or the layout rules out."""
    return CandidateResult(
        candidate=cand, possible=False, why_impossible=why, chain=chain, layout=None,
        features=(), missing_required=(), missing_wanted=(), over_budget=(), proposal=proposal,
        lost=why, refused=refused,
    )


@dataclass(frozen=True)
class Finding:
    """A requirement, budget or pin that cannot be met, with the chain to its root cause."""

    # "unmet-requirement" | "over-budget" | "impossible-pin" | "no-candidate" |
    # "conflicting-requirements" (warnings of the decision are plain text: Decision.warnings)
    code: str
    message: str
    feature: Optional[str] = None
    chain: tuple[ChainStep, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The decision for one device under one build."""

    build: str
    device: str
    device_type: str
    size: int
    ok: bool
    outcome: Outcome
    chosen: Optional[CandidateResult]
    reason: str
    candidates: tuple[CandidateResult, ...]
    findings: tuple[Finding, ...]
    warnings: tuple[str, ...] = ()
    # what the decision was memoised by (policy.decide.memo); None for one decided directly
    key: Optional[tuple[Any, ...]] = field(default=None, compare=False, repr=False)
