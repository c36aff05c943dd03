"""The numbers behind the report's charts, without matplotlib: cost curves and the frontier.

Cost curves are the kernel's arithmetic (:mod:`policy.decide.costs`) over device sizes from
1 GiB to 4 TiB for each mode/map/align; identical curves are merged into one labelled series.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from policy.decide import costs
from policy.decide.costs import GiB, Layout, MiB, TiB

# the seed's points: an 8 GB NVDIMM (128 MiB of struct pages) and 400 GB -> 6.25 GiB
SEED_POINTS: tuple[tuple[int, str], ...] = ((8 * GiB, "8 GiB NVDIMM"), (400 * GiB, "400 GiB"))


@dataclass(frozen=True)
class Series:
    """One mode/map/align (or several with the same costs): label and points per size."""

    label: str
    sizes: tuple[int, ...]
    dram: tuple[Optional[int], ...]  # DRAM memmap bytes (None: ndctl or the kernel refuses)
    lost: tuple[Optional[int], ...]  # capacity lost bytes


def sizes(lo: int = GiB, hi: int = 4 * TiB, per_octave: int = 2) -> tuple[int, ...]:
    """Device sizes from ``lo`` to ``hi``, ``per_octave`` per doubling, whole GiB."""
    out: list[int] = []
    n = 0
    while True:
        s = round(lo * 2 ** (n / per_octave) / GiB) * GiB
        if s > hi:
            break
        if not out or s != out[-1]:
            out.append(s)
        n += 1
    return tuple(out)


def _layouts() -> list[tuple[str, Callable[[int], Layout]]]:
    out: list[tuple[str, Callable[[int], Layout]]] = []
    for mode in ("fsdax", "devdax"):
        for map_ in ("mem", "dev"):
            for align in (4096, 2 * MiB, GiB):
                if mode == "fsdax" and align == GiB:
                    continue  # fsdax has no 1 GiB align (pfn_devs.c: PMD at most)
                label = f"{mode} {map_} {_a(align)}"

                def fn(s: int, m: str = mode, mp: str = map_, a: int = align) -> Layout:
                    return costs.pfn_layout(s, mp, a, mode=m,  # type: ignore[arg-type]
                                            arch_optimize_vmemmap=True)
                out.append((label, fn))
    for map_ in ("mem", "dev"):
        out.append((f"system-ram {map_} 2M",
                    lambda s, mp=map_: costs.system_ram_layout(s, mp)))  # type: ignore[misc]
    out.append(("raw", lambda s: costs.raw_layout(s)))
    out.append(("raw (pagemap region)", lambda s: costs.raw_layout(s, pagemap=True)))
    out.append(("sector (BTT)", lambda s: costs.btt_layout(s)))
    return out


def _a(align: int) -> str:
    from policy.units import ndctl_size

    return ndctl_size(align)


def cost_series(points: Sequence[int] = ()) -> tuple[Series, ...]:
    """DRAM memmap and capacity lost per size for every mode/map/align; same curves merged."""
    grid = tuple(points) or sizes()
    Key = tuple[tuple[Optional[int], ...], tuple[Optional[int], ...]]
    merged: dict[Key, list[str]] = {}
    for label, fn in _layouts():
        lays = [fn(s) for s in grid]
        if all(lay.refused for lay in lays):
            continue
        if any(lay.dedup for lay in lays):
            label += " (vmemmap dedup)"
        key = (tuple(None if lay.refused else lay.dram_memmap for lay in lays),
               tuple(None if lay.refused else lay.capacity_lost for lay in lays))
        merged.setdefault(key, []).append(label)
    return tuple(Series(" = ".join(labels), grid, dram, lost)
                 for (dram, lost), labels in merged.items())


def frontier_points(explore_doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The Pareto frontier of an ``explore`` JSON document: id, DRAM, capacity, features."""
    return [
        {"id": c["id"], "dram": c["dram_memmap_bytes"], "lost": c["capacity_lost_bytes"],
         "features": c["features"], "arch": c["arch"], "ok": c["ok"]}
        for c in explore_doc["frontier"]
    ]
