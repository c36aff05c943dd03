"""``explore --from CONFIG``: the one-option changes that move a decision, and their frontier."""

from __future__ import annotations

import io
import json
from typing import Any, TextIO

from policy.report.style import fit_lines
from policy.space.around import SCHEMA_VERSION, AroundResult, Point
from policy.units import format_size


def _point(p: Point) -> dict[str, Any]:
    return {
        "change": p.label(),
        "scripts_config": [a.scripts_config() for a in p.change],
        "devices_ok": p.ok,
        "features": p.features,
        "dram_memmap_bytes": p.dram,
        "capacity_lost_bytes": p.capacity,
        "moved": [{"device": d, "before": a, "after": b} for d, a, b in p.moved],
    }


def around_document(r: AroundResult, source: str) -> dict[str, Any]:
    """The JSON contract of ``explore --from``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "from": source,
        "kernel": r.base.kernel,
        "held": {"arch": r.base.arch, "page_size": r.base.page_size},
        "devices": r.devices,
        "changeable": list(r.relevant),
        "tried": r.tried,
        "here": _point(r.here),
        "frontier": [_point(p) for p in r.frontier],
        "changes": [_point(p) for p in r.points],
    }


class AroundJson:
    def __init__(self, source: str) -> None:
        self.source = source

    def report(self, result: AroundResult, stream: TextIO) -> None:
        json.dump(around_document(result, self.source), stream, indent=2)
        stream.write("\n")


def _row(p: Point, n: int) -> str:
    return (f"  {p.label():<34} {p.ok:>2}/{n:<2} {p.features:>4} {format_size(p.dram):>9} "
            f"{format_size(p.capacity):>9}\n")


class AroundText:
    def __init__(self, source: str) -> None:
        self.source = source

    def report(self, r: AroundResult, stream: TextIO) -> None:
        buf = io.StringIO()
        self.write(r, buf)
        stream.write(fit_lines(buf.getvalue()))

    def write(self, r: AroundResult, out: TextIO) -> None:
        b = r.base
        out.write(
            f"around {self.source} ({b.arch}, {b.page_size // 1024}K pages held): "
            f"{len(r.points)} one-option changes move some decision or cost "
            f"(of {r.tried} tried over {len(r.relevant)} options the decisions read)\n"
        )
        head = f"  {'CHANGE':<34} {'OK':>5} {'FEAT':>4} {'DRAM':>9} {'CAPACITY':>9}\n"
        out.write("Pareto frontier (more devices ok, more features, less DRAM, less capacity):\n")
        out.write(head)
        for p in r.frontier:
            out.write(_row(p, r.devices))
        if r.here not in r.frontier:
            out.write("the config as it is (not on the frontier):\n")
            out.write(_row(r.here, r.devices))
        out.write("what each change moves:\n")
        for p in r.points:
            out.write(f"  {p.label()}:\n")
            for device, before, after in p.moved:
                out.write(f"    {device}: {before} -> {after}\n")


AROUND_REPORTERS: dict[str, type] = {"table": AroundText, "json": AroundJson}
