"""The records of a plan: namespaces as the plan sees them, targets, steps, findings, the plan.

Plans are data; :mod:`policy.ndctl.plan` builds them, :mod:`policy.ndctl.render` prints them and
:mod:`policy.ndctl.simulate` applies their steps. Field names of :meth:`Plan.to_dict` are a
contract (``schema_version`` 1).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

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
    uuid: str | None = None

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

    @property
    def destructive(self) -> bool:
        """Needs ``--allow-destroy``: it destroys data, or reconfigures a dax device in use."""
        return self.destroys_data or (self.action == "daxctl" and self.namespace is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "namespace": self.namespace,
            "action": self.action,
            "command": list(self.command),
            "destroys_data": self.destroys_data,
            "reason": self.reason,
        }


class PlanFinding(NamedTuple):
    """Why a profile got no (or not every) command: the device, a stable code and the message."""

    device: str
    code: str
    message: str


@dataclass(frozen=True)
class Plan:
    """The commands, the devices already right, the namespaces no profile names, the findings."""

    config: str
    listing: str | None
    steps: tuple[Step, ...]
    unchanged: tuple[tuple[str, str, str], ...]  # (device, namespace, state)
    unmanaged: tuple[str, ...]
    problems: tuple[PlanFinding, ...]
    targets: Mapping[str, Target]
    diagnostics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what the plan could not check, what it skipped
    profiles: int = 0  # how many device profiles the plan was given

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
            "problems": [{"device": f.device, "code": f.code, "message": f.message}
                         for f in self.problems],
            "targets": {d: {"mode": t.mode, "map": t.map, "align": t.align, "size": t.size}
                        for d, t in sorted(self.targets.items())},
            "diagnostics": list(self.diagnostics),
            "notes": list(self.notes),
        }


def parse_ndctl_size(text: str) -> int:
    """An exact ndctl size argument (``756G``, ``2M``, ``4096``) in bytes."""
    m = re.fullmatch(r"(\d+)([KMGT]?)", text)
    if not m:
        raise ValueError(f"not an ndctl size: {text!r}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2)]


def dax_name(region: str, index: int) -> str:
    """The dax device ndctl gives namespace ``index`` of ``region`` in devdax mode."""
    return f"dax{region.removeprefix('region')}.{index}"
