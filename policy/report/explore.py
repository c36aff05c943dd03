"""Reporters of ``pmempolicy explore`` (table, JSON, CSV) and ``solve`` (table, JSON).

The JSON documents carry ``schema_version`` 1 and stable field names; CSV has one row per
configuration with one ``sym:<NAME>`` column (true/false) per projection symbol.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from typing import Any, TextIO

from policy.report.style import fit_lines
from policy.space.explore import SCHEMA_VERSION, Evaluated, ExploreResult, SolveResult
from policy.units import format_size, ndctl_size


def _config_doc(
    e: Evaluated,
    frontier: set[int],
    detail: bool = True,
    memo: dict[int, tuple[bool, int, int, int]] | None = None,
) -> dict[str, Any]:
    """One configuration; with ``detail`` also its witness and every device's decision (the
    frontier has them; the full list stays compact: it can hold 10^5 entries). ``memo``: totals
    by outcome tuple (configurations of one evaluation group share it)."""
    c = e.config
    tot = None if memo is None else memo.get(id(e.outcomes))
    if tot is None:
        tot = (e.ok, e.features, e.dram, e.capacity)
        if memo is not None:
            memo[id(e.outcomes)] = tot
    doc: dict[str, Any] = {
        "id": c.id,
        "arch": c.arch,
        "page_size": c.page_size,
        "on": sorted(c.on),
        "options": c.options,
        "ok": tot[0],
        "verdict": "ok" if tot[0] else "findings",
        "frontier": c.id in frontier,
        "features": tot[1],
        "dram_memmap_bytes": tot[2],
        "capacity_lost_bytes": tot[3],
    }
    if detail:
        doc["assignment"] = {s: v for s, v in c.assignment}
        doc["devices"] = [
            {
                "device": o.device,
                "ok": o.ok,
                "decision": o.choice,
                "features": list(o.features),
                "dram_memmap_bytes": o.dram,
                "capacity_lost_bytes": o.capacity,
            }
            for o in e.outcomes
        ]
    return doc


def explore_document(r: ExploreResult) -> dict[str, Any]:
    """The JSON contract of ``explore``."""
    front = set(r.frontier)
    by_id = {e.config.id: e for e in r.evaluated}
    memo: dict[int, tuple[bool, int, int, int]] = {}
    return {
        "schema_version": SCHEMA_VERSION,
        "complete": True,  # every configuration is counted (kept for schema_version 1)
        "count": r.count,
        # "all": every configuration below; "frontier": the space was counted over BDDs and only
        # one witness per frontier point is listed (``explore --all``)
        "listed": r.space.listed,
        "projection": list(r.space.projection),
        "enumerated": list(r.space.enumerated),
        "devices": list(r.devices),
        "dead_options": list(r.dead),  # over the whole tree, whatever the enumerated space
        "always_on": list(r.always_on),
        "unreachable_features": {d: list(f) for d, f in r.unreachable.items()},
        "frontier": [_config_doc(by_id[i], front) for i in r.frontier],
        "configurations": [_config_doc(e, front, False, memo) for e in r.evaluated],
        "stats": {
            "seconds": round(r.seconds, 4),
            "steps": r.space.steps,
            "peak_states": r.space.peak_states,
        },
        "diagnostics": [d.render() for d in r.diagnostics],
    }




_wrap = textwrap.TextWrapper(
    width=80, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False
)


class ExploreJson:
    def report(self, result: ExploreResult, stream: TextIO) -> None:
        doc = explore_document(result)
        configs = doc.pop("configurations")
        text = json.dumps(doc, indent=2)
        # the (possibly 10^5-long) list: one compact object per line, by the C encoder
        rows = ",\n".join("    " + json.dumps(c) for c in configs)
        body = f'  "configurations": [\n{rows}\n  ]' if configs else '  "configurations": []'
        stream.write(text[:-2] + ",\n" + body + "\n}\n")


class ExploreCsv:
    """One row per configuration."""

    FIELDS = (
        "id",
        "arch",
        "page_size",
        "options",
        "ok",
        "frontier",
        "features",
        "dram_memmap_bytes",
        "capacity_lost_bytes",
    )

    def report(self, result: ExploreResult, stream: TextIO) -> None:
        w = csv.writer(stream, lineterminator="\n")
        syms = list(result.space.projection)
        w.writerow(list(self.FIELDS) + [f"sym:{s}" for s in syms])
        front = set(result.frontier)
        for e in result.evaluated:
            c = e.config
            w.writerow(
                [
                    c.id,
                    c.arch,
                    c.page_size,
                    c.options,
                    str(e.ok).lower(),
                    str(c.id in front).lower(),
                    e.features,
                    e.dram,
                    e.capacity,
                ]
                + [str(s in c.on).lower() for s in syms]
            )


def _options(result: ExploreResult, stream: TextIO) -> None:
    """Dead and always-on options: over the whole tree, whatever space was enumerated."""
    dead = " ".join(result.dead) or "none"
    on = " ".join(result.always_on) or "none"
    stream.write(
        _wrap.fill(f"dead options (never y/m in any valid configuration of the tree): {dead}")
    )
    stream.write("\n" + _wrap.fill(f"always on (never n in the whole tree): {on}") + "\n")


class _Fitted:
    """Text reporters whose every line fits 80 columns (long lines wrapped, never cut)."""

    def report(self, result: Any, stream: TextIO) -> None:
        buf = io.StringIO()
        self.write(result, buf)
        stream.write(fit_lines(buf.getvalue()))

    def write(self, result: Any, stream: TextIO) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ExploreTable(_Fitted):
    def write(self, result: ExploreResult, stream: TextIO) -> None:
        sp = result.space
        whole = len(sp.enumerated) == len(sp.settable)
        how = ("the whole tree" if whole else f"{len(sp.enumerated)} user-settable symbols") + (
            ", counted over BDDs" if sp.listed == "frontier" else " enumerated"
        )
        stream.write(
            f"{result.count} distinct valid configurations over {len(sp.projection)} projected "
            f"symbols ({how}, {result.seconds:.2f} s)\n"
        )
        _options(result, stream)
        stream.write(
            "features no configuration of the enumerated space can give a device "
            "(even with a run-time pin):\n"
        )
        for dev, feats in result.unreachable.items():
            stream.write(_wrap.fill(f"{dev}: {' '.join(feats) or 'none'}") + "\n")
        stream.write(
            f"Pareto frontier (more features, less DRAM, less capacity): {len(result.frontier)}\n"
        )
        stream.write(
            f"  {'ID':>6} {'ARCH':<7} {'PAGE':>4} {'FEAT':>4} {'DRAM':>8} {'CAPACITY':>8} "
            f"{'OPTS':>4} {'OK':>3}\n"
        )
        by_id = {e.config.id: e for e in result.evaluated}
        for i in result.frontier:
            e = by_id[i]
            c = e.config
            stream.write(
                f"  {c.id:>6} {c.arch:<7} {ndctl_size(c.page_size):>4} {e.features:>4} "
                f"{format_size(e.dram):>8} {format_size(e.capacity):>8} {c.options:>4} "
                f"{'yes' if e.ok else 'NO':>3}\n"
            )
            stream.write(
                _wrap.fill(
                    "set: " + (" ".join(f"{s}={v}" for s, v in c.assignment) or "(defaults)")
                )
                + "\n"
            )
        for d in result.diagnostics:
            stream.write(d.render() + "\n")


EXPLORE_REPORTERS: dict[str, type] = {"table": ExploreTable, "json": ExploreJson, "csv": ExploreCsv}


def solve_document(r: SolveResult) -> dict[str, Any]:
    """The JSON contract of ``solve``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "ok": r.ok,
        "verdict": "solved" if r.ok else "unsatisfiable",
        "minimize": r.minimize,
        "considered": r.count,
        "satisfying": r.candidates,
        "config": None
        if r.config is None
        else {
            "id": r.config.id,
            "arch": r.config.arch,
            "page_size": r.config.page_size,
            "on": sorted(r.config.on),
            "options": r.config.options,
            "assignment": {s: v for s, v in r.config.assignment},
        },
        "devices": [
            {
                "device": d.device,
                "ok": d.ok,
                "pin": None
                if d.chosen is None
                else {
                    "mode": d.chosen.candidate.mode,
                    "map": d.chosen.candidate.map,
                    "align": d.chosen.candidate.align,
                },
                "dram_memmap_bytes": d.chosen.layout.dram_memmap
                if d.chosen and d.chosen.layout
                else 0,
                "capacity_lost_bytes": d.chosen.layout.capacity_lost
                if d.chosen and d.chosen.layout
                else 0,
                "reason": d.reason,
            }
            for d in r.decisions
        ],
        "conflicts": [
            {
                "device": c.requirement.device,
                "kind": c.requirement.kind,
                "feature": c.requirement.feature,
                "requirement": c.requirement.label(),
                "reasons": list(c.reasons),
            }
            for c in r.conflicts
        ],
    }


