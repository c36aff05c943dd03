"""The decision memos (:mod:`policy.decide.cache`) give what computing afresh gives: a memo key
that leaves out something a result reads would hand one build's result to another."""
from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from policy import resources
from policy.decide import runtime
from policy.decide.cache import cache_for
from policy.decide.catalog import catalog
from policy.kconfig import versions
from policy.profiles import profile as profiles


@dataclasses.dataclass(frozen=True)
class _Build:
    """Every expression "y" but those in ``off``."""

    kernel: str
    page_size: int
    off: frozenset[str]
    name: str = "b"
    arch: str = "x86_64"

    def eval(self, expr: str) -> str:
        return "n" if expr in self.off else "y"

    def enabled(self, sym: str) -> bool:
        return sym not in self.off

    def why_expr_off(self, expr: str) -> tuple[Any, ...]:
        return ()


def _builds() -> list[_Build]:
    """Builds differing in what the layouts and verdicts read of a build: the kernel, the page
    size, ZONE_DEVICE (the pagemap), the compat align and the memmap dedup gate."""
    out = []
    for kernel, page in (("6.1", 4096), ("6.12", 4096), ("6.12", 16384)):
        gate = versions.get(kernel).dedup_gate
        syms = ("ZONE_DEVICE", "ARCH_HAS_MEMREMAP_COMPAT_ALIGN", gate)
        for bits in itertools.product((False, True), repeat=len(syms)):
            off = frozenset(s for s, on in zip(syms, bits) if not on)
            out.append(_Build(kernel, page, off))
    return out


def _devices() -> list[Any]:
    """The shipped profiles' devices at a known start (without one, a layout is laid out over
    every start, dozens of times: too slow here) and one without."""
    devices = list(profiles.load_profiles([resources.profiles_dir()]).devices)
    assert all(d.start is None for d in devices)
    return [dataclasses.replace(d, start=d.start_align or 0) for d in devices] + devices[-1:]


def test_candidates_from_memos_shared_by_builds_are_those_of_each_build_alone() -> None:
    cat = catalog()
    cache = cache_for(cat)
    builds, devices = _builds(), _devices()
    cache.clear()
    shared = {b: [runtime.candidates_for(d, b, cat, ranged)
                  for d in devices for ranged in (True, False)] for b in builds}
    for b in builds:
        cache.clear()  # only this build's results in the memos
        alone = [runtime.candidates_for(d, b, cat, ranged)
                 for d in devices for ranged in (True, False)]
        assert shared[b] == alone, b
    cache.clear()
    assert len(builds) == 24 and len({tuple(map(tuple, r)) for r in shared.values()}) > 12


def test_a_device_with_and_without_a_known_start_share_memos_rightly() -> None:
    """Laid out at the same start, a device whose start is known and one whose start is only
    assumed share the layouts at that start; only the latter's are also laid out over every
    start (the range a report shows)."""
    cat = catalog()
    cache = cache_for(cat)
    unknown = _devices()[-1]
    known = dataclasses.replace(unknown, start=unknown.start_align or 0)
    calls = [(d, b, ranged) for b in _builds()[::5] for d in (known, unknown)
             for ranged in (False, True)]
    cache.clear()
    shared = [runtime.candidates_for(d, b, cat, ranged) for d, b, ranged in calls]
    ranges = 0
    for (d, b, ranged), got in zip(calls, shared):
        cache.clear()
        assert got == runtime.candidates_for(d, b, cat, ranged), (d.start, b, ranged)
        ranged_here = any(getattr(r.layout, "start_range", None) for r in got)
        assert not ranged_here or (d is unknown and ranged)
        ranges += ranged_here
    cache.clear()
    assert ranges


def test_candidates_without_features_are_those_with_them_but_the_verdicts() -> None:
    """``candidates_for(features=False)`` (the symbolic evaluation's) lists the same candidates,
    possible or not, with the same layouts, budgets and rank after the feature counts."""
    cat = catalog()
    devices = _devices()
    devices += [dataclasses.replace(d, budget_dram=1 << 20) for d in devices[:3]]
    checked = missing = 0
    for b in _builds()[::3]:
        for d in devices:
            full = runtime.candidates_for(d, b, cat)
            bare = runtime.candidates_for(d, b, cat, features=False)
            assert len(full) == len(bare)
            for f, r in zip(full, bare):
                assert r == dataclasses.replace(f, features=(), missing_required=(),
                                                missing_wanted=())
                if f.possible:
                    assert r.rank(cat)[2] == f.rank(cat)[2]
                    assert r.rank(cat)[4:] == f.rank(cat)[4:]
                    checked += 1
                    missing += bool(f.missing_wanted or f.missing_required)
    assert checked > 100 and missing
