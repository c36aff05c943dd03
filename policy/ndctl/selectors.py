"""Which namespace of a listing a profile describes: explicit selectors only, never a guess.

A profile's ``device.match`` (``host``, ``region``, ``namespace``, ``uuid``, ``name``) selects
the namespaces for which every selector given holds. Exactly one is the profile's namespace;
several are a finding. None is a finding when the selectors name a namespace that must exist
(``namespace``, ``uuid``); ``region``/``name`` alone say where the profile's namespace goes, so
it is created there. A profile without ``match`` applies to no existing namespace: with a
listing that is a finding, without one (a fresh host) its namespace is created. Names are never
compared with profile names. Described in ``docs/ndctl.md``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.ndctl.planrecords import NsState, PlanFinding

SELECTORS = ("host", "region", "namespace", "uuid", "name")
IDENTIFYING = ("namespace", "uuid")  # selectors that name a namespace which must exist


@dataclass(frozen=True)
class Matches:
    """The outcome of matching: each profile's namespace, the new ones, findings, skipped."""

    found: Mapping[str, NsState]  # profile name -> its existing namespace
    new: tuple[str, ...]  # profiles whose namespace is to be created
    problems: tuple[PlanFinding, ...]
    skipped: tuple[str, ...]  # notes: profiles for another host


def selectors(device: Any) -> dict[str, str]:
    """The device's ``match`` selectors (empty when it has none)."""
    return {k: str(v) for k, v in dict(getattr(device, "match", {}) or {}).items()}


def _holds(ns: NsState, key: str, value: str) -> bool:
    if key == "region":
        return ns.region == value
    if key == "namespace":
        return value in (ns.dev, ns.blockdev, ns.chardev)
    if key == "uuid":
        return (ns.uuid or "").lower() == value.lower()
    if key == "name":
        return ns.name == value
    return True  # host is checked against --host, not against namespaces


def _describe(sel: Mapping[str, str]) -> str:
    return "match {" + ", ".join(f"{k}: {sel[k]!r}" for k in SELECTORS if k in sel) + "}"


def match(
    devices: Sequence[Any],
    state: Sequence[NsState],
    *,
    have_listing: bool,
    host: str | None = None,
) -> Matches:
    """Match every profile to at most one namespace of ``state`` by its selectors."""
    found: dict[str, NsState] = {}
    new: list[str] = []
    problems: list[PlanFinding] = []
    skipped: list[str] = []
    for d in devices:
        name = str(d.name)
        sel = selectors(d)
        if "host" in sel:
            if host is None:
                problems.append(PlanFinding(
                    name, "host-unknown",
                    f"selects host {sel['host']!r}; say which host the listing is from "
                    "(plan --host NAME)"))
                continue
            if sel["host"] != host:
                skipped.append(f"{name}: selects host {sel['host']!r}, not {host!r}; skipped")
                continue
        where = {k: v for k, v in sel.items() if k != "host"}
        if not where:
            if have_listing:
                problems.append(PlanFinding(
                    name, "no-selector",
                    "names no namespace of the listing (no device.match); a profile applies "
                    "to a namespace only through match {region, namespace, uuid, name}"))
            else:
                new.append(name)
            continue
        hits = [ns for ns in state if all(_holds(ns, k, v) for k, v in where.items())]
        if len(hits) > 1:
            problems.append(PlanFinding(
                name, "ambiguous-match",
                f"{_describe(sel)} selects several namespaces: "
                + ", ".join(ns.dev for ns in hits) + "; add a selector (namespace, uuid)"))
        elif hits:
            found[name] = hits[0]
        elif any(k in where for k in IDENTIFYING):
            source = "the listing" if have_listing else "any listing (no --ndctl given)"
            problems.append(PlanFinding(
                name, "no-match", f"{_describe(sel)} selects no namespace of {source}"))
        else:
            new.append(name)
    owners: dict[str, list[str]] = {}
    for dev_name, ns in found.items():
        owners.setdefault(ns.dev, []).append(dev_name)
    for ns_dev, names in owners.items():
        if len(names) > 1:
            for n in names:
                problems.append(PlanFinding(
                    n, "contested",
                    f"{ns_dev} is claimed by several profiles: {', '.join(sorted(names))}"))
                found.pop(n, None)
    return Matches(found, tuple(new), tuple(problems), tuple(skipped))