class SolveJson:
    def report(self, result: SolveResult, stream: TextIO) -> None:
        json.dump(solve_document(result), stream, indent=2)
        stream.write("\n")


class SolveTable(_Fitted):
    def write(self, result: SolveResult, stream: TextIO) -> None:
        if not result.ok or result.config is None:
            stream.write(
                f"unsatisfiable: no configuration of {result.count} meets every requirement; "
                f"a minimal conflicting set ({len(result.conflicts)}):\n"
            )
            for k in result.conflicts:
                stream.write(f"  - {k.requirement.label()}\n")
                for line in k.reasons:
                    stream.write(_wrap.fill(line) + "\n")
            return
        c = result.config
        stream.write(
            f"solved: configuration {c.id} ({c.arch}, {ndctl_size(c.page_size)} pages), "
            f"cheapest by {result.minimize} among {result.candidates} of {result.count} "
            "that meet every requirement\n"
        )
        stream.write(
            _wrap.fill("set: " + (" ".join(f"{s}={v}" for s, v in c.assignment) or "(defaults)"))
            + "\n"
        )
        write_decision_lines(stream, result.decisions)


def write_decision_lines(stream: TextIO, decisions: Any) -> None:
    """One line per device: its chosen candidate, the DRAM it spends and the capacity lost."""
    for d in decisions:
        ch = d.chosen
        lay = ch.layout if ch else None
        pin = ch.candidate.label() if ch else "-"
        stream.write(
            f"  {d.device:<16} {pin:<27} "
            f"DRAM {format_size(lay.dram_memmap if lay else 0):>8} "
            f"lost {format_size(lay.capacity_lost if lay else 0):>8}\n"
        )


SOLVE_REPORTERS: dict[str, type] = {"table": SolveTable, "json": SolveJson}
