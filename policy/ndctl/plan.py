"""Plans: the ``ndctl``/``daxctl`` commands that take the current namespaces to the decided policy.

A plan is data: steps with an argv, whether they destroy data and why. Nothing here runs them.
Plans never surprise: only the profiles given are planned, a profile reaches a namespace only
through its ``device.match`` selectors (:mod:`policy.ndctl.selectors`), a step that destroys
data or disturbs a device in use is left out (with a finding saying what would be lost) unless
``allow_destroy``, and every create is checked against its region's free space and alignment.
:func:`policy.ndctl.simulate.apply_steps` simulates the steps. Described in ``docs/ndctl.md``.
"""
from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.decide.runtime import Decision, decide
from policy.ndctl.listing import Listing
from policy.ndctl.planrecords import (
    LABEL_LESS,
    NAME_MAX,
    NDCTL_MODES,
    PFN_MODES,
    SCHEMA_VERSION,
    NsState,
    Plan,
    PlanFinding,
    Step,
    Target,
    dax_name,
    parse_ndctl_size,
)
from policy.ndctl.selectors import match, selectors
from policy.units import format_size, ndctl_size

__all__ = [
    "LABEL_LESS", "NAME_MAX", "NDCTL_MODES", "PFN_MODES", "SCHEMA_VERSION", "NsState", "Plan",
    "PlanFinding", "Step", "Target", "make_plan", "render_text", "state_from_listing",
]
_parse_ndctl_size = parse_ndctl_size  # the names simulate.py and older callers import
_dax_name = dax_name


def render_text(plan: Plan) -> str:
    """The plan as commented, shell-quoted text (:func:`policy.ndctl.render.render_text`)."""
    from policy.ndctl.render import render_text as render

    return render(plan)


