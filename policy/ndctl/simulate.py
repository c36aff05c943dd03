"""A plan's steps applied to the listing's state: what ndctl and daxctl would leave behind."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from policy.ndctl.planrecords import (
    PFN_MODES,
    NsState,
    Step,
    dax_name as _dax_name,
    parse_ndctl_size as _parse_ndctl_size,
)


def apply_steps(
    state: Sequence[NsState], steps: Sequence[Mapping[str, Any] | Step]
) -> tuple[NsState, ...]:
    """Simulate a plan's commands (its JSON ``steps`` or :class:`Step` objects) on ``state``.

    A new namespace takes the next free index of its region (``namespace0.1``), its ``--name`` and,
    in devdax mode, the dax device ``dax<region>.<index>``. Raises ValueError for a command the
    simulator does not know.
    """
    current = list(state)
    for step in steps:
        argv = list(step.command if isinstance(step, Step) else step["command"])
        if argv[:2] == ["ndctl", "destroy-namespace"]:
            dev = argv[-1]
            current = [ns for ns in current if ns.dev != dev]
        elif argv[:2] == ["ndctl", "create-namespace"]:
            opts = _options(argv[2:])
            mode = opts["mode"]
            pfn = mode in PFN_MODES
            align = _parse_ndctl_size(opts["align"]) if pfn else None
            map_ = opts.get("map") if pfn else None
            if "e" in opts:
                dev = opts["e"]
                old = next(ns for ns in current if ns.dev == dev)
                size = _parse_ndctl_size(opts["size"]) if "size" in opts else old.size
                chardev = old.chardev or (_dax_name(old.region, 0) if mode == "devdax" else None)
                new = replace(old, mode=mode, map=map_, align=align, size=size,
                              size_lo=size if "size" in opts else old.size_lo,
                              size_hi=size if "size" in opts else old.size_hi, chardev=chardev)
                current = [new if ns.dev == dev else ns for ns in current]
            else:
                region = opts.get("region", "region0")
                used = [int(ns.dev.rsplit(".", 1)[1]) for ns in current
                        if ns.region == region and ns.dev.rsplit(".", 1)[1].isdigit()]
                idx = max(used, default=-1) + 1
                size = _parse_ndctl_size(opts["size"])
                rid = region.removeprefix("region")
                current.append(
                    NsState(
                        f"namespace{rid}.{idx}",
                        region,
                        mode,
                        map_,
                        align,
                        size,
                        size,
                        size,
                        opts.get("name"),
                        _blockdev(rid, idx, mode),
                        _dax_name(region, idx) if mode == "devdax" else None,
                    )
                )
        elif argv[:2] == ["daxctl", "reconfigure-device"]:
            mode = _options(argv[2:])["mode"]
            chardev = argv[-1]
            hit = [ns for ns in current if ns.chardev == chardev]
            if not hit:
                raise ValueError(f"no dax device {chardev} to reconfigure")
            current = [replace(ns, mode=mode) if ns.chardev == chardev else ns for ns in current]
        else:
            raise ValueError(f"unknown command {' '.join(argv)!r}")
    return tuple(current)


def _blockdev(rid: str, idx: int, mode: str) -> str | None:
    """The block device ndctl reports: pmemX, pmemX.Y for later ones, an ``s`` for sector mode."""
    if mode == "devdax" or mode == "system-ram":
        return None
    return f"pmem{rid}" + (f".{idx}" if idx else "") + ("s" if mode == "sector" else "")


def _options(args: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    it = iter(args)
    for a in it:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            out[k] = v
        elif a == "-e":
            out["e"] = next(it)
        elif a in ("-f", "--force"):
            out["force"] = "1"
        elif not a.startswith("-"):
            out["target"] = a
        else:
            raise ValueError(f"unknown option {a!r}")
    return out
