"""``solve --from CONFIG``: the change as ``scripts/config`` lines, a diffconfig list and JSON."""

from __future__ import annotations

import io
import json
from typing import Any, TextIO

from policy.report.explore import write_decision_lines
from policy.report.style import fit_lines
from policy.space.fromconfig import SCHEMA_VERSION, FromResult


def _decision(d: Any) -> dict[str, Any]:
    ch = d.chosen
    lay = ch.layout if ch else None
    return {
        "device": d.device,
        "ok": d.ok,
        "pin": None
        if ch is None
        else {"mode": ch.candidate.mode, "map": ch.candidate.map, "align": ch.candidate.align},
        "dram_memmap_bytes": lay.dram_memmap if lay else 0,
        "capacity_lost_bytes": lay.capacity_lost if lay else 0,
        "reason": d.reason,
        "findings": [f"[{f.code}] {f.message}" for f in d.findings],
    }


def from_document(r: FromResult, source: str) -> dict[str, Any]:
    """The JSON contract of ``solve --from``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "from": source,
        "kernel": r.base.kernel,
        "held": {"arch": r.base.arch, "page_size": r.base.page_size},
        "ok": r.ok,
        "verdict": ("already-met" if not r.assignments else "changed") if r.ok else "unsatisfiable",
        "max_changes": r.max_changes,
        "changeable": list(r.relevant),
        "tried": r.tried,
        "changes": [
            {"symbol": a.symbol, "from": a.old, "to": a.value, "follows": a.follows,
             "scripts_config": a.scripts_config()}
            for a in r.assignments
        ],
        "scripts_config": [a.scripts_config() for a in r.assignments],
        "diffconfig": [d.diffconfig() for d in r.deltas],
        "resolved": [{"symbol": d.symbol, "from": d.old, "to": d.new} for d in r.deltas],
        "devices": [_decision(d) for d in r.decisions],
        "reachable": r.reachable,
        "fewest": r.fewest,
        "exact": r.exact,
        "closest": None
        if r.ok
        else {
            "scripts_config": [a.scripts_config() for a in r.partial],
            "unmet": [_decision(d) for d in r.partial_decisions if not d.ok],
        },
    }


class FromJson:
    def __init__(self, source: str) -> None:
        self.source = source

    def report(self, result: FromResult, stream: TextIO) -> None:
        json.dump(from_document(result, self.source), stream, indent=2)
        stream.write("\n")


class FromText:
    def __init__(self, source: str) -> None:
        self.source = source

    def report(self, r: FromResult, stream: TextIO) -> None:
        buf = io.StringIO()
        self.write(r, buf)
        stream.write(fit_lines(buf.getvalue()))  # 80 columns: long lines wrapped, never cut

    def write(self, r: FromResult, stream: TextIO) -> None:
        held = f"holding {r.held} and every option no decision reads"
        if r.ok and not r.assignments:
            stream.write(f"{self.source}: already meets every requirement; no change ({held})\n")
        elif r.ok:
            n = r.changes
            lines = len(r.assignments)
            how = (
                "the fewest, counted over BDDs"
                if r.exact
                else "found along the failing chains"
                + ("" if r.fewest is None else f"; the fewest counted over BDDs: {r.fewest}")
            )
            stream.write(
                f"{self.source}: {n} change{'s meet' if n != 1 else ' meets'} every requirement "
                f"({how}; {held}); apply in the kernel tree"
                + (f" ({lines} lines: a choice's old entry turned off)" if lines != n else "")
                + ", then run make olddefconfig:\n"
            )
            for a in r.assignments:
                stream.write(f"  {a.scripts_config()}\n")
            stream.write("resolved by the model (scripts/diffconfig style):\n")
            for delta in r.deltas:
                stream.write(f"  {delta.diffconfig()}\n")
        else:
            if r.reachable is False:
                stream.write(
                    f"{self.source}: no change meets every requirement: no configuration of "
                    f"{r.base.arch} with {r.base.page_size // 1024}K pages does (counted over "
                    "BDDs, every option the decisions read free)\n"
                )
            elif r.fewest is not None and r.fewest > r.max_changes:
                stream.write(
                    f"{self.source}: the fewest change that meets every requirement sets "
                    f"{r.fewest} options (counted over BDDs), more than --max-changes "
                    f"{r.max_changes} ({held})\n"
                )
            else:
                stream.write(
                    f"{self.source}: no change of at most {r.max_changes} options that the "
                    f"failing chains name meets every requirement ({held}; {r.tried} "
                    "configurations decided), though some configuration of this architecture "
                    "and page size does: try a larger --max-changes, or solve without --from\n"
                )
            if r.partial:
                stream.write("closest: these changes meet the most devices:\n")
                for a in r.partial:
                    stream.write(f"  {a.scripts_config()}\n")
            stream.write("still unmet:\n")
            for d in r.partial_decisions or r.decisions:
                if not d.ok:
                    for f in d.findings:
                        stream.write(f"  {d.device}: [{f.code}] {f.message}\n")
            return
        write_decision_lines(stream, r.decisions)


FROM_REPORTERS: dict[str, type] = {"table": FromText, "json": FromJson}
