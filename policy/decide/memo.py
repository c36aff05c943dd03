"""Decisions memoised by everything they depend on, so identical namespaces cost one decision.

A decision is a pure function of the build's values (its fingerprint), the device's type, size,
start align, pin, requires, wants, budgets and whether it exists already, and the catalog. A
fleet of similar hosts, or a listing of many identical namespaces, decides each distinct
combination once; the rest are copies carrying their own device and build names. The table lives
in the catalog's :class:`~policy.decide.cache.DecisionCache`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional

from policy.decide.cache import CachedBuild, cache_for, cached
from policy.decide.catalog import Catalog, catalog
from policy.decide.records import Build, Decision
from policy.decide.runtime import decide

MAX_DECISIONS = 20_000  # distinct decisions kept (a few KiB each) before the table restarts


def decision_key(device: Any, build: CachedBuild) -> tuple[Any, ...]:
    """Everything :func:`policy.decide.runtime.decide` reads from ``device`` and ``build``."""
    pin = device.pin
    return (
        build.fingerprint, str(device.type), int(device.size), device.start_align,
        None if pin is None else (pin.mode, pin.map, pin.align,
                                  getattr(pin, "sector_size", None)),
        getattr(device, "start", None), getattr(device, "region_align", None),
        getattr(device, "interleave_ways", None), getattr(device, "created_by", "ndctl"),
        tuple(device.requires), tuple(device.wants), device.budget_dram, device.budget_capacity,
        bool(getattr(device, "exists", False)),  # an existing namespace skips ndctl's refusals
    )


def decide_memo(device: Any, build: Build, cat: Optional[Catalog] = None) -> Decision:
    """:func:`policy.decide.runtime.decide`, memoised; equal to it field by field."""
    cat = cat or catalog()
    cache = cache_for(cat)
    b = cached(build)
    key = decision_key(device, b)
    got: Optional[Decision] = cache.decisions.get(key)
    if got is None:
        got = dataclasses.replace(decide(device, b, cat), key=key)
        if len(cache.decisions) >= MAX_DECISIONS:
            # a listing of mostly distinct devices: start over rather than grow without bound
            cache.decisions.clear()
            cache.rows.clear()
        cache.decisions[key] = got
        return got
    name = str(device.name)
    if got.device == name and got.build == b.name:
        return got
    # dataclasses.replace(got, device=..., build=...) without re-running __init__ or copy.copy's
    # reduce protocol: the same fields, two of them renamed (a fleet does this per namespace)
    state = got.__dict__.copy()
    state["device"] = name
    state["build"] = b.name
    out = object.__new__(Decision)
    object.__setattr__(out, "__dict__", state)
    return out