def state_from_listing(listing: Listing | None) -> tuple[NsState, ...]:
    """The active namespaces of a listing as plan state (raw sizes recovered)."""
    if listing is None:
        return ()
    out = []
    for ns in listing.active:
        raw = ns.raw
        assert raw is not None
        lo, hi = (raw.lo, raw.hi) if raw.consistent else (raw.value, raw.value)
        out.append(
            NsState(
                ns.dev,
                ns.region,
                ns.kernel_mode,
                ns.map if ns.kernel_mode in PFN_MODES else None,
                ns.align if ns.kernel_mode in PFN_MODES else None,
                raw.value,
                lo,
                hi,
                ns.name,
                ns.blockdev,
                ns.chardev,
                ns.device_type,
                ns.uuid,
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------ helpers


def _mode_args(t: Target) -> list[str]:
    mode = "devdax" if t.mode == "system-ram" else t.mode
    args = [f"--mode={mode}"]
    if t.mode in PFN_MODES:
        args += [f"--map={t.map}", f"--align={ndctl_size(t.align or 0)}"]
    if t.mode == "sector":
        args.append("--sector-size=4096")
    return args


def _same_layout(ns: NsState, t: Target) -> bool:
    if ns.mode != t.mode:
        return False
    return t.mode not in PFN_MODES or (ns.map == t.map and ns.align == t.align)


def _online(device: str, ns: str | None, chardev: str, why: str) -> Step:
    """Online a dax device as system RAM; on a new namespace nothing is lost."""
    return Step(
        device,
        ns,
        "daxctl",
        ("daxctl", "reconfigure-device", "--mode=system-ram", chardev),
        ns is not None,
        f"online {chardev} as system RAM (predicted name; check create-namespace's output); {why}",
    )


@dataclass
class _Room:
    """A region's free space and alignment as the plan uses it up.

    ``extent`` is the largest free piece (``max_available_extent``): ndctl create-namespace
    refuses a size above it even when ``available_size`` is larger (ndctl/namespace.c
    validate_namespace_options takes ndctl_region_get_max_available_extent, else the available
    size); ``ways`` the interleave ways, since ndctl sizes in align x ways units.
    """

    available: int | None
    align: int | None
    extent: int | None = None
    ways: int = 1


def _rooms(listing: Listing | None) -> dict[str, _Room]:
    if listing is None:
        return {}
    return {r.dev: _Room(r.available_lo, r.align, r.max_extent, r.mappings or 1)
            for r in listing.regions if r.type in (None, "pmem")}


def _with_region_facts(d: Any, listing: Listing | None, region: str | None) -> Any:
    """The device with its region's align and interleave ways from the listing, where the
    profile states none: the decision then sizes by the real region's rules."""
    if listing is None or region is None or not hasattr(d, "region_align"):
        return d
    r = next((x for x in listing.regions if x.dev == region), None)
    if r is None or (d.region_align is not None or d.interleave_ways is not None):
        return d
    return dataclasses.replace(d, region_align=r.align, interleave_ways=r.mappings)


def _describe_ns(ns: NsState) -> str:
    extra = ", ".join(f"{k} {v}" for k, v in (("blockdev", ns.blockdev),
                                               ("chardev", ns.chardev), ("name", ns.name)) if v)
    return (f"{ns.dev} ({ns.mode}, {format_size(ns.size)}" + (f", {extra}" if extra else "")
            + ")")


def _loss(ns: NsState, step: Step) -> str:
    """What running ``step`` on ``ns`` loses."""
    if step.action == "daxctl" and not step.destroys_data:
        return ("the system RAM it gives the kernel goes away: the memory must be offlined, "
                "and whatever uses it evicted")
    if step.action == "daxctl":
        return "its contents: onlined as system RAM it is no longer persistent storage"
    return f"every byte on it ({format_size(ns.size)}): file systems, dax mappings, data"


def _blocked(name: str, ns: NsState, steps: Sequence[Step], t: Target) -> PlanFinding:
    first = next(s for s in steps if s.destructive)
    return PlanFinding(
        name,
        "destructive-step",
        f"stops before `{shlex.join(first.command)}`: reaching {t.label()} needs it, and it "
        f"would cost {_describe_ns(ns)} {_loss(ns, first)}; rerun with --allow-destroy to "
        "print it (nothing is ever run)",
    )


def _place(name: str, t: Target, region: str | None, rooms: dict[str, _Room],
           explicit: bool) -> tuple[str | None, PlanFinding | None]:
    """The region a new namespace of ``t.size`` goes to, checked against free space and align."""
    if not rooms:
        return region, None
    candidates = [region] if region is not None else list(rooms)
    why: list[str] = []
    for r in candidates:
        room = rooms.get(r)
        if room is None:
            return None, PlanFinding(
                name, "no-region",
                f"region {r} is not in the listing (regions: {', '.join(rooms)})")
        if room.align and t.size % room.align:
            why.append(f"{r}: {format_size(t.size)} is not a multiple of the region align "
                       f"{format_size(room.align)}")
            continue
        unit = (t.align if t.align and t.mode in PFN_MODES else 0) or 0
        if unit and t.size % (unit * room.ways):
            ways = f" x {room.ways} interleave ways" if room.ways > 1 else ""
            why.append(f"{r}: {format_size(t.size)} is not a multiple of --align "
                       f"{format_size(unit)}{ways}")
            continue
        if room.available is not None and t.size > room.available:
            why.append(f"{r}: needs {format_size(t.size)}, {format_size(room.available)} "
                       "available (after the steps before it)")
            continue
        if room.extent is not None and t.size > room.extent:
            why.append(f"{r}: needs {format_size(t.size)} in one piece, the largest free extent "
                       f"is {format_size(room.extent)} (max_available_extent)")
            continue
        if room.available is not None:
            room.available -= t.size
        if room.extent is not None:
            room.extent -= t.size
        return r, None
    code = "misaligned" if why and all("multiple" in w for w in why) else "no-space"
    lead = "cannot be created" + ("" if explicit or region else " in any region")
    return None, PlanFinding(name, code, f"{lead}: " + "; ".join(why))


# ------------------------------------------------------------------------------ planning


def make_plan(
    devices: Sequence[Any],
    build: Any,
    state: Sequence[NsState] = (),
    *,
    listing: Listing | None = None,
    decisions: Mapping[str, Decision] | None = None,
    allow_destroy: bool = False,
    host: str | None = None,
) -> Plan:
    """Decide every profile under ``build``; plan the commands from ``state`` to the decisions.

    ``state`` without ``listing`` is taken as a listing's state (a test's simulated one): the
    profiles must then match it by their selectors too.
    """
    have_listing = listing is not None or bool(state)
    m = match(devices, state, have_listing=have_listing, host=host)
    problems = list(m.problems)
    notes = list(m.skipped)
    targets: dict[str, Target] = {}
    destroys: list[Step] = []
    reconfigures: list[Step] = []
    creates: list[Step] = []
    daxctl: list[Step] = []
    unchanged: list[tuple[str, str, str]] = []
    claimed = {ns.dev for ns in m.found.values()}
    rooms = _rooms(listing)
    next_index = {ns.region: 0 for ns in state}
    for st in state:
        tail = st.dev.rsplit(".", 1)[-1]
        if tail.isdigit():
            next_index[st.region] = max(next_index[st.region], int(tail) + 1)
    planned = set(m.found) | set(m.new)
    unchecked = False
    for d in sorted(devices, key=lambda x: str(x.name)):
        name = str(d.name)
        if name not in planned:
            continue
        if not decisions:
            own = m.found.get(name)
            d = _with_region_facts(d, listing, own.region if own else selectors(d).get("region"))
        dec = decisions[name] if decisions else decide(d, build)
        chosen = dec.chosen
        if chosen is None or not dec.ok:
            problems.append(PlanFinding(name, "no-decision", f"no plan: {dec.reason}"))
            continue
        c = chosen.candidate
        if c.mode not in NDCTL_MODES:
            problems.append(PlanFinding(
                name, "proposal-mode", f"no plan: {c.mode} is a 2015 proposal that ndctl "
                "cannot set up"))
            continue
        if str(d.type) == "hmem":
            problems.append(PlanFinding(
                name, "hmem", "no plan: hmem devices have no namespaces (use daxctl directly)"))
            continue
        t = Target(
            c.mode,
            c.map if c.mode in PFN_MODES else None,
            c.align if c.mode in PFN_MODES else None,
            int(d.size),
        )
        ns: NsState | None = m.found.get(name)
        label_less = str(d.type) in LABEL_LESS
        if label_less and ns is None:
            problems.append(PlanFinding(
                name, "label-less",
                f"no plan without its namespace: a {d.type} region has one label-less "
                "namespace covering it; give --ndctl and device.match so it can be "
                "reconfigured in place (ndctl create-namespace -f -e NAMESPACE)",
            ))
            continue
        why = f"decided {t.label()}: {dec.reason}"
        fits = ns is not None and (label_less or ns.size_lo <= t.size <= ns.size_hi)
        if ns is not None and fits and _same_layout(ns, t):
            targets[name] = t
            unchanged.append((name, ns.dev, ns.label()))
            continue
        mine: list[Step] = []
        if ns is not None and fits:
            if ns.mode in ("devdax", "system-ram") and t.mode in ("devdax", "system-ram") \
                    and ns.map == t.map and ns.align == t.align:
                chardev = ns.chardev or dax_name(ns.region, 0)
                mine.append(Step(
                    name, ns.dev, "daxctl",
                    ("daxctl", "reconfigure-device", f"--mode={t.mode}", chardev),
                    t.mode == "system-ram",
                    f"{ns.dev} is {ns.label()}; {why}"
                    + ("; onlining as system RAM ends its use as persistent storage"
                       if t.mode == "system-ram" else "; the memory must be offline first"),
                ))
            else:
                mine.append(Step(
                    name, ns.dev, "reconfigure",
                    ("ndctl", "create-namespace", "-f", "-e", ns.dev, *_mode_args(t)),
                    True, f"{ns.dev} is {ns.label()}; {why}",
                ))
                if t.mode == "system-ram":
                    mine.append(_online(name, ns.dev, ns.chardev or dax_name(ns.region, 0), why))
            if any(s.destructive for s in mine) and not allow_destroy:
                problems.append(_blocked(name, ns, mine, t))
                continue
        else:
            sel = selectors(d)
            region: str | None = sel.get("region")
            if ns is not None:
                mine.append(Step(
                    name, ns.dev, "destroy", ("ndctl", "destroy-namespace", "--force", ns.dev),
                    True, f"{ns.dev} is {ns.label()}, the profile wants size "
                    f"{ndctl_size(t.size)}; recreated below",
                ))
                region = ns.region
                if not allow_destroy:
                    problems.append(_blocked(name, ns, mine, t))
                    continue
                if ns.region in rooms and rooms[ns.region].available is not None:
                    rooms[ns.region].available = (rooms[ns.region].available or 0) + ns.size
            region, infeasible = _place(name, t, region, rooms, "region" in sel)
            if infeasible is not None:
                problems.append(infeasible)
                continue
            unchecked = unchecked or not rooms
            argv = ["ndctl", "create-namespace", *_mode_args(t), f"--size={ndctl_size(t.size)}"]
            if region:
                argv.append(f"--region={region}")
            argv.append(f"--name={sel.get('name', name)[:NAME_MAX]}")
            placed = "" if region is None or "region" in sel or ns is not None else \
                f"; region {region}: the first with room (set device.match.region to choose)"
            mine.append(Step(name, None, "create", tuple(argv), False, why + placed))
            if t.mode == "system-ram":
                reg = region or "region0"
                idx = next_index.get(reg, 0)
                next_index[reg] = idx + 1
                mine.append(_online(name, None, dax_name(reg, idx), why))
        targets[name] = t
        for s in mine:
            {"destroy": destroys, "reconfigure": reconfigures, "create": creates,
             "daxctl": daxctl}[s.action].append(s)
    if unchecked:
        notes.append("region free space and alignment not checked: "
                     + ("the listing has no regions (ndctl list -R)" if listing is not None
                        else "no listing (--ndctl)"))
    unmanaged = tuple(ns.dev for ns in state if ns.dev not in claimed)
    diags = tuple(d.render() for d in listing.diagnostics) if listing else ()
    return Plan(str(getattr(build, "name", build)), listing.path if listing else None,
                tuple(destroys + reconfigures + creates + daxctl), tuple(unchanged), unmanaged,
                tuple(problems), targets, diags, tuple(notes), len(devices))
