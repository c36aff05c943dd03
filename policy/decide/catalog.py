"""The feature catalog: names, build conditions, run-time conditions, reasons and kernel sources.

All rules live in ``policy/data/features.yaml`` (validated by ``features.schema.json``): the modes
and their build requirements, the aligns, the device types and the features. This module loads
them into frozen records and answers "does this candidate give this feature" as data lookups.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import yaml

from policy.decide.cache import DecisionCache, build_holds, cache_for
from policy.decide.rules import (
    BASE_PAGE,
    SUBSECTION,
    AlignRule,
    Catalog,
    DeviceTypeRule,
    Evaluates,
    Feature,
    HotplugRules,
    ModeRule,
    OnlineRule,
    RuntimeCond,
    scaled_align,
    span,
)
from policy.kconfig import versions
from policy.resources import data_file
from policy.units import format_size

__all__ = [
    "AlignRule", "Catalog", "DeviceTypeRule", "Evaluates", "Feature", "HotplugRules",
    "ModeRule", "OnlineRule", "RuntimeCond", "Verdict", "build_holds", "catalog", "catalog_for",
    "candidate_verdicts", "enabling_condition", "feature_names", "feature_verdict", "scaled_align",
    "verdict_page",
]

@functools.lru_cache(maxsize=1)
def _raw_catalog() -> dict[str, Any]:
    # Package data, not user input: tests/test_features.py checks it against
    # features.schema.json with jsonschema, whose import alone would cost every run ~50 ms.
    with open(data_file("features.yaml"), encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=yaml.CSafeLoader)
    assert isinstance(doc, dict)
    return doc


def _cond(raw: dict[str, Any]) -> RuntimeCond:
    maps = raw.get("maps")
    dts = raw.get("device_types")
    return RuntimeCond(
        modes=tuple(raw["modes"]),
        maps=tuple(maps) if maps else None,
        min_align=int(raw.get("min_align", 0)),
        aligns=tuple(int(a) for a in raw["aligns"]) if raw.get("aligns") else None,
        device_types=tuple(dts) if dts else None,
        pagemap=bool(raw.get("pagemap", False)),
        sync_only=bool(raw.get("sync_only", False)),
        build=str(raw.get("build", "y")),
        pmd_aligned_data=bool(raw.get("pmd_aligned_data", False)),
        since=raw.get("since"), until=raw.get("until"), note=str(raw.get("note", "")),
        source=str(raw.get("source", "")),
    )


@functools.lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The validated catalog (cached; the file is package data)."""
    doc = _raw_catalog()
    modes = tuple(
        ModeRule(
            name=m["name"], build=m["build"], layout=m["layout"], maps=tuple(m.get("maps", ())),
            aligns=bool(m.get("aligns")), proposal=bool(m.get("proposal")), reason=m["reason"],
            source=m["source"],
        )
        for m in doc["modes"]
    )
    aligns = tuple(
        AlignRule(bytes=a["bytes"], build=a["build"], reason=a["reason"], source=a["source"],
                  since=a.get("since"), until=a.get("until"))
        for a in doc["aligns"]
    )
    dts = tuple(
        DeviceTypeRule(
            name=d["name"], build=d["build"], modes=tuple(d["modes"]),
            mode_build=tuple(sorted(d.get("mode_build", {}).items())),
            pagemap=bool(d.get("pagemap")), async_=bool(d.get("async")),
            whole_device=bool(d.get("whole_device")), reason=d["reason"], source=d["source"],
            region_align=int((d.get("region_align") or {}).get("bytes", 0)),
            region_align_source=str((d.get("region_align") or {}).get("source", "")),
            since=d.get("since"), until=d.get("until"), fixed_align=int(d.get("align", 0)),
            kmem_memmap_on_memory=bool((d.get("kmem_memmap_on_memory") or {}).get("requested")),
            kmem_memmap_on_memory_source=str(
                (d.get("kmem_memmap_on_memory") or {}).get("source", "")),
        )
        for d in doc["device_types"]
    )
    features = tuple(
        Feature(name=f["name"], summary=f["summary"], build=f["build"],
                runtime=tuple(_cond(c) for c in f["runtime"]), proposal=bool(f.get("proposal")),
                reason=f["reason"], source=f["source"])
        for f in doc["features"]
    )
    hp = doc.get("hotplug") or {}
    mom = hp.get("memmap_on_memory") or {}
    hotplug = HotplugRules(
        mom_since=mom.get("since"), mom_until=mom.get("until"), mom_build=mom.get("build", "n"),
        mom_reason=mom.get("reason", ""), mom_source=mom.get("source", ""),
        online=tuple(OnlineRule(online_type=o["online_type"], movable_node=o.get("movable_node"),
                                zone=o["zone"], by=o["by"], reason=o["reason"],
                                source=o["source"]) for o in hp.get("online", ())),
    )
    return Catalog(modes=modes, aligns=aligns, device_types=dts, features=features,
                   hotplug=hotplug)


