"""The feature catalog: names, build conditions, run-time conditions, reasons and kernel sources.

All rules live in ``policy/data/features.yaml`` (validated by ``features.schema.json``): the modes
and their build requirements, the aligns, the device types and the features. This module loads
them into frozen records and answers "does this candidate give this feature" as data lookups.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

import yaml

from policy.decide.cache import DecisionCache, build_holds, cache_for
from policy.errors import UsageError
from policy.resources import data_file
from policy.units import format_size

__all__ = [
    "AlignRule", "Catalog", "DeviceTypeRule", "Evaluates", "Feature", "ModeRule",
    "RuntimeCond", "Verdict", "build_holds", "catalog", "enabling_condition",
    "feature_names", "feature_verdict",
]


class Evaluates(Protocol):
    """What the catalog needs of a build: :class:`policy.kconfig.BuildConfig` fits."""

    def eval(self, expr: str) -> str: ...


@dataclass(frozen=True)
class ModeRule:
    name: str
    build: str
    layout: str  # raw | btt | pfn | kmem
    maps: tuple[str, ...]
    aligns: bool
    proposal: bool
    reason: str
    source: str


@dataclass(frozen=True)
class AlignRule:
    bytes: int
    build: str
    reason: str
    source: str


@dataclass(frozen=True)
class DeviceTypeRule:
    name: str
    build: str
    modes: tuple[str, ...]
    mode_build: tuple[tuple[str, str], ...]
    pagemap: bool
    async_: bool
    whole_device: bool
    reason: str
    source: str
    # bytes every namespace size must be a multiple of (label-backed regions; 0: no namespace
    # sizing, the single namespace is the whole region)
    region_align: int = 0
    region_align_source: str = ""

    def build_for(self, mode: str, mode_rule: ModeRule) -> str:
        """The build expression for ``mode`` on this device type (overrides replace the mode's)."""
        override = dict(self.mode_build).get(mode)
        return f"({self.build}) && ({override or mode_rule.build})"


@dataclass(frozen=True)
class RuntimeCond:
    modes: tuple[str, ...]
    maps: Optional[tuple[str, ...]] = None
    min_align: int = 0
    aligns: Optional[tuple[int, ...]] = None  # exactly these aligns (device-dax fault size)
    device_types: Optional[tuple[str, ...]] = None
    pagemap: bool = False
    sync_only: bool = False
    build: str = "y"

    def describe(self) -> str:
        """``fsdax|devdax, align>=2097152, synchronous region`` — for reasons."""
        parts = ["|".join(self.modes)]
        if self.maps:
            parts.append("map=" + "|".join(self.maps))
        if self.min_align:
            parts.append(f"align>={format_size(self.min_align)}")
        if self.aligns:
            parts.append("align=" + "|".join(format_size(a) for a in self.aligns))
        if self.device_types:
            parts.append("on " + "|".join(self.device_types))
        if self.pagemap:
            parts.append("PAGEMAP region")
        if self.sync_only:
            parts.append("synchronous region")
        if self.build != "y":
            parts.append(f"built with {self.build}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Feature:
    name: str
    summary: str
    build: str
    runtime: tuple[RuntimeCond, ...]
    proposal: bool
    reason: str
    source: str


@dataclass(frozen=True)
class Catalog:
    modes: tuple[ModeRule, ...]
    aligns: tuple[AlignRule, ...]
    device_types: tuple[DeviceTypeRule, ...]
    features: tuple[Feature, ...]
    # mode name -> its first position in ``modes`` (derived; not part of equality)
    _mode_pos: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        pos: dict[str, int] = {}
        for i, m in enumerate(self.modes):
            pos.setdefault(m.name, i)
        object.__setattr__(self, "_mode_pos", pos)

    def mode(self, name: str) -> ModeRule:
        return next(m for m in self.modes if m.name == name)

    def device_type(self, name: str) -> DeviceTypeRule:
        for dt in self.device_types:
            if dt.name == name:
                return dt
        raise UsageError(f"unknown device type {name!r}")

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise UsageError(f"unknown feature {name!r}; known: {', '.join(sorted(feature_names()))}")

    def mode_order(self, name: str) -> int:
        """The position of mode ``name`` in the catalog (ValueError for an unknown mode)."""
        pos = self._mode_pos.get(name)
        if pos is None:
            raise ValueError(f"{name!r} is not a mode of the catalog")
        return pos


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
        AlignRule(bytes=a["bytes"], build=a["build"], reason=a["reason"], source=a["source"])
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
        )
        for d in doc["device_types"]
    )
    features = tuple(
        Feature(name=f["name"], summary=f["summary"], build=f["build"],
                runtime=tuple(_cond(c) for c in f["runtime"]), proposal=bool(f.get("proposal")),
                reason=f["reason"], source=f["source"])
        for f in doc["features"]
    )
    return Catalog(modes=modes, aligns=aligns, device_types=dts, features=features)


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


