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
        "checked": p.checked,
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
    ok = f"{p.ok}/{n}" if p.checked else "?"
    mark = "" if p.checked else " (not checked)"
    return (f"  {ok:>5} {p.features:>4} {format_size(p.dram):>9} {format_size(p.capacity):>9}  "
            f"{p.label()}{mark}\n")


class AroundText:
    def __init__(self, source: str) -> None:
        self.source = source

    def report(self, r: AroundResult, stream: TextIO) -> None:
        buf = io.StringIO()
        self.write(r, buf)
        stream.write(fit_lines(buf.getvalue()))

    def write(self, r: AroundResult, out: TextIO) -> None:
        b = r.base
        held = f"{b.arch}, {b.page_size // 1024}K pages"
        out.write(
            f"around {self.source} ({held} held; {len(r.relevant)} options the decisions "
            "read may change)\n"
        )
        out.write(
            f"Pareto frontier of every {held} configuration (more features, less DRAM, less "
            "capacity lost), each with the fewest changes to the config:\n"
        )
        head = f"  {'OK':>5} {'FEAT':>4} {'DRAM':>9} {'CAPACITY':>9}  CHANGES\n"
        out.write(head)
        out.write(_row(r.here, r.devices))
        for p in r.frontier:
            if p.change:
                out.write(_row(p, r.devices))
        out.write(
            f"one option changed (with what it needs): {len(r.points)} of {r.tried} move some "
            "decision or cost\n"
        )
        out.write(head)
        for p in r.points:
            out.write(_row(p, r.devices))
            for device, before, after in p.moved:
                out.write(f"      {device}: {before} -> {after}\n")


AROUND_REPORTERS: dict[str, type] = {"table": AroundText, "json": AroundJson}