@functools.lru_cache(maxsize=4)
def catalog_for(kernel: str = versions.DEFAULT) -> Catalog:
    """:func:`catalog` as the tree of ``kernel`` sees it (:meth:`Catalog.for_kernel`): what
    code that compiles the catalog over one kernel's tree (policy.space) reads."""
    return catalog().for_kernel(kernel)


def feature_names() -> frozenset[str]:
    """Every feature name the catalog defines (profiles may require or want only these)."""
    return frozenset(str(f["name"]) for f in _raw_catalog()["features"])


@dataclass(frozen=True)
class Verdict:
    """Whether one feature is on for one candidate, and why."""

    feature: str
    enabled: bool
    why: str
    source: str
    blocker: Optional[str] = None  # the unmet Kconfig expression, when the build is the reason


@dataclass(frozen=True)
class _Memo:
    final: Optional[Verdict]  # decided without the build (mode, map, region, align)
    builds: tuple[str, ...]  # the matching conditions' build expressions, in catalog order
    lacks_feature: Optional[Verdict]
    lacks_cond: Optional[Verdict]
    gives: Optional[Verdict]
    feature_build: str = "y"  # the feature's own build expression

    def verdict(self, holds: Callable[[str], bool]) -> Verdict:
        """The verdict under a build, told by ``holds`` which build expressions hold there."""
        if self.final is not None:
            return self.final
        if not holds(self.feature_build):
            assert self.lacks_feature is not None
            return self.lacks_feature
        if not any(holds(e) for e in self.builds):
            assert self.lacks_cond is not None
            return self.lacks_cond
        assert self.gives is not None
        return self.gives


def feature_verdict(
    feature: Feature,
    build: Evaluates,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    cache: DecisionCache | None = None,
    kernel: str = versions.DEFAULT,
    page: int = BASE_PAGE,
) -> Verdict:
    """Does ``mode``/``map_``/``align`` on ``device_type`` give ``feature`` under ``build``?

    ``pagemap`` is the effective ND_REGION_PAGEMAP (the region has it and ZONE_DEVICE is built).
    ``kernel`` selects the run-time conditions that hold in that version (``since``/``until``);
    ``page`` scales their aligns like the ``--align`` choices (16 KiB pages: PMD = 32 MiB).
    Everything but the build is memoised (verdicts and their messages are built once per feature,
    device type, mode, map, align, pagemap, kernel and page size); the build is read as before.
    """
    memo = _memoised(feature, device_type, mode, map_, align, pagemap, cache, kernel, page)
    return memo.verdict(functools.partial(build_holds, build))


def candidate_verdicts(
    cat: Catalog,
    build: Evaluates,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    cache: DecisionCache,
    kernel: str = versions.DEFAULT,
    page: int = BASE_PAGE,
) -> tuple[Verdict, ...]:
    """:func:`feature_verdict` of every feature of ``cat`` (in catalog order) for one candidate,
    with the features' memos looked up once per candidate (``cache`` is ``cat``'s)."""
    page = verdict_page(kernel, page)
    key = (device_type.name, mode, map_, align, pagemap, kernel, page)
    memos = cache.candidate_memos.get(key)
    if memos is None:
        table = cache.feature_memos
        memos = cache.candidate_memos[key] = tuple(
            _memoised_in(table, f, device_type, mode, map_, align, pagemap, kernel, page)
            for f in cat.features
        )
    holds = functools.partial(build_holds, build)
    return tuple(m.verdict(holds) for m in memos)


def enabling_condition(
    feature: Feature,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    cache: DecisionCache | None = None,
    kernel: str = versions.DEFAULT,
    page: int = BASE_PAGE,
) -> Optional[tuple[str, tuple[str, ...]]]:
    """When :func:`feature_verdict` enables ``feature`` for this candidate, as build expressions:
    None when it never does (the verdict is decided without the build), else ``(feature_build,
    conditions)``: enabled exactly when ``feature_build`` holds and one of ``conditions`` does.
    The same memo as ``feature_verdict``, so the two cannot drift apart (tested)."""
    memo = _memoised(feature, device_type, mode, map_, align, pagemap, cache, kernel, page)
    if memo.final is not None:
        return ("y", ("y",)) if memo.final.enabled else None
    return feature.build, memo.builds


def verdict_page(kernel: str, page: int) -> int:
    """The page size a verdict depends on: it only scales the aligns, and only in kernels whose
    aligns are page-relative (else every page size gives the 4 KiB verdict: one memo for all)."""
    return page if versions.get(kernel).page_relative_aligns else BASE_PAGE