def feature_verdict(
    feature: Feature,
    build: Evaluates,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    cache: DecisionCache | None = None,
) -> Verdict:
    """Does ``mode``/``map_``/``align`` on ``device_type`` give ``feature`` under ``build``?

    ``pagemap`` is the effective ND_REGION_PAGEMAP (the region has it and ZONE_DEVICE is built).
    Everything but the build is memoised (verdicts and their messages are built once per feature,
    device type, mode, map, align and pagemap); the build is read as before.
    """
    memo = _memoised(feature, device_type, mode, map_, align, pagemap, cache)
    if memo.final is not None:
        return memo.final
    if not build_holds(build, feature.build):
        assert memo.lacks_feature is not None
        return memo.lacks_feature
    if not [e for e in memo.builds if build_holds(build, e)]:
        assert memo.lacks_cond is not None
        return memo.lacks_cond
    assert memo.gives is not None
    return memo.gives


def enabling_condition(
    feature: Feature,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    cache: DecisionCache | None = None,
) -> Optional[tuple[str, tuple[str, ...]]]:
    """When :func:`feature_verdict` enables ``feature`` for this candidate, as build expressions:
    None when it never does (the verdict is decided without the build), else ``(feature_build,
    conditions)``: enabled exactly when ``feature_build`` holds and one of ``conditions`` does.
    The same memo as ``feature_verdict``, so the two cannot drift apart (tested)."""
    memo = _memoised(feature, device_type, mode, map_, align, pagemap, cache)
    if memo.final is not None:
        return ("y", ("y",)) if memo.final.enabled else None
    return feature.build, memo.builds


def _memoised(
    feature: Feature,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
    cache: DecisionCache | None,
) -> _Memo:
    """:func:`_memo`, computed once per feature, device type, mode, map, align and pagemap.

    Keyed by the records' values, so a cache never mixes up two catalogs' rules."""
    memos = (cache or cache_for(catalog())).feature_memos
    key = (feature, device_type, mode, map_, align, pagemap)
    got = memos.get(key)
    if got is None:
        got = memos[key] = _memo(feature, device_type, mode, map_, align, pagemap)
    assert isinstance(got, _Memo)
    return got


def _memo(
    feature: Feature,
    device_type: DeviceTypeRule,
    mode: str,
    map_: Optional[str],
    align: int,
    pagemap: bool,
) -> _Memo:
    """The build-independent part of :func:`feature_verdict`."""
    matched: list[RuntimeCond] = []
    for cond in feature.runtime:
        if mode not in cond.modes:
            continue
        if cond.maps and map_ not in cond.maps:
            continue
        if cond.device_types and device_type.name not in cond.device_types:
            continue
        if cond.pagemap and not pagemap:
            continue
        matched.append(cond)
    if not matched:
        runtime = "; ".join(c.describe() for c in feature.runtime)
        return _final(
            Verdict(
                feature.name, False, f"{mode} does not give it (needs {runtime})", feature.source
            )
        )
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
    align_ok = [c for c in sync_ok if align >= c.min_align and (not c.aligns or align in c.aligns)]
    if not align_ok:
        exact = sorted({a for c in sync_ok for a in (c.aligns or ())})
        below = [c.min_align for c in sync_ok if c.min_align and align < c.min_align]
        if exact and not below:
            need_text = "only with align " + "|".join(format_size(a) for a in exact)
            why = f"align {format_size(align)}: {need_text}: {feature.reason}"
        else:
            need = min(c.min_align for c in sync_ok)
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
    )


def _final(v: Verdict) -> _Memo:
    return _Memo(v, (), None, None, None)
