"""Plans: the ``ndctl``/``daxctl`` commands that take the current namespaces to the decided policy.

A plan is data: steps with an argv, whether they destroy data and why. Nothing here runs them.
:func:`apply_steps` simulates a plan's steps on a state (the parsed listing), so a test can check
that the result is what :func:`policy.decide.runtime.decide` decided. Matching profiles to
namespaces
and every command are described in ``docs/ndctl.md``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from policy.decide.runtime import Decision, decide
from policy.ndctl.listing import Listing
from policy.units import ndctl_size

SCHEMA_VERSION = 1
PFN_MODES = ("fsdax", "devdax", "system-ram")
NDCTL_MODES = ("raw", "sector", "fsdax", "devdax", "system-ram")  # what ndctl/daxctl can set up
NAME_MAX = 63  # NSLABEL_NAME_LEN (64) including the terminating NUL
# Regions without a label area hold one "io" namespace that covers the whole region
# (drivers/nvdimm/namespace_devs.c create_namespace_io): e820/memmap= (drivers/nvdimm/e820.c) and
# virtio-pmem (drivers/nvdimm/virtio_pmem.c). It can only be reconfigured in place (-f -e), never
# created with --size/--name or destroyed.
LABEL_LESS = ("e820", "virtio-pmem")
Action = Literal["destroy", "create", "reconfigure", "daxctl"]


@dataclass(frozen=True)
class NsState:
    """One namespace as the plan sees it: the kernel mode and the raw size D.

    ``size_lo``..``size_hi`` are the raw sizes the listing is consistent with (a range when the
    reverse arithmetic found several); a target size in that range counts as the same size.
    """

    dev: str
    region: str
    mode: str
    map: str | None
    align: int | None
    size: int
    size_lo: int
    size_hi: int
    name: str | None = None
    blockdev: str | None = None
    chardev: str | None = None
    device_type: str = "nvdimm"

    def label(self) -> str:
        text = self.mode
        if self.mode in PFN_MODES:
            text += f" map={self.map} align={ndctl_size(self.align or 0)}"
        return f"{text} size={ndctl_size(self.size)}"

    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.dev, self.blockdev, self.chardev, self.name) if n)


@dataclass(frozen=True)
class Target:
    """What the policy decided for one profile: mode, map, align and the raw size."""

    mode: str
    map: str | None
    align: int | None
    size: int

    def label(self) -> str:
        text = self.mode
        if self.mode in PFN_MODES:
            text += f" map={self.map} align={ndctl_size(self.align or 0)}"
        return f"{text} size={ndctl_size(self.size)}"


@dataclass(frozen=True)
class Step:
    """One command of a plan. ``namespace`` is what it acts on (``None`` for a new namespace)."""

    device: str
    namespace: str | None
    action: Action
    command: tuple[str, ...]
    destroys_data: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "namespace": self.namespace,
            "action": self.action,
            "command": list(self.command),
            "destroys_data": self.destroys_data,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Plan:
    """The commands, the devices already right, the namespaces no profile names, the problems."""

    config: str
    listing: str | None
    steps: tuple[Step, ...]
    unchanged: tuple[tuple[str, str, str], ...]  # (device, namespace, state)
    unmanaged: tuple[str, ...]
    problems: tuple[tuple[str, str], ...]  # (device, why there is no plan for it)
    targets: Mapping[str, Target]
    diagnostics: tuple[str, ...] = ()

    @property
    def destroys_data(self) -> bool:
        return any(s.destroys_data for s in self.steps)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``schema_version`` 1; field names are a contract)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "config": self.config,
            "listing": self.listing,
            "verdict": "ok" if self.ok else "problems",
            "ok": self.ok,
            "destroys_data": self.destroys_data,
            "steps": [s.to_dict() for s in self.steps],
            "unchanged": [{"device": d, "namespace": n, "state": s} for d, n, s in self.unchanged],
            "unmanaged": list(self.unmanaged),
            "problems": [{"device": d, "message": m} for d, m in self.problems],
            "targets": {d: {"mode": t.mode, "map": t.map, "align": t.align, "size": t.size}
                        for d, t in sorted(self.targets.items())},
            "diagnostics": list(self.diagnostics),
        }




def _parse_ndctl_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([KMGT]?)", text)
    if not m:
        raise ValueError(f"not an ndctl size: {text!r}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2)]


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
            )
        )
    return tuple(out)


# ------------------------------------------------------------------------------ matching


def _short(device: Any) -> str:
    name = str(device.name)
    return name.split("/", 1)[1] if getattr(device, "host", None) and "/" in name else name


def match(
    devices: Sequence[Any], state: Sequence[NsState]
) -> tuple[dict[str, NsState], list[tuple[str, str]]]:
    """Profile name -> the namespace it describes, and the problems (ambiguous or contested).

    A DeviceProfile names its namespace with a label ``ndctl.dev``, ``ndctl.blockdev``,
    ``ndctl.chardev`` or ``ndctl.name``; failing that, a profile (or a HostProfile device) whose
    name is the namespace's dev, blockdev, chardev or ndctl ``name`` matches it. HostProfile
    labels belong to the whole host and are not used.
    """
    found: dict[str, NsState] = {}
    problems: list[tuple[str, str]] = []
    for d in devices:
        labels = dict(getattr(d, "labels", {}) or {}) if not getattr(d, "host", None) else {}
        hits = [
            ns
            for ns in state
            if any(
                labels.get(f"ndctl.{k}") == v
                for k, v in (
                    ("dev", ns.dev),
                    ("blockdev", ns.blockdev),
                    ("chardev", ns.chardev),
                    ("name", ns.name),
                )
                if v
            )
        ]
        if not hits:
            hits = [ns for ns in state if ns.name and ns.name == str(d.name)]
        if not hits:
            hits = [ns for ns in state if _short(d) in ns.names() or str(d.name) in ns.names()]
        if len(hits) > 1:
            problems.append(
                (str(d.name), "matches several namespaces: " + ", ".join(ns.dev for ns in hits))
            )
        elif hits:
            found[str(d.name)] = hits[0]
    owners: dict[str, list[str]] = {}
    for dev_name, ns in found.items():
        owners.setdefault(ns.dev, []).append(dev_name)
    for ns_dev, names in owners.items():
        if len(names) > 1:
            for n in names:
                problems.append(
                    (n, f"{ns_dev} is claimed by several profiles: {', '.join(sorted(names))}")
                )
                found.pop(n, None)
    return found, problems


# ------------------------------------------------------------------------------ planning


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


def _dax_name(region: str, index: int) -> str:
    return f"dax{region.removeprefix('region')}.{index}"


def make_plan(
    devices: Sequence[Any],
    build: Any,
    state: Sequence[NsState] = (),
    *,
    listing: Listing | None = None,
    decisions: Mapping[str, Decision] | None = None,
) -> Plan:
    """Decide every profile under ``build``; plan the commands from ``state`` to the decisions."""
    found, problems = match(devices, state)
    targets: dict[str, Target] = {}
    destroys: list[Step] = []
    reconfigures: list[Step] = []
    creates: list[Step] = []
    daxctl: list[Step] = []
    unchanged: list[tuple[str, str, str]] = []
    claimed = {ns.dev for ns in found.values()}
    free = _free_space(listing)
    next_index = {ns.region: 0 for ns in state}
    for st in state:
        tail = st.dev.rsplit(".", 1)[-1]
        if tail.isdigit():
            next_index[st.region] = max(next_index[st.region], int(tail) + 1)
    contested = {d for d, _ in problems}
    for d in sorted(devices, key=lambda x: str(x.name)):
        name = str(d.name)
        if name in contested:
            continue
        dec = decisions[name] if decisions else decide(d, build)
        chosen = dec.chosen
        if chosen is None or not dec.ok:
            problems.append((name, f"no plan: {dec.reason}"))
            continue
        c = chosen.candidate
        if c.mode not in NDCTL_MODES:
            problems.append(
                (name, f"no plan: {c.mode} is a 2015 proposal that ndctl cannot set up")
            )
            continue
        if str(d.type) == "hmem":
            problems.append(
                (name, "no plan: hmem devices have no namespaces (use daxctl directly)")
            )
            continue
        t = Target(
            c.mode,
            c.map if c.mode in PFN_MODES else None,
            c.align if c.mode in PFN_MODES else None,
            int(d.size),
        )
        ns: NsState | None = found.get(name)
        label_less = str(d.type) in LABEL_LESS
        if label_less and ns is None:
            problems.append((
                name,
                f"no plan without its namespace: a {d.type} region has one label-less "
                "namespace covering it; give --ndctl so it can be reconfigured in place "
                "(ndctl create-namespace -f -e NAMESPACE)",
            ))
            continue
        targets[name] = t
        why = f"decided {t.label()}: {dec.reason}"
        fits = ns is not None and (label_less or ns.size_lo <= t.size <= ns.size_hi)
        if ns is not None and fits and _same_layout(ns, t):
            unchanged.append((name, ns.dev, ns.label()))
            continue
        if ns is not None and fits:
            if ns.mode in ("devdax", "system-ram") and t.mode in ("devdax", "system-ram") \
                    and ns.map == t.map and ns.align == t.align:
                chardev = ns.chardev or _dax_name(ns.region, 0)
                daxctl.append(
                    Step(
                        name,
                        ns.dev,
                        "daxctl",
                        ("daxctl", "reconfigure-device", f"--mode={t.mode}", chardev),
                        t.mode == "system-ram",
                        f"{ns.dev} is {ns.label()}; {why}"
                        + (
                            "; onlining as system RAM ends its use as persistent storage"
                            if t.mode == "system-ram"
                            else "; the memory must be offline first"
                        ),
                    )
                )
                continue
            reconfigures.append(
                Step(
                    name,
                    ns.dev,
                    "reconfigure",
                    ("ndctl", "create-namespace", "-f", "-e", ns.dev, *_mode_args(t)),
                    True,
                    f"{ns.dev} is {ns.label()}; {why}",
                )
            )
            if t.mode == "system-ram":
                daxctl.append(_online(name, ns.dev, ns.chardev or _dax_name(ns.region, 0), why))
            continue
        region: str | None = None
        if ns is not None:
            destroys.append(
                Step(
                    name,
                    ns.dev,
                    "destroy",
                    ("ndctl", "destroy-namespace", "--force", ns.dev),
                    True,
                    f"{ns.dev} is {ns.label()}, the profile wants size {ndctl_size(t.size)}; "
                    "recreated below",
                )
            )
            region = ns.region
        region = region or d.labels.get("ndctl.region") if hasattr(d, "labels") else region
        if region is None and free:
            region = next(
                (r for r, avail in free.items() if avail is None or avail >= t.size), None
            )
        if region is not None and free.get(region) is not None:
            free[region] = (free[region] or 0) - t.size
        argv = ["ndctl", "create-namespace", *_mode_args(t), f"--size={ndctl_size(t.size)}"]
        if region:
            argv.append(f"--region={region}")
        argv.append(f"--name={name[:NAME_MAX]}")
        creates.append(Step(name, None, "create", tuple(argv), False, why))
        if t.mode == "system-ram":
            reg = region or "region0"
            idx = next_index.get(reg, 0)
            next_index[reg] = idx + 1
            daxctl.append(_online(name, None, _dax_name(reg, idx), why))
    unmanaged = tuple(ns.dev for ns in state if ns.dev not in claimed)
    diags = tuple(d.render() for d in listing.diagnostics) if listing else ()
    return Plan(str(getattr(build, "name", build)), listing.path if listing else None,
                tuple(destroys + reconfigures + creates + daxctl), tuple(unchanged), unmanaged,
                tuple(problems), targets, diags)


def _online(device: str, ns: str | None, chardev: str, why: str) -> Step:
    return Step(
        device,
        ns,
        "daxctl",
        ("daxctl", "reconfigure-device", "--mode=system-ram", chardev),
        True,
        f"online {chardev} as system RAM (predicted name; check create-namespace's output); {why}",
    )


def _free_space(listing: Listing | None) -> dict[str, int | None]:
    if listing is None:
        return {}
    return {r.dev: r.available_lo for r in listing.regions if r.type in (None, "pmem")}


# ------------------------------------------------------------------------------ simulation


def render_text(plan: Plan) -> str:
    """The plan for humans: shell comments, the commands, loud warnings before destructive ones."""
    lines = [
        f"# pmempolicy plan: config {plan.config}"
        + (f", current namespaces from {plan.listing}" if plan.listing else ", from no namespaces"),
        "# Nothing has been run. Review, then run the commands yourself.",
    ]
    n_destroy = sum(s.destroys_data for s in plan.steps)
    if n_destroy:
        lines += [
            "#",
            f"# !!! WARNING: {n_destroy} of these commands DESTROY DATA on the namespaces "
            "they name.",
            "# !!! Back up first; unmount file systems and stop users of the devices.",
        ]
    for d in plan.diagnostics:
        lines.append(f"# listing: {d}")
    if not plan.steps:
        lines.append("# no commands: the current setup already matches the policy")
    for s in plan.steps:
        lines.append("")
        lines.append(f"# {s.device}: {s.reason}")
        if s.destroys_data:
            lines.append(f"# !!! DESTROYS DATA on {s.namespace or 'the device'}")
        lines.append(" ".join(s.command))
    if plan.unchanged:
        lines.append("")
        lines += [f"# unchanged: {d} is {n} ({st})" for d, n, st in plan.unchanged]
    if plan.unmanaged:
        lines += [f"# unmanaged: {n} (no profile names it; left alone)" for n in plan.unmanaged]
    if plan.problems:
        lines.append("")
        lines += [f"# problem: {d}: {m}" for d, m in plan.problems]
    return "\n".join(lines) + "\n"