def _memoised(
    feature: Feature,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    cache: DecisionCache | None,
    kernel: str = versions.DEFAULT,
    page: int = BASE_PAGE,
) -> _Memo:
    """:func:`_memo`, computed once per feature, device type, mode, map, align, pagemap, kernel
    and page size.

    Keyed by the records' values, so a cache never mixes up two catalogs' rules."""
    memos = (cache or cache_for(catalog())).feature_memos
    return _memoised_in(memos, feature, device_type, mode, map_, align, pagemap, kernel,
                        verdict_page(kernel, page))


def _memoised_in(
    memos: dict[tuple[Any, ...], Any],
    feature: Feature,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    kernel: str,
    page: int,
) -> _Memo:
    """:func:`_memoised` in the table ``memos``, for a ``page`` that already is the
    :func:`verdict_page` (a candidate's features look it up once for all of them)."""
    key = (feature, device_type, mode, map_, align, pagemap, kernel, page)
    got = memos.get(key)
    if got is None:
        got = memos[key] = _memo(feature, device_type, mode, map_, align, pagemap, kernel, page)
    assert isinstance(got, _Memo)
    return got


def _memo(
    feature: Feature,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    kernel: str = versions.DEFAULT,
    page: int = BASE_PAGE,
) -> _Memo:
    """The build-independent part of :func:`feature_verdict`."""
    rel = versions.get(kernel).page_relative_aligns

    def sc(nominal: int) -> int:
        return scaled_align(nominal, page, rel)

    matched: list[RuntimeCond] = []
    outside: list[RuntimeCond] = []  # would match, but not in this kernel version
    for cond in feature.runtime:
        if mode not in cond.modes:
            continue
        if cond.maps and map_ not in cond.maps:
            continue
        if cond.device_types and device_type.name not in cond.device_types:
            continue
        if cond.pagemap and not pagemap:
            continue
        (matched if cond.holds_in(kernel) else outside).append(cond)
    if not matched and outside:
        c = outside[0]
        return _final(Verdict(
            feature.name, False,
            f"{mode} gives it only on {span(c.since, c.until)}, not on Linux {kernel}: "
            f"{c.note or feature.reason}", c.source or feature.source,
        ))
    if not matched:
        return _not_given(feature, mode)
    sync_ok = [c for c in matched if not (c.sync_only and device_type.async_)]
    if not sync_ok:
        return _final(
            Verdict(
                feature.name,
                False,
                f"{device_type.name} is an asynchronous region (ND_REGION_ASYNC): "
                f"{feature.reason}",
                feature.source,
            )
        )
    pmd = sc(2 << 20)
    align_ok = [c for c in sync_ok if align >= sc(c.min_align)
                and (not c.aligns or align in {sc(a) for a in c.aligns})
                and (not c.pmd_aligned_data or max(align, SUBSECTION) % pmd == 0)]
    if not align_ok:
        exact = sorted({sc(a) for c in sync_ok for a in (c.aligns or ())})
        below = [sc(c.min_align) for c in sync_ok if c.min_align and align < sc(c.min_align)]
        if not exact and not below:
            why = (f"align {format_size(align)}: the data starts {format_size(SUBSECTION)} "
                   f"aligned, not on a {format_size(pmd)} PMD; align {format_size(pmd)} gives "
                   f"PMD-aligned data: {feature.reason}")
            return _final(Verdict(feature.name, False, why, feature.source))
        if exact and not below:
            need_text = "only with align " + "|".join(format_size(a) for a in exact)
            why = f"align {format_size(align)}: {need_text}: {feature.reason}"
        else:
            need = min(sc(c.min_align) for c in sync_ok)
            why = f"align {format_size(align)} is below {format_size(need)}: {feature.reason}"
        return _final(Verdict(feature.name, False, why, feature.source))
    expr = align_ok[0].build
    return _Memo(
        None,
        tuple(c.build for c in align_ok),
        Verdict(
            feature.name, False, f"build lacks {feature.build}", feature.source, feature.build
        ),
        Verdict(feature.name, False, f"build lacks {expr}", feature.source, expr),
        Verdict(feature.name, True, f"{mode} gives it: {feature.reason}", feature.source),
        feature.build,
    )


@functools.lru_cache(maxsize=1024)
def _not_given(feature: Feature, mode: str) -> _Memo:
    """The verdict where no run-time condition of ``feature`` matches: one per feature and mode
    (most candidates' verdicts are this one)."""
    runtime = "; ".join(c.describe() for c in feature.runtime)
    return _final(
        Verdict(feature.name, False, f"{mode} does not give it (needs {runtime})", feature.source)
    )


def _final(v: Verdict) -> _Memo:
    return _Memo(v, (), None, None, None)
